// Istio extension mode end to end, with the real parts: the real istiod (config from a watched folder, as
// `kubectl apply` would give it), a real Envoy 1.40 bootstrapped as an Istio sidecar of cluster east (ADS to
// istiod), `spillway serve` with a mesh file, Spillway's west gateway (a real Envoy), HTTP backends on
// loopback. The EnvoyFilters are what the real `spillway istio render` prints. Checked: istiod keeps
// serving listeners, routes and clusters; only the endpoints of the patched clusters come from Spillway;
// traffic stays local, spills to west's gateway when east's backends die, comes back; the canary falls
// back to v1; deleting the EnvoyFilters returns the sidecar to istiod's own endpoints.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  Backend,
  EnvoyProcess,
  Tally,
  emptyTally,
  mergeTally,
  sendRequests,
  startEnvoy,
  startHttpBackend,
  stopEverything,
  waitFor,
} from '../harness';
import { configDumpSection, parseClusters } from '../harness/envoy-admin-parsers';
import { httpGetJson } from '../harness/http-get';
import { IstiodProcess, istioSidecarBootstrap, serviceEntry, startIstiod } from '../harness/istiod';
import { repoRoot } from '../harness/paths';
import { freePort } from '../harness/ports';
import { answeredBy, describeTally } from '../harness/tally-shares';
import { ClusterSpec, MeshDocument, Topology, clustersYaml, startTopology } from '../harness/topology';

const HOST = 'reviews.default.svc.cluster.local';
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
];
const OUTLIER = { consecutive5xx: 2, intervalMs: 300, baseEjectionTimeMs: 2000 };
const CANARY_WEIGHT_PERCENT = 20;
const CANARY_HEADERS = { 'x-canary': 'true' };
const ENVOY_FILTERS_FILE = 'spillway-envoyfilters.yaml';
/** How long a patched cluster waits for Spillway at start (render's flag; 15 s by default). */
const INITIAL_FETCH_TIMEOUT_S = 3;

interface Backends {
  eastV1: Backend[];
  eastV2: Backend;
  westV1: Backend[];
  westV2: Backend;
}

const isEast = (id: string) => id.startsWith('east-');
const isV2 = (id: string) => id.includes('-v2-');

function meshDocument(backends: Backends, gatewayPort: number, servicePort: number): MeshDocument {
  const endpoint = (cluster: string, backend: Backend, version: string) => ({
    cluster,
    address: '127.0.0.1',
    port: backend.port,
    labels: { version },
  });
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [
      {
        name: 'reviews',
        namespace: 'default',
        ports: [{ name: 'http', port: servicePort }],
        export: true,
        outlierDetection: OUTLIER,
        canary: {
          stable: 'v1',
          canary: 'v2',
          weight: CANARY_WEIGHT_PERCENT,
          header: { name: 'x-canary', exact: 'true' },
        },
        endpoints: [
          ...backends.eastV1.map((b) => endpoint('east', b, 'v1')),
          endpoint('east', backends.eastV2, 'v2'),
          ...backends.westV1.map((b) => endpoint('west', b, 'v1')),
          endpoint('west', backends.westV2, 'v2'),
        ],
      },
    ],
  };
}

/** What east's istiod knows of the service, as Kubernetes would show it: east's pods only, subsets by version. */
function istioConfig(backends: Backends, servicePort: number): object[] {
  const endpoint = (backend: Backend, version: string) => ({
    address: '127.0.0.1',
    ports: { http: backend.port },
    labels: { version },
  });
  return [
    serviceEntry(HOST, servicePort, [
      ...backends.eastV1.map((b) => endpoint(b, 'v1')),
      endpoint(backends.eastV2, 'v2'),
    ]),
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: {
        host: HOST,
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      },
    },
  ];
}

type Json = Record<string, unknown>;
const asRecord = (value: unknown): Json => (typeof value === 'object' && value !== null ? (value as Json) : {});
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** The EDS config source of a dynamic cluster in the sidecar's config dump. */
function edsSourceOf(dump: unknown, clusterName: string): Json | undefined {
  const clusters = asArray(configDumpSection(dump, 'ClustersConfigDump').dynamic_active_clusters).map((entry) =>
    asRecord(asRecord(entry).cluster),
  );
  const cluster = clusters.find((c) => c.name === clusterName);
  return cluster ? asRecord(asRecord(cluster.eds_cluster_config).eds_config) : undefined;
}

