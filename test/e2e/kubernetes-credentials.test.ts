// Kubeconfig credentials as production clusters give them, against a REAL API server: an exec credential
// plugin (the client.authentication.k8s.io/v1 protocol of EKS, GKE and AKS kubeconfigs) printing a
// ServiceAccount token the API server minted (TokenRequest), cached until its expirationTimestamp, run
// again after a 401; and a file-listed kubeconfig rewritten while Spillway runs (rotation, no restart).
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { parseClustersText } from '../../src/discovery/kubernetes/clusters-file';
import { ClusterStats } from '../../src/discovery/kubernetes/cluster-watch';
import { KubernetesSource } from '../../src/discovery/kubernetes/kubernetes-source';
import { MeshStore } from '../../src/mesh/store';
import { waitFor } from '../harness';
import {
  KubeApiServer,
  KubeTarget,
  kubeCall,
  kubeconfigWithUser,
  mintServiceAccountToken,
  startKubeApiServer,
  stopAllKubeApiServers,
} from '../harness/kube-apiserver';
import { testOutputDir } from '../harness/output';

jest.setTimeout(60_000);

const WAIT_MS = 20_000;
/** Watches end every 2-3 s, so each test sees several reconnects (each one asks for a token). */
const TIMING = {
  watchTimeoutMinSeconds: 2,
  watchTimeoutMaxSeconds: 3,
  backoffMinMs: 200,
  backoffMaxMs: 1_000,
  absentRecheckMs: 2_000,
};
const CHECKOUT = 'checkout.shop.svc.cluster.local';
const SA_NAMESPACE = 'spillway-system';
const SA_NAME = 'spillway';
const EXEC_EXTENSION = { audience: 'spillway-test' };

interface LogLine {
  level: number;
  msg: string;
  cluster?: string;
}

interface PluginRun {
  info: { apiVersion?: string; kind?: string; spec?: { interactive?: boolean; cluster?: Record<string, unknown> } };
  args: string[];
  greeting: string;
}

let api: KubeApiServer;
let dir: string;
let store: MeshStore;
let source: KubernetesSource;
const logs: LogLine[] = [];

const admin = (): KubeTarget => ({ url: api.url, token: api.token, caFile: api.caFile });
const tokenFile = (): string => path.join(dir, 'plugin-token.txt');
const lifetimeFile = (): string => path.join(dir, 'plugin-lifetime-seconds.txt');
const runsFile = (): string => path.join(dir, 'plugin-runs.jsonl');
const rotatingKubeconfig = (): string => path.join(dir, 'rotating.kubeconfig');

/** The plugin: records what it was given, prints the token file's token valid for the lifetime file's seconds. */
const PLUGIN_SCRIPT = `#!/bin/sh
printf '{"info":%s,"args":["%s","%s"],"greeting":"%s"}\\n' "$KUBERNETES_EXEC_INFO" "$1" "$2" "$GREETING" >> "$RUNS_FILE"
expires=$(date -u -d "+$(cat "$LIFETIME_FILE") seconds" +%Y-%m-%dT%H:%M:%SZ)
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}' "$(cat "$TOKEN_FILE")" "$expires"
`;

function runs(): PluginRun[] {
  if (!fs.existsSync(runsFile())) return [];
  return fs
    .readFileSync(runsFile(), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as PluginRun);
}

function stats(cluster: string): ClusterStats {
  const found = source.stats.find((entry) => entry.cluster === cluster);
  if (!found) throw new Error(`no cluster ${cluster}`);
  return found;
}

function endpointsOf(cluster: string): string[] {
  return (store.current().services.get(CHECKOUT)?.endpoints ?? [])
    .filter((endpoint) => endpoint.cluster === cluster)
    .map((endpoint) => endpoint.address)
    .sort();
}

async function setCheckoutEndpoints(addresses: string[]): Promise<void> {
  await kubeCall(admin(), 'PATCH', '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/checkout-a', {
    endpoints: addresses.map((address) => ({ addresses: [address], conditions: { ready: true } })),
  });
}

/** The ClusterRole of the README's RBAC section, bound to spillway-system/spillway. */
async function grantDiscovery(): Promise<void> {
  await kubeCall(admin(), 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    metadata: { name: 'spillway-discovery' },
    rules: [
      { apiGroups: [''], resources: ['services', 'pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['multicluster.x-k8s.io'], resources: ['serviceexports'], verbs: ['get', 'list', 'watch'] },
    ],
  });
  await kubeCall(admin(), 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: 'spillway-discovery' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'spillway-discovery' },
    subjects: [{ kind: 'ServiceAccount', name: SA_NAME, namespace: SA_NAMESPACE }],
  });
}

