// Real traffic through the Kubernetes path: two REAL API servers (east, west), the real `spillway serve
// --kube-clusters` process reading both (west added and removed at run time by its remote Secret), a real
// Envoy sidecar in east and west's real east-west gateway, and backend processes on loopback registered
// as EndpointSlices (one per backend, Pods giving their `version` label; the slices are written straight
// into etcd because the API server's validation refuses loopback addresses, see storeInEtcd). Requests are counted through
// local-first -> failover (east pods not ready in their slices) -> recovery -> canary fallback, and the
// Secret's removal. Spillway reaches both API servers as the kind demo's ServiceAccount (its manifests'
// RBAC applied to the real API servers, a token minted by TokenRequest); a ClusterRole missing a
// permission makes a fresh Spillway say which grant is missing instead of becoming ready.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import {
  Backend,
  EnvoyProcess,
  Tally,
  emptyTally,
  freePort,
  mergeTally,
  repoRoot,
  sendRequests,
  startEnvoy,
  startHttpBackend,
  stopEverything,
  waitFor,
} from '../harness';
import { terminate, trackChild } from '../harness/child-processes';
import {
  KubeApiServer,
  KubeTarget,
  kubeCall,
  kubeconfigWithUser,
  mintServiceAccountToken,
  startKubeApiServer,
  stopAllKubeApiServers,
  storeInEtcd,
} from '../harness/kube-apiserver';
import { pluralOf } from '../harness/kube-plurals';
import { httpGet } from '../harness/http-get';
import { testOutputDir } from '../harness/output';
import { SpillwayProcess, startSpillwayProcess } from '../harness/spillway-process';
import { answeredBy, describeTally } from '../harness/tally-shares';

jest.setTimeout(90_000);

const HOST = 'checkout.shop.svc.cluster.local';
const SYSTEM = 'spillway-system';
const SLICES = '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices';
const SECRETS = `/api/v1/namespaces/${SYSTEM}/secrets`;
const EAST = { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gateway: '127.0.0.2' };
const WEST = { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gateway: '127.0.0.3' };
const CANARY = { 'x-canary': 'true' };
const MOVE_TIMEOUT_MS = 20_000;
/** The RBAC objects of the kind demo's Spillway (demo/kind/manifests/20-spillway.yaml). */
const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

let east: KubeApiServer;
let west: KubeApiServer;
let spillway: SpillwayProcess;
let sidecar: EnvoyProcess;
let gateway: EnvoyProcess;
let sidecarUrl: string;
let gatewayPort: number;
let dir: string;
let westKubeconfig: string;
const backends = new Map<string, Backend>();
/** What each phase's requests were answered by, written to test-output/kubernetes-traffic/phases.json. */
const phases: Record<string, { requests: number; failures: number; byId: Record<string, number> }> = {};

const admin = (api: KubeApiServer): KubeTarget => ({ url: api.url, token: api.token, caFile: api.caFile });
const apiOf = (id: string): KubeApiServer => (id.startsWith('east') ? east : west);

/** The demo's RBAC objects, from the manifest as shipped (placeholders do not occur in them). */
function demoRbac(): KubeObject[] {
  const text = fs
    .readFileSync(path.join(repoRoot(), 'demo', 'kind', 'manifests', '20-spillway.yaml'), 'utf8')
    .replace(/__[A-Z0-9_]+__/g, 'placeholder');
  return YAML.parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null && RBAC_KINDS.includes(object.kind));
}

function collectionPath(object: KubeObject): string {
  const root = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  return object.metadata.namespace
    ? `${root}/namespaces/${object.metadata.namespace}/${pluralOf(object.kind)}`
    : `${root}/${pluralOf(object.kind)}`;
}

/** Applies the demo's RBAC and returns a kubeconfig for its ServiceAccount with a minted token. */
async function spillwayIdentity(api: KubeApiServer): Promise<string> {
  for (const namespace of ['shop', SYSTEM])
    await kubeCall(admin(api), 'POST', '/api/v1/namespaces', { metadata: { name: namespace } });
  const objects = demoRbac();
  expect(objects.map((object) => object.kind).sort()).toEqual([...RBAC_KINDS].sort());
  for (const object of objects) await kubeCall(admin(api), 'POST', collectionPath(object), object);
  const token = await mintServiceAccountToken(admin(api), SYSTEM, 'spillway');
  return kubeconfigWithUser(api.name, api.url, api.caFile, [`token: ${token}`]);
}

