// Kubernetes discovery against two REAL API servers (etcd + kube-apiserver, no controllers): Services,
// EndpointSlices, Pods and ServiceExports are written over HTTPS, and the mesh store must follow.
// East serves the MCS ServiceExport CRD and is watched in all namespaces through a kubeconfig; west has
// no CRD (export by annotation only) and is watched in namespace `shop` only, with apiServer/tokenFile/caFile.
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { KubeClusterConfig, parseClustersText } from '../../src/discovery/kubernetes/clusters-file';
import { ClusterStats } from '../../src/discovery/kubernetes/cluster-watch';
import { KubernetesSource } from '../../src/discovery/kubernetes/kubernetes-source';
import { MeshEndpoint, ServiceEntry } from '../../src/mesh/model';
import { MeshStore } from '../../src/mesh/store';
import { waitFor } from '../harness';
import {
  KubeApiServer,
  KubeTarget,
  installServiceExportCrd,
  kubeCall,
  startKubeApiServer,
  stopAllKubeApiServers,
} from '../harness/kube-apiserver';
import { testOutputDir } from '../harness/output';

jest.setTimeout(60_000);

const WAIT_MS = 15_000;
/** Short watches and backoffs so reconnects happen within a test. */
const TIMING = {
  watchTimeoutMinSeconds: 5,
  watchTimeoutMaxSeconds: 8,
  backoffMinMs: 200,
  backoffMaxMs: 1_000,
  absentRecheckMs: 2_000,
};
const CHECKOUT = 'checkout.shop.svc.cluster.local';
const LATE_KUBECONFIG = () => path.join(testOutputDir('kubernetes-e2e'), 'late.kubeconfig');

interface LogLine {
  level: number;
  msg: string;
  cluster?: string;
  problem?: string;
  hint?: string;
}

let east: KubeApiServer;
let west: KubeApiServer;
let store: MeshStore;
let source: KubernetesSource;
const logs: LogLine[] = [];

function target(server: KubeApiServer): KubeTarget {
  return { url: server.url, token: server.token, caFile: server.caFile };
}

beforeAll(async () => {
  [east, west] = await Promise.all([startKubeApiServer({ name: 'east' }), startKubeApiServer({ name: 'west' })]);
  await installServiceExportCrd(target(east));
  for (const server of [east, west]) {
    for (const namespace of ['shop', 'other'])
      await kubeCall(target(server), 'POST', '/api/v1/namespaces', { metadata: { name: namespace } });
  }
  await kubeCall(target(west), 'POST', '/api/v1/namespaces', { metadata: { name: 'late' } });

  const dir = testOutputDir('kubernetes-e2e');
  fs.rmSync(LATE_KUBECONFIG(), { force: true });
  const tokenFile = path.join(dir, 'west.token');
  fs.writeFileSync(tokenFile, west.token);
  const badTokenFile = path.join(dir, 'bad.token');
  fs.writeFileSync(badTokenFile, 'not-a-valid-token');
  const nobodyTokenFile = path.join(dir, 'nobody.token');
  fs.writeFileSync(nobodyTokenFile, west.unprivilegedToken);
  const clustersYaml = [
    'clusters:',
    '  - name: east',
    '    region: europe-west1',
    '    zone: europe-west1-b',
    '    gateway: 127.0.0.2:15443',
    `    kubeconfig: ${east.kubeconfigPath}`,
    '  - name: west',
    '    region: europe-west1',
    '    zone: europe-west1-c',
    '    gateway: 127.0.0.3:15443',
    `    apiServer: ${west.url}`,
    '    tokenFile: west.token',
    `    caFile: ${west.caFile}`,
    '    namespaces: [shop]',
    // Two clusters that can never sync: a rejected token (401) and one without RBAC grants (403).
    '  - name: rejected',
    '    region: europe-west1',
    '    zone: europe-west1-d',
    `    apiServer: ${west.url}`,
    '    tokenFile: bad.token',
    `    caFile: ${west.caFile}`,
    '  - name: forbidden',
    '    region: europe-west1',
    '    zone: europe-west1-d',
    `    apiServer: ${west.url}`,
    '    tokenFile: nobody.token',
    `    caFile: ${west.caFile}`,
    // A kubeconfig that does not exist yet: reported, retried, and used once it is written.
    '  - name: late',
    '    region: europe-west1',
    '    zone: europe-west1-d',
    `    kubeconfig: ${LATE_KUBECONFIG()}`,
    '    namespaces: [late]',
    '',
  ].join('\n');
  const parsed = parseClustersText(clustersYaml, dir);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const clusters: KubeClusterConfig[] = parsed.clusters;

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
  source = new KubernetesSource({ clusters, store, logger, timing: TIMING, rebuildDelayMs: 20, accessRetryMs: 300 });
  source.start();
  await waitFor(async () => stats('east').synced && stats('west').synced, {
    timeoutMs: WAIT_MS,
    what: 'east and west to sync',
  });
}, 120_000);