beforeAll(async () => {
  api = await startKubeApiServer({ name: 'credentials' });
  dir = testOutputDir('kubernetes-credentials');
  for (const file of [runsFile(), rotatingKubeconfig()]) fs.rmSync(file, { force: true });
  for (const namespace of ['shop', SA_NAMESPACE])
    await kubeCall(admin(), 'POST', '/api/v1/namespaces', { metadata: { name: namespace } });
  await grantDiscovery();
  await kubeCall(admin(), 'POST', '/api/v1/namespaces/shop/services', {
    metadata: { name: 'checkout' },
    spec: { ports: [{ name: 'http', port: 8080 }] },
  });
  await kubeCall(admin(), 'POST', '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices', {
    metadata: { name: 'checkout-a', labels: { 'kubernetes.io/service-name': 'checkout' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 18080 }],
    endpoints: [{ addresses: ['10.1.0.1'], conditions: { ready: true } }],
  });

  fs.writeFileSync(tokenFile(), await mintServiceAccountToken(admin(), SA_NAMESPACE, SA_NAME));
  fs.writeFileSync(lifetimeFile(), '10');
  const pluginDir = path.join(dir, 'bin');
  fs.mkdirSync(pluginDir, { recursive: true });
  fs.writeFileSync(path.join(pluginDir, 'token-plugin.sh'), PLUGIN_SCRIPT, { mode: 0o755 });
  // The plugin's path is relative to the kubeconfig (client-go's rule for a command with a separator).
  const execKubeconfig = kubeconfigWithUser('exec', api.url, api.caFile, [
    'exec:',
    '  apiVersion: client.authentication.k8s.io/v1',
    '  command: bin/token-plugin.sh',
    '  args: [--cluster, exec]',
    '  env:',
    `    - { name: TOKEN_FILE, value: ${tokenFile()} }`,
    `    - { name: LIFETIME_FILE, value: ${lifetimeFile()} }`,
    `    - { name: RUNS_FILE, value: ${runsFile()} }`,
    '    - { name: GREETING, value: hello }',
    '  interactiveMode: Never',
    '  provideClusterInfo: true',
  ]).replace(
    '      certificate-authority-data:',
    `      extensions: [{ name: client.authentication.k8s.io/exec, extension: ${JSON.stringify(EXEC_EXTENSION)} }]\n      certificate-authority-data:`,
  );
  fs.writeFileSync(path.join(dir, 'exec.kubeconfig'), execKubeconfig);
  // A plugin that fails, as one does when its cloud login expired.
  fs.writeFileSync(
    path.join(pluginDir, 'failing-plugin.sh'),
    '#!/bin/sh\necho "error: the SSO session has expired; run aws sso login" >&2\nexit 1\n',
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(dir, 'failing.kubeconfig'),
    kubeconfigWithUser('failing', api.url, api.caFile, [
      'exec:',
      '  apiVersion: client.authentication.k8s.io/v1',
      '  command: bin/failing-plugin.sh',
      '  interactiveMode: Never',
    ]),
  );
  // Starts with a token that has no grants: every list is 403 until the file is rewritten.
  fs.writeFileSync(
    rotatingKubeconfig(),
    kubeconfigWithUser('rotating', api.url, api.caFile, [`token: ${api.unprivilegedToken}`]),
  );

  const parsed = parseClustersText(
    [
      'clusters:',
      '  - { name: exec, region: europe-west1, zone: europe-west1-b, kubeconfig: exec.kubeconfig }',
      '  - { name: rotating, region: europe-west1, zone: europe-west1-c, kubeconfig: rotating.kubeconfig }',
      '  - { name: failing, region: europe-west1, zone: europe-west1-d, kubeconfig: failing.kubeconfig }',
      '',
    ].join('\n'),
    dir,
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  store = new MeshStore({ quietMs: 10, maxDelayMs: 50 });
  const logFile = path.join(dir, 'spillway.log');
  fs.writeFileSync(logFile, '');
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        logs.push(JSON.parse(line) as LogLine);
        fs.appendFileSync(logFile, line);
      },
    },
  );
  source = new KubernetesSource({
    clusters: parsed.clusters,
    store,
    logger,
    timing: TIMING,
    rebuildDelayMs: 20,
    accessRetryMs: 300,
    accessCheckMs: 300,
  });
  source.start();
  await waitFor(async () => stats('exec').synced, { timeoutMs: WAIT_MS, what: 'the exec cluster to sync' });
}, 120_000);