function checkoutService(): object {
  return {
    metadata: {
      name: 'checkout',
      annotations: {
        'spillway.io/export': 'true',
        'spillway.io/stable-subset': 'v1',
        'spillway.io/canary-subset': 'v2',
        'spillway.io/canary-header': 'x-canary=true',
      },
    },
    spec: { ports: [{ name: 'http', port: 8080 }] },
  };
}

/** One EndpointSlice per backend (each listens on its own port), pointing at its Pod. */
function slice(
  backend: Backend,
  ready: boolean,
): { metadata: { name: string; namespace: string; labels: Record<string, string> }; [field: string]: unknown } {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `checkout-${backend.id}`,
      namespace: 'shop',
      labels: { 'kubernetes.io/service-name': 'checkout' },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: backend.port }],
    endpoints: [
      {
        addresses: [backend.host],
        conditions: { ready },
        targetRef: { kind: 'Pod', name: backend.id, namespace: 'shop' },
      },
    ],
  };
}

async function register(id: string, host: string): Promise<void> {
  const backend = await startHttpBackend({ id, host });
  backends.set(id, backend);
  const api = admin(apiOf(id));
  await kubeCall(api, 'POST', '/api/v1/namespaces/shop/pods', {
    metadata: { name: id, labels: { app: 'checkout', version: id.includes('-v2-') ? 'v2' : 'v1' } },
    spec: { containers: [{ name: 'checkout', image: 'checkout:demo' }] },
  });
  await storeInEtcd(apiOf(id), 'endpointslices', slice(backend, true));
}

/** Rewrites the backends' slices (in etcd: see storeInEtcd) and waits until the API server serves them. */
async function setReady(ids: string[], ready: boolean): Promise<void> {
  for (const id of ids) await storeInEtcd(apiOf(id), 'endpointslices', slice(backends.get(id) as Backend, ready));
  for (const id of ids) {
    await waitFor(
      async () => {
        const served = (await kubeCall(admin(apiOf(id)), 'GET', `${SLICES}/checkout-${id}`)) as {
          endpoints?: { conditions?: { ready?: boolean } }[];
        };
        return served.endpoints?.[0]?.conditions?.ready === ready;
      },
      { timeoutMs: MOVE_TIMEOUT_MS, what: `the API server to serve slice checkout-${id} with ready=${ready}` },
    );
  }
}

function remoteSecret(): object {
  return {
    metadata: {
      name: 'spillway-remote-west',
      labels: { 'spillway.io/cluster': 'west' },
      annotations: {
        'spillway.io/region': WEST.region,
        'spillway.io/zone': WEST.zone,
        'spillway.io/gateway': `${WEST.gateway}:${gatewayPort}`,
      },
    },
    type: 'Opaque',
    data: { kubeconfig: Buffer.from(westKubeconfig).toString('base64') },
  };
}

const send = (count: number, headers: Record<string, string> = {}): Promise<Tally> =>
  sendRequests({ url: sidecarUrl, hostHeader: HOST, count, concurrency: 4, headers });

/**
 * Sends batches of 20 until one is answered only by backends `expected` accepts, with no failure; the
 * phase's count is every request sent on the way plus 40 more once settled.
 */