afterAll(async () => {
  await source?.stop();
  store?.close();
  await stopAllKubeApiServers();
});

function stats(cluster: string): ClusterStats {
  const found = source.stats.find((entry) => entry.cluster === cluster);
  if (!found) throw new Error(`no stats for ${cluster}`);
  return found;
}

function service(host: string): ServiceEntry | undefined {
  return store.current().services.get(host);
}

function endpointsIn(host: string, cluster: string): MeshEndpoint[] {
  return (service(host)?.endpoints ?? []).filter((endpoint) => endpoint.cluster === cluster);
}

/** Waits until the merged model satisfies `check` (which returns false or throws while not yet). */
function until(what: string, check: () => boolean): Promise<true> {
  return waitFor(async () => check() || undefined, { timeoutMs: WAIT_MS, intervalMs: 50, what });
}

// ---------------------------------------------------------------------------------------------------
// Objects

function kubeService(name: string, ports: object[], annotations: Record<string, string> = {}): object {
  return { metadata: { name, annotations }, spec: { ports } };
}

interface SliceEndpoint {
  ip: string;
  ready?: boolean;
  terminating?: boolean;
  zone?: string;
  pod?: string;
}

function slice(name: string, serviceName: string, ports: object[], endpoints: SliceEndpoint[]): object {
  return {
    metadata: { name, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    ports,
    endpoints: endpoints.map((endpoint) => ({
      addresses: [endpoint.ip],
      conditions: {
        ready: endpoint.ready ?? true,
        serving: endpoint.ready ?? true,
        terminating: endpoint.terminating ?? false,
      },
      ...(endpoint.zone ? { zone: endpoint.zone } : {}),
      ...(endpoint.pod ? { targetRef: { kind: 'Pod', name: endpoint.pod, namespace: 'shop' } } : {}),
    })),
  };
}

function pod(name: string, labels: Record<string, string>): object {
  return { metadata: { name, labels }, spec: { containers: [{ name: 'app', image: 'example.invalid/app' }] } };
}

const SLICES = (namespace: string) => `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
const SERVICES = (namespace: string) => `/api/v1/namespaces/${namespace}/services`;
const EXPORTS = (namespace: string) => `/apis/multicluster.x-k8s.io/v1alpha1/namespaces/${namespace}/serviceexports`;

// ---------------------------------------------------------------------------------------------------

describe('Kubernetes discovery against real API servers', () => {
  test('a Service and its EndpointSlice become a mesh service with ports, protocols, zones, subsets and readiness', async () => {
    const api = target(east);
    await kubeCall(api, 'POST', '/api/v1/namespaces/shop/pods', pod('checkout-v1', { app: 'checkout', version: 'v1' }));
    await kubeCall(api, 'POST', '/api/v1/namespaces/shop/pods', pod('checkout-v2', { app: 'checkout', version: 'v2' }));
    await kubeCall(
      api,
      'POST',
      SERVICES('shop'),
      kubeService('checkout', [
        { name: 'http', port: 8080, targetPort: 8080 },
        { name: 'api', port: 9090, targetPort: 9090, appProtocol: 'grpc' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ]),
    );
    await kubeCall(
      api,
      'POST',
      SLICES('shop'),
      slice(
        'checkout-a',
        'checkout',
        [
          { name: 'http', port: 18080 },
          { name: 'api', port: 19090 },
        ],
        [
          { ip: '10.1.0.1', zone: 'europe-west1-b', pod: 'checkout-v1' },
          { ip: '10.1.0.2', zone: 'europe-west1-x', pod: 'checkout-v2', ready: false },
        ],
      ),
    );

    await until('checkout with 2 endpoints in east', () => endpointsIn(CHECKOUT, 'east').length === 2);
    const entry = service(CHECKOUT) as ServiceEntry;
    expect(entry.service.ports).toEqual([
      { name: 'http', port: 8080, protocol: 'http' },
      { name: 'api', port: 9090, protocol: 'grpc' },
    ]);
    expect(entry.service.exported).toBe(false);
    expect(entry.service.subsetLabel).toBe('version');
    expect(entry.endpoints).toEqual([
      {
        cluster: 'east',
        address: '10.1.0.1',
        ports: { http: 18080, api: 19090 },
        labels: { app: 'checkout', version: 'v1' },
        ready: true,
        zone: 'europe-west1-b',
      },
      {
        cluster: 'east',
        address: '10.1.0.2',
        ports: { http: 18080, api: 19090 },
        labels: { app: 'checkout', version: 'v2' },
        ready: false,
        zone: 'europe-west1-x',
      },
    ]);
    expect(store.current().clusters.get('east')).toEqual({
      name: 'east',
      region: 'europe-west1',
      zone: 'europe-west1-b',
      gateway: { address: '127.0.0.2', port: 15443 },
    });
  });

  test('readiness flips, endpoints come and go, terminating endpoints are marked, Pod relabels move subsets', async () => {
    const api = target(east);
    const path = `${SLICES('shop')}/checkout-a`;
    await kubeCall(api, 'PATCH', path, {
      endpoints: [
        {
          addresses: ['10.1.0.1'],
          conditions: { ready: false, terminating: true },
          targetRef: { kind: 'Pod', name: 'checkout-v1', namespace: 'shop' },
        },
        {
          addresses: ['10.1.0.2'],
          conditions: { ready: true },
          targetRef: { kind: 'Pod', name: 'checkout-v2', namespace: 'shop' },
        },
        { addresses: ['10.1.0.3'], conditions: { ready: true } },
      ],
    });
    await until('10.1.0.2 ready, 10.1.0.1 terminating, 10.1.0.3 added', () => {
      const byIp = new Map(endpointsIn(CHECKOUT, 'east').map((endpoint) => [endpoint.address, endpoint]));
      return byIp.get('10.1.0.2')?.ready === true && byIp.get('10.1.0.1')?.terminating === true && byIp.has('10.1.0.3');
    });
    expect(endpointsIn(CHECKOUT, 'east').find((endpoint) => endpoint.address === '10.1.0.1')?.ready).toBe(false);

    // A second slice for the same service adds endpoints; deleting it removes them.
    await kubeCall(
      api,
      'POST',
      SLICES('shop'),
      slice('checkout-b', 'checkout', [{ name: 'http', port: 18080 }], [{ ip: '10.1.0.9' }]),
    );
    await until('the second slice', () =>
      endpointsIn(CHECKOUT, 'east').some((endpoint) => endpoint.address === '10.1.0.9'),
    );
    expect(endpointsIn(CHECKOUT, 'east').find((endpoint) => endpoint.address === '10.1.0.9')?.ports).toEqual({
      http: 18080,
    });
    await kubeCall(api, 'DELETE', `${SLICES('shop')}/checkout-b`);
    await until(
      'the second slice gone',
      () => !endpointsIn(CHECKOUT, 'east').some((endpoint) => endpoint.address === '10.1.0.9'),
    );

    await kubeCall(api, 'PATCH', '/api/v1/namespaces/shop/pods/checkout-v2', {
      metadata: { labels: { version: 'v3' } },
    });
    await until(
      'the relabelled Pod in subset v3',
      () => endpointsIn(CHECKOUT, 'east').find((endpoint) => endpoint.address === '10.1.0.2')?.labels.version === 'v3',
    );
  });

  test('export: a ServiceExport (east, CRD installed) or the annotation (west, no CRD); unexported stays local', async () => {
    expect(stats('east').serviceExports).toBe('served');
    expect(stats('west').serviceExports).toBe('absent');

    await kubeCall(target(east), 'POST', EXPORTS('shop'), {
      apiVersion: 'multicluster.x-k8s.io/v1alpha1',
      kind: 'ServiceExport',
      metadata: { name: 'checkout' },
    });
    await until('checkout exported by its ServiceExport', () => service(CHECKOUT)?.service.exported === true);

    const westApi = target(west);
    await kubeCall(
      westApi,
      'POST',
      SERVICES('shop'),
      kubeService('ledger', [{ name: 'http', port: 8080 }], { 'spillway.io/export': 'true' }),
    );
    await kubeCall(
      westApi,
      'POST',
      SLICES('shop'),
      slice('ledger-a', 'ledger', [{ name: 'http', port: 8080 }], [{ ip: '10.2.0.1' }]),
    );
    await kubeCall(westApi, 'POST', SERVICES('shop'), kubeService('audit', [{ name: 'http', port: 8080 }]));
    await kubeCall(
      westApi,
      'POST',
      SLICES('shop'),
      slice('audit-a', 'audit', [{ name: 'http', port: 8080 }], [{ ip: '10.2.0.2' }]),
    );
    await until(
      'ledger and audit in west',
      () =>
        endpointsIn('ledger.shop.svc.cluster.local', 'west').length === 1 &&
        endpointsIn('audit.shop.svc.cluster.local', 'west').length === 1,
    );
    expect(service('ledger.shop.svc.cluster.local')?.service.exported).toBe(true);
    expect(service('audit.shop.svc.cluster.local')?.service.exported).toBe(false);

    await kubeCall(target(east), 'DELETE', `${EXPORTS('shop')}/checkout`);
    await until('checkout unexported again', () => service(CHECKOUT)?.service.exported === false);
  });

  test('the same service in both clusters merges its endpoints; the namespace filter hides west/other', async () => {
    for (const [server, ip] of [
      [east, '10.1.5.1'],
      [west, '10.2.5.1'],
    ] as const) {
      await kubeCall(
        target(server),
        'POST',
        SERVICES('shop'),
        kubeService('catalog', [{ name: 'http', port: 80 }], { 'spillway.io/export': 'true' }),
      );
      await kubeCall(
        target(server),
        'POST',
        SLICES('shop'),
        slice('catalog-a', 'catalog', [{ name: 'http', port: 8080 }], [{ ip }]),
      );
      await kubeCall(
        target(server),
        'POST',
        SERVICES('other'),
        kubeService(`only-${server.name}`, [{ name: 'http', port: 80 }]),
      );
    }
    await until(
      'catalog in east and west',
      () =>
        endpointsIn('catalog.shop.svc.cluster.local', 'east').length === 1 &&
        endpointsIn('catalog.shop.svc.cluster.local', 'west').length === 1,
    );
    await until(
      'other/only-east seen (east watches all namespaces)',
      () => service('only-east.other.svc.cluster.local') !== undefined,
    );
    expect(service('only-west.other.svc.cluster.local')).toBeUndefined();
  });

  test('annotations: the subset label is overridable; a wrong annotation is logged and the last good settings stay', async () => {
    const api = target(east);
    const servicePath = `${SERVICES('shop')}/checkout`;
    await kubeCall(api, 'PATCH', servicePath, {
      metadata: {
        annotations: {
          'spillway.io/subset-label': 'track',
          'spillway.io/canary-subset': 'v3',
          'spillway.io/stable-subset': 'v1',
          'spillway.io/canary-weight': '10',
        },
      },
    });
    await until(
      'subset label track with a canary',
      () => service(CHECKOUT)?.service.subsetLabel === 'track' && service(CHECKOUT)?.service.canary?.canary === 'v3',
    );
    expect(service(CHECKOUT)?.service.canary).toEqual({
      canary: 'v3',
      stable: 'v1',
      weight: 10,
      order: 'version-first',
    });

    await kubeCall(api, 'PATCH', servicePath, { metadata: { annotations: { 'spillway.io/canary-weight': 'lots' } } });
    await until('the wrong annotation logged', () =>
      logs.some(
        (line) =>
          line.msg.includes('spillway.io/canary-weight: "lots"') && line.msg.includes('keeping its last good settings'),
      ),
    );
    expect(service(CHECKOUT)?.service.canary?.weight).toBe(10);
    expect(stats('east').issues).toBe(1);
    expect(stats('east').rejected).toBeGreaterThanOrEqual(1);

    await kubeCall(api, 'PATCH', servicePath, { metadata: { annotations: { 'spillway.io/canary-weight': '25' } } });
    await until('the fixed weight', () => service(CHECKOUT)?.service.canary?.weight === 25);
    expect(stats('east').issues).toBe(0);
  });

  test('401 and 403: the cluster is known, not synced, and the log says what to do', () => {
    const rejected = stats('rejected');
    expect(rejected.synced).toBe(false);
    expect(rejected.lastError?.problem).toBe('unauthorized');
    const forbidden = stats('forbidden');
    expect(forbidden.synced).toBe(false);
    expect(forbidden.lastError?.problem).toBe('forbidden');
    expect(forbidden.lastError?.hint).toMatch(/grant get, list and watch on \S+ in all namespaces/);
    expect(store.current().clusters.has('rejected')).toBe(true);
    const statuses = new Map(source.sourceStatuses().map((status) => [status.name, status]));
    expect(statuses.get('kubernetes/rejected')?.lastGoodAtMs).toBeUndefined(); // never good: no staleness to report
    expect(statuses.get('kubernetes/east')?.reloads).toBeGreaterThan(0);
    expect(source.allSynced()).toBe(false);
    expect(source.unsyncedClusters()).toEqual(expect.arrayContaining(['forbidden', 'rejected']));
    const errorLines = logs.filter((line) => line.level >= 50 && line.cluster === 'forbidden');
    expect(errorLines.length).toBeGreaterThan(0);
    expect(errorLines[0]?.msg).toMatch(/HTTP 403.*grant get, list and watch.*keeping the last good state and retrying/);
  });

  test('an unreadable kubeconfig is reported and picked up once it is written', async () => {
    expect(stats('late')).toMatchObject({ synced: false, lastError: { resource: 'access', problem: 'config' } });
    expect(stats('late').lastError?.message).toMatch(/cannot read kubeconfig .*late\.kubeconfig/);
    expect(
      logs.some(
        (line) =>
          line.cluster === 'late' && line.level >= 50 && line.msg.includes('fix the access settings of cluster late'),
      ),
    ).toBe(true);
    await kubeCall(target(west), 'POST', SERVICES('late'), kubeService('tardy', [{ name: 'http', port: 80 }]));
    fs.copyFileSync(west.kubeconfigPath, LATE_KUBECONFIG());
    await waitFor(async () => stats('late').synced, { timeoutMs: WAIT_MS, what: 'cluster late to sync' });
    await until('late/tardy in cluster late', () => service('tardy.late.svc.cluster.local') !== undefined);
  });

  test('API server down: the last good state stays, staleness shows, and discovery recovers after the restart', async () => {
    const before = JSON.stringify(endpointsIn(CHECKOUT, 'east'));
    await east.stopApiServer();
    await waitFor(async () => !stats('east').connected && stats('east').lastError?.problem === 'unreachable', {
      timeoutMs: WAIT_MS,
      what: 'east to be seen down',
    });
    const down = stats('east');
    expect(down.synced).toBe(true);
    expect(down.lastError?.hint).toContain('is up and reachable');
    expect(JSON.stringify(endpointsIn(CHECKOUT, 'east'))).toBe(before);
    const staleSince = down.lastSyncAtMs as number;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(stats('east').lastSyncAtMs).toBe(staleSince); // not refreshed while down
    // One error line for the whole cluster, not one per watched resource.
    const downLines = logs.filter(
      (line) => line.cluster === 'east' && line.level >= 50 && line.msg.includes('is up and reachable from here'),
    );
    expect(downLines.length).toBeGreaterThanOrEqual(1);
    expect(downLines.length).toBeLessThan(stats('east').errors);

    await east.startApiServer();
    await waitFor(async () => stats('east').connected, { timeoutMs: WAIT_MS, what: 'east to reconnect' });
    await kubeCall(target(east), 'PATCH', `${SLICES('shop')}/checkout-a`, {
      endpoints: [{ addresses: ['10.1.0.7'], conditions: { ready: true } }],
    });
    await until(
      'a change after the restart',
      () =>
        endpointsIn(CHECKOUT, 'east')
          .map((endpoint) => endpoint.address)
          .join() === '10.1.0.7',
    );
    expect(logs.some((line) => line.cluster === 'east' && line.msg.includes('watching again after'))).toBe(true);
  });
});