afterAll(async () => {
  await source?.stop();
  store?.close();
  await stopAllKubeApiServers();
});

describe('exec credential plugins', () => {
  test('the plugin token syncs the cluster; the plugin gets its args, env and KUBERNETES_EXEC_INFO; one run serves every concurrent request', async () => {
    expect(endpointsOf('exec')).toEqual(['10.1.0.1']);
    const [first] = runs();
    expect(first?.args).toEqual(['--cluster', 'exec']);
    expect(first?.greeting).toBe('hello');
    expect(first?.info).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        cluster: {
          server: api.url,
          'certificate-authority-data': fs.readFileSync(api.caFile).toString('base64'),
          config: EXEC_EXTENSION,
        },
      },
    });
    // Five reflectors listed and opened watches (again every 2-3 s) within the token's 10 s: one plugin run.
    expect(runs()).toHaveLength(1);
  });

  test('the token is used until its expirationTimestamp, then the plugin runs again; the cluster never drops', async () => {
    expect(runs()).toHaveLength(1); // the first token (10 s) is still valid
    const before = runs().length;
    const errorsBefore = stats('exec').errors;
    // From now on tokens live 3 s and watches reconnect every 2-3 s: reconnects keep needing fresh tokens.
    fs.writeFileSync(lifetimeFile(), '3');
    await waitFor(async () => runs().length >= before + 2, {
      timeoutMs: 30_000,
      what: 'the plugin to run again after its token expired',
    });
    await setCheckoutEndpoints(['10.1.0.1', '10.1.0.2']);
    await waitFor(async () => endpointsOf('exec').length === 2, {
      timeoutMs: WAIT_MS,
      what: 'a change after the refresh',
    });
    expect(stats('exec')).toMatchObject({ synced: true, stale: false });
    expect(stats('exec').errors).toBe(errorsBefore);
  });

  test('a token the API server refuses (401) makes the plugin run again at once, before its expiry; no error is logged', async () => {
    const shortLived = runs().length;
    fs.writeFileSync(lifetimeFile(), '3600');
    await waitFor(async () => runs().length > shortLived, { timeoutMs: WAIT_MS, what: 'a token with a long life' });
    await new Promise((resolve) => setTimeout(resolve, 3_500)); // a run that had read the old lifetime has expired
    const before = runs().length;
    const errorsBefore = stats('exec').errors;
    // Deleting the ServiceAccount voids every token minted for it; a new account gets a new token.
    await kubeCall(admin(), 'DELETE', `/api/v1/namespaces/${SA_NAMESPACE}/serviceaccounts/${SA_NAME}`);
    fs.writeFileSync(tokenFile(), await mintServiceAccountToken(admin(), SA_NAMESPACE, SA_NAME));
    await waitFor(async () => runs().length > before, {
      timeoutMs: WAIT_MS,
      what: 'the plugin to run again after a 401',
    });
    await setCheckoutEndpoints(['10.1.0.3']);
    await waitFor(async () => endpointsOf('exec').join() === '10.1.0.3', {
      timeoutMs: WAIT_MS,
      what: 'a change read with the new token',
    });
    expect(stats('exec').errors).toBe(errorsBefore);
    // Long-lived token: no more runs than the 401s asked for (one per reconnect that met the old token at most once).
    const settled = runs().length;
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(runs().length).toBe(settled);
    expect(logs.filter((line) => line.level >= 50 && line.cluster === 'exec')).toEqual([]);
  });

  test('a failing plugin is reported with its stderr and what to fix; the other clusters are not held back', async () => {
    await waitFor(async () => stats('failing').lastError !== undefined, {
      timeoutMs: WAIT_MS,
      what: 'the failing plugin to be reported',
    });
    expect(stats('failing')).toMatchObject({
      synced: false,
      lastError: {
        problem: 'credentials',
        hint: expect.stringContaining('fix the token file or exec credential plugin of kubeconfig'),
      },
    });
    expect(stats('failing').lastError?.message).toMatch(
      /exec credential plugin ".*bin\/failing-plugin.sh" of kubeconfig .*failing.kubeconfig \(user spillway\) exited with 1: error: the SSO session has expired; run aws sso login/,
    );
    expect(stats('exec').synced).toBe(true);
  });
});