async function phase(
  name: string,
  expected: (ids: string[]) => boolean,
  headers: Record<string, string> = {},
): Promise<Tally> {
  const total = emptyTally();
  try {
    await waitFor(
      async () => {
        const batch = await send(20, headers);
        mergeTally(total, batch);
        return batch.failures === 0 && expected(answeredBy(batch));
      },
      { timeoutMs: MOVE_TIMEOUT_MS, intervalMs: 100, what: name },
    );
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nall batches: ${describeTally(total)}`);
  }
  const settled = await send(40, headers);
  mergeTally(total, settled);
  phases[name] = {
    requests: Object.values(total.byId).reduce((a, b) => a + b, 0) + total.failures,
    failures: total.failures,
    byId: total.byId,
  };
  fs.writeFileSync(path.join(dir, 'phases.json'), JSON.stringify(phases, null, 2) + '\n');
  expect(settled.failures).toBe(0);
  expect(expected(answeredBy(settled))).toBe(true);
  return total;
}

const only =
  (...prefixes: string[]) =>
  (ids: string[]) =>
    ids.length > 0 && ids.every((id) => prefixes.some((prefix) => id.startsWith(prefix)));

beforeAll(async () => {
  dir = testOutputDir('kubernetes-traffic');
  [east, west] = await Promise.all([
    startKubeApiServer({ name: 'traffic-east' }),
    startKubeApiServer({ name: 'traffic-west' }),
  ]);
  const eastKubeconfig = await spillwayIdentity(east);
  westKubeconfig = await spillwayIdentity(west);
  for (const api of [east, west])
    await kubeCall(admin(api), 'POST', '/api/v1/namespaces/shop/services', checkoutService());
  await register('east-v1-1', '127.0.1.1');
  await register('east-v1-2', '127.0.1.2');
  await register('east-v2-1', '127.0.1.3');
  await register('west-v1-1', '127.0.2.1');
  await register('west-v2-1', '127.0.2.2');

  gatewayPort = await freePort();
  fs.writeFileSync(path.join(dir, 'east.kubeconfig'), eastKubeconfig);
  const clustersFile = path.join(dir, 'clusters.yaml');
  fs.writeFileSync(
    clustersFile,
    [
      `remoteSecrets: { cluster: east, namespace: ${SYSTEM} }`,
      'clusters:',
      `  - { name: east, region: ${EAST.region}, zone: ${EAST.zone}, gateway: "${EAST.gateway}:${gatewayPort}", kubeconfig: east.kubeconfig }`,
      '',
    ].join('\n'),
  );
  spillway = await startSpillwayProcess({ name: 'kubernetes-traffic', extraArgs: ['--kube-clusters', clustersFile] });
  const sidecarPort = await freePort();
  sidecar = await startEnvoy({
    nodeId: 'sidecar-east-k8s',
    metadata: { CLUSTER_ID: 'east', OUTBOUND_PORT: String(sidecarPort) },
    locality: { region: EAST.region, zone: EAST.zone },
    xds: { host: '127.0.0.1', port: spillway.xdsPort },
    mode: 'sotw',
    logDir: dir,
  });
  await sidecar.waitReady();
  sidecarUrl = `http://127.0.0.1:${sidecarPort}/`;
  gateway = await startEnvoy({
    nodeId: `router~${WEST.gateway}~gateway-west`,
    metadata: { CLUSTER_ID: 'west', ROLE: 'gateway' },
    locality: { region: WEST.region, zone: WEST.zone },
    xds: { host: '127.0.0.1', port: spillway.xdsPort },
    mode: 'sotw',
    logDir: dir,
  });
  await gateway.waitAdmin();
}, 180_000);

afterAll(async () => {
  await spillway?.stop();
  await stopEverything();
  await stopAllKubeApiServers();
});