const viaSpillway = (source: Json | undefined) =>
  asRecord(asArray(asRecord(source?.api_config_source).grpc_services)[0]).google_grpc !== undefined &&
  JSON.stringify(source).includes('spillway_xds');
const viaIstiodAds = (source: Json | undefined) => source?.ads !== undefined;

describe('Istio extension mode: istiod sidecar, Spillway endpoints (real istiod, real Envoy)', () => {
  let backends: Backends;
  let topology: Topology;
  let istiod: IstiodProcess;
  let sidecar: EnvoyProcess;
  let servicePort: number;
  let meshPath: string;

  const plainName = () => `outbound|${servicePort}||${HOST}`;
  const send = (count: number, headers: Record<string, string> = {}): Promise<Tally> =>
    sendRequests({ url: `http://127.0.0.1:${servicePort}/`, hostHeader: HOST, count, concurrency: 4, headers });

  /** Sends batches until one is answered only as `expected` says, with no failure; returns every batch sent. */
  async function until(
    expected: (ids: string[]) => boolean,
    what: string,
    headers: Record<string, string> = {},
    timeoutMs = 20_000,
  ): Promise<Tally> {
    const transition = emptyTally();
    try {
      await waitFor(
        async () => {
          const tally = await send(20, headers);
          mergeTally(transition, tally);
          return tally.failures === 0 && expected(answeredBy(tally)) ? true : undefined;
        },
        { timeoutMs, intervalMs: 100, what },
      );
    } catch (error) {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\nall batches: ${describeTally(transition)}`,
      );
    }
    console.log(`${what}: ${describeTally(transition)}`);
    return transition;
  }

  const startIstioSidecar = () =>
    startEnvoy({
      nodeId: 'istio-sidecar-east',
      logDir: path.dirname(meshPath),
      staticBootstrap: istioSidecarBootstrap(
        {
          ip: '10.0.0.9',
          pod: 'productpage-1',
          namespace: 'default',
          clusterId: 'east',
          labels: { app: 'productpage' },
        },
        istiod.xdsPort,
      ),
    });

  function renderEnvoyFilters(): string {
    const result = spawnSync(
      process.execPath,
      [
        path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'),
        'istio',
        'render',
        '--mesh',
        meshPath,
        '--xds-address',
        `127.0.0.1:${topology.spillway.xdsPort}`,
        '--initial-fetch-timeout-s',
        String(INITIAL_FETCH_TIMEOUT_S),
      ],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`spillway istio render failed (${result.status}): ${result.stderr}`);
    return result.stdout;
  }

  beforeAll(async () => {
    const start = (id: string) => startHttpBackend({ id });
    backends = {
      eastV1: await Promise.all([start('east-v1-1'), start('east-v1-2')]),
      eastV2: await start('east-v2-1'),
      westV1: await Promise.all([start('west-v1-1'), start('west-v1-2')]),
      westV2: await start('west-v2-1'),
    };
    // The sidecar binds 127.0.0.1:<service port> (no iptables): a port nothing else holds.
    servicePort = await freePort();
    topology = await startTopology({
      name: `istio-extension-${process.pid}`,
      clusters: CLUSTERS,
      gatewaysFor: ['west'],
      mesh: (port) => meshDocument(backends, port, servicePort),
    });
    meshPath = topology.meshFile.path;
    istiod = await startIstiod(`extension-${process.pid}`);
    istiod.apply('reviews.yaml', istioConfig(backends, servicePort));
    istiod.applyText(ENVOY_FILTERS_FILE, renderEnvoyFilters());
    sidecar = await startIstioSidecar();
    await sidecar.waitReady(60_000);
    // Patched by the EnvoyFilter and holding Spillway's endpoints.
    await waitFor(
      async () =>
        viaSpillway(edsSourceOf(await sidecar.configDump(), plainName())) &&
        ((await sidecar.cluster(plainName()))?.hosts.length ?? 0) > 0,
      {
        timeoutMs: 30_000,
        what: 'the sidecar to hold Spillway endpoints for the patched cluster',
      },
    );
  }, 240_000);

  afterEach(async () => {
    const all = [...backends.eastV1, backends.eastV2, ...backends.westV1, backends.westV2];
    await Promise.all(all.filter((b) => !b.isRunning()).map((b) => b.restart()));
  });

  afterAll(async () => {
    await sidecar?.stop();
    await istiod?.stop();
    await topology?.stop();
    await stopEverything();
  });

  test('istiod serves listeners, routes and clusters; the patched clusters take their endpoints from Spillway, priorities and gateway weights included', async () => {
    const dump = await sidecar.configDump();
    // istiod's listener (bound to the service port, Istio's name) and route table (named by port).
    const listeners = asArray(configDumpSection(dump, 'ListenersConfigDump').dynamic_listeners).map(
      (l) => asRecord(l).name,
    );
    expect(listeners).toContain(`127.0.0.1_${servicePort}`);
    const routeTables = asArray(configDumpSection(dump, 'RoutesConfigDump').dynamic_route_configs).map((r) =>
      asRecord(asRecord(r).route_config),
    );
    const table = routeTables.find((r) => r.name === String(servicePort));
    expect(table).toBeDefined();
    const vhost = asArray(table?.virtual_hosts)
      .map(asRecord)
      .find((v) => v.name === `${HOST}:${servicePort}`);
    // Spillway's canary routes first, istiod's default route after them.
    expect(asArray(vhost?.routes).map((r) => asRecord(r).name)).toEqual([
      'canary-by-header',
      'canary-by-weight',
      'default',
    ]);
    // Every outbound cluster of the service is istiod's, with the EDS source switched to Spillway.
    for (const subset of ['', 'v1', 'v2']) {
      const source = edsSourceOf(dump, `outbound|${servicePort}|${subset}|${HOST}`);
      expect(viaSpillway(source)).toBe(true);
    }
    // Istio's own clusters keep istiod's ADS.
    expect(
      asArray(configDumpSection(dump, 'ClustersConfigDump').dynamic_active_clusters).map(
        (c) => asRecord(asRecord(c).cluster).name,
      ),
    ).toEqual(
      expect.arrayContaining([`outbound|${servicePort}|v2-or-v1|${HOST}`, 'PassthroughCluster', 'BlackHoleCluster']),
    );
    // Spillway's EDS: east's endpoints at priority 0, west's gateway at priority 1 weighted by what it fronts
    // (2 v1 + 1 v2 behind it for the service; 2 for the v1 subset).
    const plain = await sidecar.cluster(plainName());
    const byPriority = (p: number) => (plain?.hosts ?? []).filter((h) => h.priority === p);
    expect(
      byPriority(0)
        .map((h) => h.port)
        .sort(),
    ).toEqual([...backends.eastV1, backends.eastV2].map((b) => b.port).sort());
    expect(byPriority(1).map((h) => `${h.address}:${h.port}@${h.weight}`)).toEqual([
      `127.0.0.3:${topology.gatewayPort}@3`,
    ]);
    const v1 = await sidecar.cluster(`outbound|${servicePort}|v1|${HOST}`);
    expect((v1?.hosts ?? []).filter((h) => h.priority === 1).map((h) => h.weight)).toEqual([2]);
    // Spillway sees the Istio sidecar as a client of cluster east that asks it for endpoints only, every
    // response ACKed: everything else it gets from istiod. Envoy opens one EDS stream per cluster whose
    // endpoints come from a config source other than ADS (it shares no stream between them): three here.
    const clients = asArray(asRecord(await httpGetJson(`${topology.spillway.adminUrl}/debug/clients`)).clients).map(
      asRecord,
    );
    const istioStreams = clients.filter((c) => String(c.nodeId).includes('productpage-1'));
    expect(istioStreams.map((c) => c.clusterId)).toEqual(['east', 'east', 'east']);
    for (const stream of istioStreams) {
      const types = asRecord(stream.types);
      expect(Object.keys(types)).toEqual(['EDS']);
      expect(Object.values(types).every((t) => asRecord(t).ackedVersion !== undefined)).toBe(true);
    }
  });

  test('requests stay in east; when both east v1 die they spill to the west gateway, and come back', async () => {
    const local = await send(100);
    expect(local.failures).toBe(0);
    expect(answeredBy(local).every(isEast)).toBe(true);

    await Promise.all(backends.eastV1.map((b) => b.kill('SIGKILL')));
    const away = await until(
      (ids) => ids.length > 0 && ids.filter((id) => !isV2(id)).every((id) => id.startsWith('west-v1-')),
      'stable traffic on west v1 after east v1 died',
    );
    // Only requests caught by the kill itself may fail (at most one per concurrent worker).
    expect(away.failures).toBeLessThanOrEqual(4);
    const spread = await send(200);
    expect(spread.failures).toBe(0);
    // Through the gateway to both west v1 replicas.
    expect(answeredBy(spread).filter((id) => id.startsWith('west-v1-'))).toEqual(['west-v1-1', 'west-v1-2']);

    await Promise.all(backends.eastV1.map((b) => b.restart()));
    const back = await until(
      (ids) => ids.length > 0 && ids.every(isEast),
      'traffic back in east after restart',
      {},
      30_000,
    );
    expect(back.failures).toBe(0);
  });

  test('canary: x-canary goes to east v2; with every v2 dead it falls back to v1, then returns', async () => {
    const byHeader = await send(40, CANARY_HEADERS);
    expect(byHeader.failures).toBe(0);
    expect(answeredBy(byHeader)).toEqual(['east-v2-1']);

    await Promise.all([backends.eastV2.kill('SIGKILL'), backends.westV2.kill('SIGKILL')]);
    const fallback = await until(
      (ids) => ids.length > 0 && ids.every((id) => !isV2(id)),
      'canary traffic on v1 after every v2 died',
      CANARY_HEADERS,
    );
    expect(fallback.failures).toBeLessThanOrEqual(4);
    const steady = await send(100, CANARY_HEADERS);
    expect(steady.failures).toBe(0);

    await Promise.all([backends.eastV2.restart(), backends.westV2.restart()]);
    await until(
      (ids) => ids.length === 1 && ids[0] === 'east-v2-1',
      'canary traffic back on east v2',
      CANARY_HEADERS,
      30_000,
    );
  });

  test('Spillway down: running sidecars keep their endpoints; a sidecar starting meanwhile gets ready after the initial fetch timeout, then works once Spillway is back', async () => {
    await topology.spillway.stop();
    const meanwhile = await send(100);
    expect(meanwhile.failures).toBe(0);
    expect(answeredBy(meanwhile).every(isEast)).toBe(true);
    expect(((await sidecar.cluster(plainName()))?.hosts ?? []).length).toBe(4);

    // A sidecar (re)starting now: istiod serves it, the patched clusters wait for Spillway, then start empty.
    await sidecar.stop();
    const startedAt = Date.now();
    sidecar = await startIstioSidecar();
    await sidecar.waitReady(60_000);
    const readyAfterMs = Date.now() - startedAt;
    console.log(`sidecar started while Spillway was down: ready after ${readyAfterMs} ms`);
    expect(readyAfterMs).toBeGreaterThanOrEqual(INITIAL_FETCH_TIMEOUT_S * 1000 - 500);
    const empty = await send(10);
    expect(empty.failures).toBe(10);

    await topology.restartSpillway();
    // The EDS streams reconnect (Google gRPC client, with backoff) and the sidecar is served again.
    await until(
      (ids) => ids.length > 0 && ids.every(isEast),
      'requests answered in east once Spillway is back',
      {},
      30_000,
    );
  });

  test('deleting the EnvoyFilters returns the sidecar to istiod-only endpoints without failed requests', async () => {
    const during = emptyTally();
    istiod.remove(ENVOY_FILTERS_FILE);
    await waitFor(
      async () => {
        mergeTally(during, await send(20));
        return viaIstiodAds(edsSourceOf(await sidecar.configDump(), plainName())) ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "the sidecar's cluster back on istiod's EDS" },
    );
    // A little more traffic once the cluster is istiod's again: its endpoints are east's pods only.
    mergeTally(during, await send(100));
    console.log(`while the EnvoyFilters went away: ${describeTally(during)}`);
    expect(during.failures).toBe(0);
    const clusters = parseClusters(await httpGetJson(`${sidecar.adminUrl}/clusters?format=json`));
    const plain = clusters.find((c) => c.name === plainName());
    expect(new Set(plain?.hosts.map((h) => h.priority))).toEqual(new Set([0]));
    expect(fs.existsSync(path.join(istiod.configDir, ENVOY_FILTERS_FILE))).toBe(false);
  });
});