describe('kubeconfig rotation', () => {
  test('a file-listed kubeconfig rewritten with a token that works is used without a restart', async () => {
    await waitFor(async () => stats('rotating').lastError?.problem === 'forbidden', {
      timeoutMs: WAIT_MS,
      what: 'the rotating cluster to be refused (403)',
    });
    expect(stats('rotating').synced).toBe(false);
    const rotated = kubeconfigWithUser('rotating', api.url, api.caFile, [`token: ${api.token}`]);
    fs.writeFileSync(`${rotatingKubeconfig()}.tmp`, rotated);
    fs.renameSync(`${rotatingKubeconfig()}.tmp`, rotatingKubeconfig());
    await waitFor(async () => stats('rotating').synced, {
      timeoutMs: WAIT_MS,
      what: 'the rotating cluster to sync with the new kubeconfig',
    });
    expect(endpointsOf('rotating')).toEqual(['10.1.0.3']);
    expect(logs.some((line) => line.cluster === 'rotating' && line.msg.includes('its access settings changed'))).toBe(
      true,
    );
  });

  test('a half-written kubeconfig keeps the current connection; the next good version is used', async () => {
    fs.writeFileSync(rotatingKubeconfig(), 'apiVersion: v1\nclusters: [\n');
    await waitFor(
      async () =>
        logs.some(
          (line) => line.cluster === 'rotating' && line.msg.includes('reading its access settings again failed'),
        ),
      { timeoutMs: WAIT_MS, what: 'the broken file to be reported' },
    );
    await setCheckoutEndpoints(['10.1.0.4']);
    await waitFor(async () => endpointsOf('rotating').join() === '10.1.0.4', {
      timeoutMs: WAIT_MS,
      what: 'the old connection to keep working',
    });
    expect(stats('rotating').connected).toBe(true);
  });
});

describe('remote Secrets: the home kubeconfig rotated', () => {
  test("the Secrets are read with the new credentials, without a restart, and the Secret's cluster joins", async () => {
    const home = path.join(dir, 'home.kubeconfig');
    fs.writeFileSync(home, kubeconfigWithUser('home', api.url, api.caFile, [`token: ${api.unprivilegedToken}`]));
    await kubeCall(admin(), 'POST', `/api/v1/namespaces/${SA_NAMESPACE}/secrets`, {
      metadata: {
        name: 'spillway-remote-far',
        labels: { 'spillway.io/cluster': 'far' },
        annotations: { 'spillway.io/region': 'europe-west1', 'spillway.io/zone': 'europe-west1-d' },
      },
      data: { kubeconfig: Buffer.from(fs.readFileSync(api.kubeconfigPath, 'utf8')).toString('base64') },
    });
    const parsed = parseClustersText(
      `remoteSecrets: { cluster: home, namespace: ${SA_NAMESPACE} }\nclusters:\n  - { name: home, region: europe-west1, zone: europe-west1-b, kubeconfig: home.kubeconfig }\n`,
      dir,
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const homeStore = new MeshStore({ quietMs: 10, maxDelayMs: 50 });
    const homeSource = new KubernetesSource({
      clusters: parsed.clusters,
      ...(parsed.remoteSecrets ? { remoteSecrets: parsed.remoteSecrets } : {}),
      store: homeStore,
      logger: pino({ level: 'silent' }),
      timing: TIMING,
      rebuildDelayMs: 20,
      accessRetryMs: 300,
      accessCheckMs: 300,
    });
    homeSource.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(homeSource.remoteSecretsStats?.synced).toBe(false); // 403 on the Secrets
      fs.writeFileSync(`${home}.tmp`, kubeconfigWithUser('home', api.url, api.caFile, [`token: ${api.token}`]));
      fs.renameSync(`${home}.tmp`, home);
      await waitFor(async () => homeSource.stats.find((entry) => entry.cluster === 'far')?.synced === true, {
        timeoutMs: WAIT_MS,
        what: 'the Secret to be read with the rotated credentials and its cluster to sync',
      });
      expect(homeSource.remoteSecretsStats).toEqual({ synced: true, clusters: 1, rejected: 0 });
    } finally {
      await homeSource.stop();
      homeStore.close();
    }
  });
});
