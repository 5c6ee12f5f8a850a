// Cross-cluster failover for proxyless gRPC clients (@grpc/grpc-js-xds, no sidecar Envoy): the client in
// east calls xds:///echo.shop..., Spillway's EDS gives it east's backend at priority 0 and west's gateway
// (a real Envoy, HTTP/2 upstream because the port is grpc) at priority 1. Configured by `spillway serve`.
import {
  Backend,
  EnvoyProcess,
  GrpcXdsClientHandle,
  Tally,
  emptyTally,
  mergeTally,
  startGrpcBackend,
  startGrpcXdsClient,
  stopEverything,
  successCount,
  testOutputDir,
  waitFor,
  writeGrpcBootstrap,
} from '../harness';
import { answeredBy, describeTally, shareWhere } from '../harness/tally-shares';
import { ClusterSpec, MeshDocument, Topology, clustersYaml, startTopology } from '../harness/topology';

const ECHO_PORT = 50051;
const TARGET = `xds:///echo.shop.svc.cluster.local:${ECHO_PORT}`;
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
];
const EAST = CLUSTERS[0] as ClusterSpec;
const OUTLIER = { consecutive5xx: 2, intervalMs: 300, baseEjectionTimeMs: 2000 };
const CANARY_WEIGHT_PERCENT = 20;
/** Enough calls for the test's whole life; the client is stopped in afterAll. */
const CLIENT_CALLS = 1_000_000;

interface MeshState {
  eastReady: boolean;
  /** Adds east's v2 backend and the canary {stable v1, canary v2, weight 20%}. */
  canary: boolean;
}

const DEFAULT_STATE: MeshState = { eastReady: true, canary: false };

interface Backends {
  east: Backend;
  westV1: Backend;
  westV2: Backend;
  /** Only listed in the canary phase. */
  eastV2: Backend;
}

const isEast = (id: string): boolean => id.startsWith('grpc-east');
const isWest = (id: string): boolean => id.startsWith('grpc-west');
/** Some backend answered, and every one that did matches. */
const only =
  (matches: (id: string) => boolean) =>
  (ids: string[]): boolean =>
    ids.length > 0 && ids.every(matches);

function meshDocument(backends: Backends, gatewayPort: number, state: MeshState): MeshDocument {
  const endpoint = (cluster: string, backend: Backend, version: string, ready = true) => ({
    cluster,
    address: '127.0.0.1',
    port: backend.port,
    labels: { version },
    ready,
  });
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [
      {
        name: 'echo',
        namespace: 'shop',
        ports: [{ name: 'grpc', port: ECHO_PORT, protocol: 'grpc' }],
        export: true,
        outlierDetection: OUTLIER,
        ...(state.canary ? { canary: { stable: 'v1', canary: 'v2', weight: CANARY_WEIGHT_PERCENT, order: 'version-first' } } : {}),
        endpoints: [
          endpoint('east', backends.east, 'v1', state.eastReady),
          ...(state.canary ? [endpoint('east', backends.eastV2, 'v2')] : []),
          endpoint('west', backends.westV1, 'v1'),
          endpoint('west', backends.westV2, 'v2'),
        ],
      },
    ],
  };
}

