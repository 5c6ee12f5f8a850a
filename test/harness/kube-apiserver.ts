// A real Kubernetes API server for tests: etcd + kube-apiserver (built by scripts/kube-apiserver.sh and
// cached outside the repo), on free loopback ports, with a static admin token, RBAC, a self-signed
// serving certificate, and no controllers (tests write EndpointSlices themselves). Several can run at
// once, one per simulated cluster. Plus a tiny HTTPS helper to create, patch and delete objects.
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { generateKeyPairSync, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { hasExited, terminate, trackChild } from './child-processes';
import { fileSafe, testOutputDir } from './output';
import { repoRoot } from './paths';
import { freePort, GiveUpWaiting, waitFor } from './ports';

export interface KubeApiServer {
  name: string;
  /** e.g. https://127.0.0.1:41234 */
  url: string;
  /** A token of the `system:masters` group: may do anything. */
  token: string;
  /** A token of a user without any RBAC grant: every list is 403. */
  unprivilegedToken: string;
  /** PEM of the server's self-signed chain (its CA included): trust it to verify the server. */
  caFile: string;
  /** An admin kubeconfig (server, CA and token). */
  kubeconfigPath: string;
  /** Folder with the logs, tokens, keys and certificates. */
  dir: string;
  /** etcd's client URL (tests write what validation would refuse straight into it: see storeInEtcd). */
  etcdUrl: string;
  /** Stops kube-apiserver only; etcd keeps the data. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port, certificate and data. */
  startApiServer(): Promise<void>;
  /** Stops everything and deletes the data. */
  stop(): Promise<void>;
}

export interface KubeApiServerOptions {
  name: string;
  /** Write an audit log (one JSON event per request, metadata only) to `<dir>/audit.log`: see auditEvents. */
  audit?: boolean;
  /** Extra kube-apiserver flags. */
  extraArgs?: string[];
}

export const ADMIN_TOKEN = 'spillway-admin-token';
export const UNPRIVILEGED_TOKEN = 'spillway-nobody-token';
/** kube-apiserver is ready in a few seconds here; leave room for a loaded 2-core machine. */
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_CHARS = 3_000;
const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';
/** Admission plugins that wait for controllers this test server does not run (service accounts). */
const DISABLED_ADMISSION_PLUGINS = ['ServiceAccount'];

const running = new Set<KubeApiServer>();

export interface KubeBinaries {
  kubeApiServer: string;
  etcd: string;
}

let binaries: KubeBinaries | undefined;

/** The cached binaries; throws with the command to run when they were not built yet. */
export function kubeBinaries(): KubeBinaries {
  if (binaries) return binaries;
  const script = path.join(repoRoot(), 'scripts', 'kube-apiserver.sh');
  let output: string;
  try {
    output = execFileSync('bash', [script, '--paths'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    throw new Error(
      `kube-apiserver and etcd are not built yet: run 'bash scripts/kube-apiserver.sh' (or 'make setup'; the first build takes several minutes)`,
    );
  }
  const paths = new Map(
    output
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
  binaries = { kubeApiServer: paths.get('kube-apiserver') ?? '', etcd: paths.get('etcd') ?? '' };
  return binaries;
}

export async function startKubeApiServer(options: KubeApiServerOptions): Promise<KubeApiServer> {
  const bins = kubeBinaries();
  const dir = testOutputDir(path.join('kube-apiserver', fileSafe(options.name)));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `spillway-etcd-${fileSafe(options.name)}-`));
  const files = writeSecrets(dir);

  const etcd = await startEtcd(bins.etcd, dataDir, dir);
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const caFile = path.join(dir, 'certs', 'apiserver.crt');
  const args = [
    `--etcd-servers=${etcd.url}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${path.join(dir, 'certs')}`,
    `--token-auth-file=${files.tokens}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${files.publicKey}`,
    `--service-account-signing-key-file=${files.privateKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    `--disable-admission-plugins=${DISABLED_ADMISSION_PLUGINS.join(',')}`,
    // No kubelet or controllers behind it: no endpoints for the `kubernetes` Service, no flow control.
    '--endpoint-reconciler-type=none',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    ...(options.audit ? auditArgs(dir) : []),
    ...(options.extraArgs ?? []),
  ];
  let apiserver: ChildProcess | undefined;

  const startApiServer = async (): Promise<void> => {
    const logFile = path.join(dir, 'apiserver.log');
    const log = fs.openSync(logFile, 'a');
    const child = spawn(bins.kubeApiServer, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    void trackChild(child);
    apiserver = child;
    await waitFor(
      async () => {
        if (hasExited(child))
          throw new GiveUpWaiting(
            `kube-apiserver ${options.name} exited; its log ends:\n${fs.readFileSync(logFile, 'utf8').slice(-LOG_TAIL_CHARS)}`,
          );
        if (!fs.existsSync(caFile)) return false;
        const ready = await kubeRequest({ url, token: ADMIN_TOKEN, caFile }, 'GET', '/readyz');
        return ready.status === 200;
      },
      {
        timeoutMs: READY_TIMEOUT_MS,
        intervalMs: 200,
        what: `kube-apiserver ${options.name} at ${url} to be ready (log: ${dir}/apiserver.log)`,
      },
    );
  };
  const stopApiServer = async (): Promise<void> => {
    if (apiserver) await terminate(apiserver, 'SIGTERM', STOP_GRACE_MS);
    apiserver = undefined;
  };

  try {
    await startApiServer();
  } catch (error) {
    await stopApiServer();
    await terminate(etcd.child);
    throw error;
  }

  const kubeconfigPath = path.join(dir, 'kubeconfig.yaml');
  fs.writeFileSync(kubeconfigPath, kubeconfig(options.name, url, caFile, ADMIN_TOKEN));
  const server: KubeApiServer = {
    name: options.name,
    url,
    token: ADMIN_TOKEN,
    unprivilegedToken: UNPRIVILEGED_TOKEN,
    caFile,
    kubeconfigPath,
    dir,
    etcdUrl: etcd.url,
    stopApiServer,
    startApiServer,
    stop: async () => {
      running.delete(server);
      await stopApiServer();
      await terminate(etcd.child);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  running.add(server);
  return server;
}

export async function stopAllKubeApiServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()));
}

/** Static tokens (admin, and one without grants) and the service-account signing key pair. */
function writeSecrets(dir: string): { tokens: string; privateKey: string; publicKey: string } {
  const tokens = path.join(dir, 'tokens.csv');
  fs.writeFileSync(tokens, `${ADMIN_TOKEN},admin,admin,system:masters\n${UNPRIVILEGED_TOKEN},nobody,nobody\n`);
  const privateKey = path.join(dir, 'sa.key');
  const publicKey = path.join(dir, 'sa.pub');
  if (!fs.existsSync(privateKey)) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(privateKey, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    fs.writeFileSync(publicKey, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  }
  return { tokens, privateKey, publicKey };
}

async function startEtcd(
  binary: string,
  dataDir: string,
  logDir: string,
): Promise<{ url: string; child: ChildProcess }> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const log = fs.openSync(path.join(logDir, 'etcd.log'), 'w');
  const child = spawn(
    binary,
    [
      '--name=default',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      // Test data: durability is not worth the fsync latency on a shared disk.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  void trackChild(child);
  await waitFor(
    async () => {
      if (hasExited(child)) throw new GiveUpWaiting(`etcd exited; see ${logDir}/etcd.log`);
      return (await plainGet(`${url}/health`)).includes('"health":"true"');
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 100, what: `etcd at ${url}` },
  );
  return { url, child };
}

function plainGet(url: string): Promise<string> {
  return fetch(url).then((response) => response.text());
}

function kubeconfig(name: string, url: string, caFile: string, token: string): string {
  const ca = fs.readFileSync(caFile).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${name}`,
    'clusters:',
    `  - name: ${name}`,
    '    cluster:',
    `      server: ${url}`,
    `      certificate-authority-data: ${ca}`,
    'users:',
    '  - name: admin',
    '    user:',
    `      token: ${token}`,
    'contexts:',
    `  - name: ${name}`,
    '    context:',
    `      cluster: ${name}`,
    '      user: admin',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// A tiny client for tests: plain HTTPS requests with the admin token.

export interface KubeTarget {
  url: string;
  token: string;
  caFile: string;
}

export interface KubeResponse {
  status: number;
  body: unknown;
}

export type KubeMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export function kubeRequest(
  target: KubeTarget,
  method: KubeMethod,
  apiPath: string,
  body?: unknown,
): Promise<KubeResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = https.request(
      `${target.url}${apiPath}`,
      {
        method,
        ca: fs.readFileSync(target.caFile),
        headers: {
          Authorization: `Bearer ${target.token}`,
          Accept: 'application/json',
          ...(payload !== undefined
            ? { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }
            : {}),
        },
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // /readyz answers plain text
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${method} ${apiPath}: timed out`)));
    request.on('error', reject);
    request.end(payload);
  });
}

/** Like kubeRequest, but throws unless the status is 2xx (409 AlreadyExists allowed for POST when `idempotent`). */
export async function kubeCall(
  target: KubeTarget,
  method: KubeMethod,
  apiPath: string,
  body?: unknown,
): Promise<unknown> {
  const response = await kubeRequest(target, method, apiPath, body);
  if (response.status < 200 || response.status >= 300) {
    throw new Error(`${method} ${apiPath}: HTTP ${response.status}: ${JSON.stringify(response.body).slice(0, 500)}`);
  }
  return response.body;
}

/** The MCS ServiceExport CRD (multicluster.x-k8s.io/v1alpha1), as the MCS API project defines it (schema trimmed). */
export const SERVICE_EXPORT_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'serviceexports.multicluster.x-k8s.io' },
  spec: {
    group: 'multicluster.x-k8s.io',
    scope: 'Namespaced',
    names: {
      plural: 'serviceexports',
      singular: 'serviceexport',
      kind: 'ServiceExport',
      listKind: 'ServiceExportList',
      shortNames: ['svcex'],
    },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

/** Installs the ServiceExport CRD and waits until the API serves it. */
export async function installServiceExportCrd(target: KubeTarget): Promise<void> {
  await kubeCall(target, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', SERVICE_EXPORT_CRD);
  await waitFor(
    async () =>
      (await kubeRequest(target, 'GET', '/apis/multicluster.x-k8s.io/v1alpha1/serviceexports')).status === 200,
    {
      timeoutMs: 30_000,
      what: 'the ServiceExport CRD to be served',
    },
  );
}

/** Creates a ServiceAccount (if absent) and returns a token the API server mints for it (TokenRequest API). */
export async function mintServiceAccountToken(
  target: KubeTarget,
  namespace: string,
  name: string,
  expirationSeconds = 3600,
): Promise<string> {
  const accounts = `/api/v1/namespaces/${namespace}/serviceaccounts`;
  const created = await kubeRequest(target, 'POST', accounts, { metadata: { name } });
  if (created.status !== 201 && created.status !== 409)
    throw new Error(`POST ${accounts}: HTTP ${created.status}: ${JSON.stringify(created.body).slice(0, 500)}`);
  const request = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } };
  const answer = (await kubeCall(target, 'POST', `${accounts}/${name}/token`, request)) as {
    status?: { token?: string };
  };
  if (!answer.status?.token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return answer.status.token;
}

/** A kubeconfig for `url` (CA from `caFile`) whose user is given as YAML lines (indented under `user:`). */
export function kubeconfigWithUser(name: string, url: string, caFile: string, userLines: string[]): string {
  const ca = fs.readFileSync(caFile).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${name}`,
    'clusters:',
    `  - name: ${name}`,
    '    cluster:',
    `      server: ${url}`,
    `      certificate-authority-data: ${ca}`,
    'users:',
    '  - name: spillway',
    '    user:',
    ...userLines.map((line) => `      ${line}`),
    'contexts:',
    `  - name: ${name}`,
    '    context:',
    `      cluster: ${name}`,
    '      user: spillway',
    '',
  ].join('\n');
}

/**
 * Stores an object straight in etcd under the API server's key (`/registry/<resource>/<namespace>/<name>`),
 * past validation. The API server refuses loopback addresses in EndpointSlices, and test backends can
 * only listen on loopback: slices naming them are written here, and the API server then lists and
 * watches them like any other (it reads JSON from etcd as well as its own protobuf).
 */
export async function storeInEtcd(
  server: KubeApiServer,
  resource: string,
  object: { metadata: { name: string; namespace?: string; uid?: string; creationTimestamp?: string } },
): Promise<void> {
  const { name, namespace } = object.metadata;
  const key = `/registry/${resource}/${namespace ? `${namespace}/` : ''}${name}`;
  const stored = {
    ...object,
    metadata: {
      uid: randomUUID(),
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      ...object.metadata,
    },
  };
  const response = await fetch(`${server.etcdUrl}/v3/kv/put`, {
    method: 'POST',
    body: JSON.stringify({
      key: Buffer.from(key).toString('base64'),
      value: Buffer.from(JSON.stringify(stored)).toString('base64'),
    }),
  });
  if (!response.ok) throw new Error(`etcd put ${key}: HTTP ${response.status}: ${await response.text()}`);
}

/** Metadata of every request once it completed (watches also when they start). */
function auditArgs(dir: string): string[] {
  const policy = path.join(dir, 'audit-policy.yaml');
  fs.writeFileSync(
    policy,
    [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'omitStages: [RequestReceived]',
      'rules:',
      '  - level: Metadata',
      '',
    ].join('\n'),
  );
  const log = path.join(dir, 'audit.log');
  fs.rmSync(log, { force: true });
  return [
    `--audit-policy-file=${policy}`,
    `--audit-log-path=${log}`,
    '--audit-log-mode=blocking',
    '--audit-log-format=json',
  ];
}

export interface AuditEvent {
  verb: string;
  requestURI: string;
  stage: string;
  user: { username: string };
  responseStatus?: { code?: number };
}

/** The audit log of a server started with `audit: true`. */
export function auditEvents(server: KubeApiServer): AuditEvent[] {
  const log = path.join(server.dir, 'audit.log');
  if (!fs.existsSync(log)) return [];
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AuditEvent);
}

/** A clusters file (for `spillway serve --kube-clusters`) listing one cluster reached through `server`'s kubeconfig. */
export function writeClustersFile(
  dir: string,
  server: KubeApiServer,
  cluster = { name: 'east', region: 'europe-west1', zone: 'europe-west1-b' },
): string {
  const file = path.join(dir, 'clusters.yaml');
  const lines = [
    'clusters:',
    `  - name: ${cluster.name}`,
    `    region: ${cluster.region}`,
    `    zone: ${cluster.zone}`,
    `    kubeconfig: ${server.kubeconfigPath}`,
    '',
  ];
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}
