// Declared dependencies with real Envoys: in a 200-service mesh, a sidecar whose workload (node metadata
// SERVICE: web.shop) declares `calls: [checkout.shop]` holds only checkout's clusters, in Envoy's own
// /clusters and config dump, and still calls it with canary, canary fallback and failover to the west
// gateway working through it. A sidecar of a workload without declarations keeps the whole mesh.
import * as path from 'path';
import {
  Backend,
  EnvoyProcess,
  Tally,
  configDumpSection,
  emptyTally,
  mergeTally,
  sendRequests,
  startEnvoy,
  startHttpBackend,
  stopEverything,
  waitFor,
} from '../harness';
import { answeredBy, describeTally } from '../harness/tally-shares';
import { ClusterSpec, FAST_OUTLIER, MeshDocument, Topology, clustersYaml, startTopology } from '../harness/topology';
import { freePort } from '../harness/ports';
import { testOutputDir } from '../harness/output';

const HOST = 'checkout.shop.svc.cluster.local';
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
];
const EAST = CLUSTERS[0];
const FILLER_SERVICES = 198;
const CANARY = { 'x-canary': 'true' };
/** checkout's clusters for one port: plain, each subset, the canary-with-fallback aggregate. */
const CHECKOUT_CLUSTERS = [
  `outbound|8080|v1|${HOST}`,
  `outbound|8080|v2-or-v1|${HOST}`,
  `outbound|8080|v2|${HOST}`,
  `outbound|8080||${HOST}`,
].sort();

interface Backends {
  eastV1: Backend;
  eastV2: Backend;
  westV1: Backend;
  westV2: Backend;
}

function meshDocument(backends: Backends, gatewayPort: number, unusedPort: number): MeshDocument {
  const endpoint = (cluster: string, backend: Backend, version: string) => ({
    cluster,
    address: '127.0.0.1',
    port: backend.port,
    labels: { version },
  });
  const fillers = Array.from({ length: FILLER_SERVICES }, (_, i) => ({
    name: `svc-${i}`,
    namespace: 'fill',
    ports: [{ name: 'http', port: 8080 }],
    export: true,
    endpoints: [{ cluster: 'east', address: '127.0.0.1', port: unusedPort }],
  }));
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [
      {
        name: 'checkout',
        namespace: 'shop',
        ports: [{ name: 'http', port: 8080 }],
        export: true,
        outlierDetection: FAST_OUTLIER,
        canary: { stable: 'v1', canary: 'v2', weight: 0, header: { name: 'x-canary', exact: 'true' } },
        endpoints: [
          endpoint('east', backends.eastV1, 'v1'),
          endpoint('east', backends.eastV2, 'v2'),
          endpoint('west', backends.westV1, 'v1'),
          endpoint('west', backends.westV2, 'v2'),
        ],
      },
      {
        name: 'web',
        namespace: 'shop',
        ports: [{ name: 'http', port: 8080 }],
        calls: ['checkout.shop'],
        endpoints: [{ cluster: 'east', address: '127.0.0.1', port: unusedPort }],
      },
      ...fillers,
    ],
  };
}

async function sidecar(
  topology: Topology,
  nodeId: string,
  metadata: Record<string, string>,
): Promise<{ envoy: EnvoyProcess; url: string }> {
  const outboundPort = await freePort();
  const envoy = await startEnvoy({
    nodeId,
    metadata: { CLUSTER_ID: EAST.name, OUTBOUND_PORT: String(outboundPort), ...metadata },
    locality: { region: EAST.region, zone: EAST.zone },
    xds: { host: '127.0.0.1', port: topology.spillway.xdsPort },
    mode: 'delta',
    logDir: testOutputDir(path.basename(path.dirname(topology.meshFile.path))),
  });
  await envoy.waitReady();
  return { envoy, url: `http://127.0.0.1:${outboundPort}/` };
}

function routeDomains(dump: unknown): string[] {
  const routes = configDumpSection(dump, 'RoutesConfigDump').dynamic_route_configs as {
    route_config: { virtual_hosts?: { name: string }[] };
  }[];
  return routes.flatMap((r) => (r.route_config.virtual_hosts ?? []).map((v) => v.name)).sort();
}