describe('failover for proxyless gRPC clients through a real Envoy gateway', () => {
  let backends: Backends;
  let topology: Topology;
  let client: GrpcXdsClientHandle;

  const writeMesh = (state: Partial<MeshState>): void => topology.meshFile.write(meshDocument(backends, topology.gatewayPort, { ...DEFAULT_STATE, ...state }));

  /** The outcomes of the next `calls` RPCs the running client completes. */
  async function nextCalls(calls: number): Promise<Tally> {
    client.reset();
    try {
      return await waitFor(
        async () => {
          const tally = client.snapshot();
          return successCount(tally) + tally.failures >= calls ? tally : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 20, what: `${calls} more gRPC calls` },
      );
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nclient stderr: ${client.stderrTail().slice(-1000)}`);
    }
  }

  /**
   * Windows of 20 calls until one has no failure and its answering backend ids satisfy `expected`;
   * returns every call on the way (the transition, for counting failures).
   */
  async function callsUntil(expected: (ids: string[]) => boolean, what: string, timeoutMs = 20_000): Promise<Tally> {
    const transition = emptyTally();
    try {
      await waitFor(
        async () => {
          const window = await nextCalls(20);
          mergeTally(transition, window);
          return window.failures === 0 && expected(answeredBy(window)) ? window : undefined;
        },
        { timeoutMs, intervalMs: 0, what },
      );
      console.log(`${what}: ${describeTally(transition)}`);
      return transition;
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nall calls: ${describeTally(transition)}`);
    }
  }

  /** `cluster=count` for the west gateway's echo clusters: shows which subset cluster it routed to. */
  async function gatewayRequestsByCluster(): Promise<string> {
    const stats = await (topology.gateways.get('west') as EnvoyProcess).stats();
    return [...stats.entries()]
      .filter(([name, value]) => name.startsWith('cluster.gateway|') && name.endsWith('.upstream_rq_total') && value > 0)
      .map(([name, value]) => `${name.slice('cluster.'.length, -'.upstream_rq_total'.length)}=${value}`)
      .join(' ');
  }

  beforeAll(async () => {
    const start = (id: string) => startGrpcBackend({ id });
    backends = {
      east: await start('grpc-east-1'),
      westV1: await start('grpc-west-1'),
      westV2: await start('grpc-west-v2-1'),
      eastV2: await start('grpc-east-v2-1'),
    };
    const name = `grpc-failover-${process.pid}`;
    topology = await startTopology({ name, clusters: CLUSTERS, gatewaysFor: ['west'], mesh: (port) => meshDocument(backends, port, DEFAULT_STATE) });
    const bootstrapPath = writeGrpcBootstrap({
      dir: testOutputDir(name),
      xds: { host: '127.0.0.1', port: topology.spillway.xdsPort },
      nodeId: 'grpc-client-east',
      metadata: { CLUSTER_ID: EAST.name },
      locality: { region: EAST.region, zone: EAST.zone },
    });
    client = await startGrpcXdsClient({ bootstrapPath, target: TARGET, count: CLIENT_CALLS, intervalMs: 2, deadlineMs: 1_000, progressEvery: 5 });
  });
  // A failed test must not leave the next one a dead backend or a changed mesh.
  afterEach(async () => {
    const all = [backends.east, backends.westV1, backends.westV2, backends.eastV2];
    await Promise.all(all.filter((b) => !b.isRunning()).map((b) => b.restart()));
    writeMesh({});
  });
  afterAll(async () => {
    await client?.stop().catch(() => undefined);
    await topology?.stop();
    await stopEverything();
  });

  test('all calls stay local while east has a ready backend', async () => {
    const tally = await nextCalls(60);
    expect(tally.failures).toBe(0);
    expect(answeredBy(tally)).toEqual(['grpc-east-1']);
  });

  test('east backend killed: calls move to the west gateway and its backends, and back after a restart', async () => {
    await backends.east.kill('SIGKILL');
    const away = await callsUntil(only(isWest), 'all calls on west after east died');
    // grpc-js leaves priority 0 only once its subchannel is in TRANSIENT_FAILURE (connection refused:
    // at once). Calls in flight on the dying connection fail; a handful is the loose bound.
    expect(away.failures).toBeLessThanOrEqual(5);
    // The gateway spreads over both of west's backends.
    const spread = await nextCalls(60);
    expect(spread.failures).toBe(0);
    expect(answeredBy(spread)).toEqual(['grpc-west-1', 'grpc-west-v2-1']);

    await backends.east.restart();
    // Back when grpc-js's reconnect backoff (1 s, x1.6) next tries east: no failures meanwhile.
    const back = await callsUntil(only(isEast), 'all calls local after east restarted');
    expect(back.failures).toBe(0);
  });

  test('east marked not ready in the mesh file: calls remote with no failure, and local again when ready', async () => {
    writeMesh({ eastReady: false });
    const away = await callsUntil(only(isWest), 'all calls on west after east not ready');
    expect(away.failures).toBe(0);
    writeMesh({ eastReady: true });
    const back = await callsUntil(only(isEast), 'all calls local after east ready');
    expect(back.failures).toBe(0);
  });

  test('canary by weight: 20% of calls on v2; with east v2 dead, that share crosses to west v2, never west v1', async () => {
    writeMesh({ canary: true });
    await callsUntil((ids) => ids.includes('grpc-east-v2-1') && ids.every(isEast), 'the canary configured: calls on east v1 and v2');
    const local = await nextCalls(400);
    console.log(`canary share with east v2 up: ${describeTally(local)}`);
    expect(local.failures).toBe(0);
    expect(answeredBy(local)).toEqual(['grpc-east-1', 'grpc-east-v2-1']);
    // Expected 20%; binomial sd over 400 calls is 2 points, so +/- 8 points is 4 sd.
    const canaryShare = shareWhere(local, (id) => id === 'grpc-east-v2-1');
    expect(canaryShare).toBeGreaterThan(0.12);
    expect(canaryShare).toBeLessThan(0.28);

    await backends.eastV2.kill('SIGKILL');
    const transition = await callsUntil(only((id) => id !== 'grpc-east-v2-1'), 'no call on the dead east v2');
    expect(transition.failures).toBeLessThanOrEqual(5);
    const spilled = await nextCalls(400);
    console.log(`canary share with east v2 dead: ${describeTally(spilled)}; west gateway requests by cluster: ${await gatewayRequestsByCluster()}`);
    expect(spilled.failures).toBe(0);
    // Known limitation (README, "Proxyless gRPC clients"): gateways pick the subset from the
    // x-spillway-subset header, which only a sidecar Envoy sets; a proxyless client sends none, so the
    // west gateway spreads the canary share over west v1 and v2 (observed about evenly). What holds: the
    // canary share still leaves the dead local canary for the remote cluster, with no failed call.
    const crossed = shareWhere(spilled, (id) => id === 'grpc-west-v2-1' || id === 'grpc-west-1');
    expect(crossed).toBeGreaterThan(0.12);
    expect(crossed).toBeLessThan(0.28);
    expect(spilled.byId['grpc-east-v2-1'] ?? 0).toBe(0);
  });
});