describe('traffic through the Kubernetes path (real API servers, Envoys and backends)', () => {
  test('local first: east v1 answers everything; no remote cluster yet', async () => {
    await phase('local first (east only)', only('east-v1-'));
    // With nowhere to spill, east not ready means failures: west is not part of the mesh yet.
    await setReady(['east-v1-1', 'east-v1-2'], false);
    await waitFor(async () => (await send(10)).failures === 10, {
      timeoutMs: MOVE_TIMEOUT_MS,
      what: 'requests to fail with no ready endpoint and no remote cluster',
    });
    await setReady(['east-v1-1', 'east-v1-2'], true);
    await phase('east ready again', only('east-v1-'));
  });

  test("west's remote Secret added at run time: west joins; east stays local-first", async () => {
    await kubeCall(admin(east), 'POST', SECRETS, remoteSecret());
    await gateway.waitReady();
    await phase('local first (west joined)', only('east-v1-'));
  });

  test('failover: east v1 pods not ready in their slices -> west v1 through the west gateway; recovery -> east', async () => {
    await setReady(['east-v1-1', 'east-v1-2'], false);
    const failover = await phase('failover (east v1 not ready)', only('west-v1-'));
    expect(failover.failures).toBe(0);
    await setReady(['east-v1-1', 'east-v1-2'], true);
    const recovery = await phase('recovery (east v1 ready)', only('east-v1-'));
    expect(recovery.failures).toBe(0);
  });

  test('canary fallback: the header goes to v2 in east, then west v2 when east v2 is not ready, then stable v1 when no v2 is', async () => {
    await phase('canary header (east v2)', only('east-v2-'), CANARY);
    await setReady(['east-v2-1'], false);
    await phase('canary header, east v2 not ready (west v2)', only('west-v2-'), CANARY);
    await setReady(['west-v2-1'], false);
    const fallback = await phase('canary header, no v2 ready (stable east v1)', only('east-v1-'), CANARY);
    expect(fallback.failures).toBe(0);
    await setReady(['east-v2-1', 'west-v2-1'], true);
    await phase('canary header, v2 ready again (east v2)', only('east-v2-'), CANARY);
    await phase('no header: stable only', only('east-v1-'));
  });

  test("west's Secret deleted at run time: west leaves the mesh, east not ready no longer spills", async () => {
    await kubeCall(admin(east), 'DELETE', `${SECRETS}/spillway-remote-west`);
    await waitFor(async () => spillway.logTail(50_000).includes('its Secret is gone'), {
      timeoutMs: MOVE_TIMEOUT_MS,
      what: 'west to be removed',
    });
    await setReady(['east-v1-1', 'east-v1-2'], false);
    await waitFor(async () => (await send(10)).failures === 10, {
      timeoutMs: MOVE_TIMEOUT_MS,
      what: 'requests to fail: west is gone',
    });
    await setReady(['east-v1-1', 'east-v1-2'], true);
    await phase('east ready, west removed', only('east-v1-'));
  });
});

describe("the kind demo's RBAC, used for real", () => {
  test('a ClusterRole without endpointslices: a fresh Spillway says which grant is missing and does not become ready', async () => {
    const role = demoRbac().find((object) => object.kind === 'ClusterRole') as KubeObject;
    const without = { ...role, rules: (role.rules ?? []).filter((rule) => !rule.resources.includes('endpointslices')) };
    await kubeCall(admin(east), 'PATCH', `${collectionPath(role)}/${role.metadata.name}`, { rules: without.rules });
    const log = path.join(dir, 'spillway-forbidden.log');
    const out = fs.openSync(log, 'w');
    const adminPort = await freePort();
    const child: ChildProcess = spawn(
      process.execPath,
      [
        path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'),
        'serve',
        '--xds',
        `127.0.0.1:${await freePort()}`,
        '--admin',
        `127.0.0.1:${adminPort}`,
        '--kube-clusters',
        path.join(dir, 'clusters.yaml'),
      ],
      { stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    void trackChild(child);
    try {
      const hint =
        'grant get, list and watch on endpointslices.discovery.k8s.io in all namespaces (a ClusterRole) to the identity in kubeconfig';
      await waitFor(async () => fs.readFileSync(log, 'utf8').includes(hint), {
        timeoutMs: MOVE_TIMEOUT_MS,
        what: `the log to say: ${hint}`,
      });
      const line =
        fs
          .readFileSync(log, 'utf8')
          .split('\n')
          .find((text) => text.includes(hint)) ?? '';
      expect(JSON.parse(line)).toMatchObject({ level: 50, problem: 'forbidden', cluster: 'east' });
      expect(line).toContain('system:serviceaccount:spillway-system:spillway'); // the API server's own words name the identity
      const ready = await httpGet(`http://127.0.0.1:${adminPort}/readyz`);
      expect(ready.status).toBe(503);
    } finally {
      await terminate(child);
      await kubeCall(admin(east), 'PATCH', `${collectionPath(role)}/${role.metadata.name}`, { rules: role.rules });
    }
  });
});