describe('a sidecar whose workload declares calls: [checkout.shop] (200-service mesh, real Envoys)', () => {
  let backends: Backends;
  let topology: Topology;
  let scoped: { envoy: EnvoyProcess; url: string };

  const send = (count: number, headers: Record<string, string> = {}, hostHeader = HOST): Promise<Tally> =>
    sendRequests({ url: scoped.url, hostHeader, count, concurrency: 4, headers });

  async function until(
    what: string,
    headers: Record<string, string>,
    expected: (ids: string[]) => boolean,
  ): Promise<Tally> {
    const transition = emptyTally();
    await waitFor(
      async () => {
        const tally = await send(20, headers);
        mergeTally(transition, tally);
        return tally.failures === 0 && expected(answeredBy(tally));
      },
      { timeoutMs: 20_000, intervalMs: 100, what },
    );
    console.log(`${what}: ${describeTally(transition)}`);
    return transition;
  }

  beforeAll(async () => {
    const start = (id: string) => startHttpBackend({ id });
    backends = {
      eastV1: await start('east-v1'),
      eastV2: await start('east-v2'),
      westV1: await start('west-v1'),
      westV2: await start('west-v2'),
    };
    const unusedPort = await freePort();
    topology = await startTopology({
      name: `scope-declared-${process.pid}`,
      clusters: CLUSTERS,
      gatewaysFor: ['west'],
      mesh: (port) => meshDocument(backends, port, unusedPort),
    });
    scoped = await sidecar(topology, 'sidecar~10.0.0.7~web-1.shop', { SERVICE: 'web.shop' });
  });
  afterEach(async () => {
    await Promise.all(
      Object.values(backends)
        .filter((b: Backend) => !b.isRunning())
        .map((b: Backend) => b.restart()),
    );
  });
  afterAll(async () => {
    await topology?.stop();
    await stopEverything();
  });

  test("holds only checkout's clusters, endpoints and virtual host (Envoy /clusters and config dump)", async () => {
    const fromClusters = [...new Set((await scoped.envoy.clusters()).map((c) => c.name))]
      .filter((name) => name.startsWith('outbound|'))
      .sort();
    expect(fromClusters).toEqual(CHECKOUT_CLUSTERS);
    const dump = await scoped.envoy.configDump();
    expect((await scoped.envoy.dynamicClusterNames()).sort()).toEqual(CHECKOUT_CLUSTERS);
    expect(routeDomains(dump)).toEqual([`${HOST}:8080`]);
    // Spillway says which view it is: the workload's own.
    const clients = await topology.spillway.adminJson<{ clients: { nodeId: string; view: string }[] }>(
      '/debug/clients',
    );
    expect(clients.clients.find((c) => c.nodeId === 'sidecar~10.0.0.7~web-1.shop')?.view).toContain(
      '|wl=web.shop.svc.cluster.local',
    );

    // A sidecar of a workload that declares nothing gets the whole mesh: 200 services' clusters.
    const full = await sidecar(topology, 'sidecar~10.0.0.8~other-1.shop', { SERVICE: 'svc-1.fill' });
    try {
      const names = await full.envoy.dynamicClusterNames();
      console.log(`scoped sidecar: ${CHECKOUT_CLUSTERS.length} clusters; unscoped sidecar: ${names.length} clusters`);
      expect(names.length).toBeGreaterThanOrEqual(FILLER_SERVICES + CHECKOUT_CLUSTERS.length);
    } finally {
      await full.envoy.stop();
    }
  });

  test('calls checkout (stable locally, canary by header); an undeclared service is not routed', async () => {
    const plain = await send(40);
    expect(plain.failures).toBe(0);
    expect(answeredBy(plain)).toEqual(['east-v1']);
    const canary = await send(40, CANARY);
    expect(canary.failures).toBe(0);
    expect(answeredBy(canary)).toEqual(['east-v2']);
    const undeclared = await send(4, {}, 'svc-1.fill.svc.cluster.local');
    expect(undeclared.statuses).toEqual({ '404': 4 });
  });

  test('canary fallback: every v2 killed, x-canary traffic moves to v1', async () => {
    await Promise.all([backends.eastV2.kill('SIGKILL'), backends.westV2.kill('SIGKILL')]);
    const transition = await until(
      'canary traffic on v1 after every v2 died',
      CANARY,
      (ids) => ids.length > 0 && ids.every((id) => id.endsWith('-v1')),
    );
    expect(transition.failures).toBeLessThanOrEqual(4);
  });

  test('failover: east v1 killed, plain traffic crosses the west gateway to west v1', async () => {
    await backends.eastV1.kill('SIGKILL');
    const transition = await until(
      'plain traffic on west v1 after east v1 died',
      {},
      (ids) => ids.length === 1 && ids[0] === 'west-v1',
    );
    expect(transition.failures).toBeLessThanOrEqual(4);
  });
});
