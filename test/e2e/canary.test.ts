// Canary with fallback to stable, end to end with real Envoys: a sidecar in east, a gateway in west,
// HTTP backends that answer with their identity, all configured by `spillway serve --mesh FILE`.
// Backends: east v1 x2 + east v2 (canary), west v1 + west v2. Canary: header x-canary=true, weight 20%.
import {
  Backend,
  EnvoyProcess,
  Tally,
  emptyTally,
  mergeTally,
  sendRequests,
  startHttpBackend,
  stopEverything,
  waitFor,
} from '../harness';
import { answeredBy, describeTally, shareWhere } from '../harness/tally-shares';
import { ClusterSpec, MeshDocument, Topology, clustersYaml, startSidecar, startTopology } from '../harness/topology';

const HOST = 'checkout.shop.svc.cluster.local';
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
];
const EAST = CLUSTERS[0];
/** Fast ejection so the test does not wait Envoy's production defaults. */
const OUTLIER = { consecutive5xx: 2, intervalMs: 300, baseEjectionTimeMs: 2000 };
const CANARY_WEIGHT_PERCENT = 20;
const CANARY_HEADERS = { 'x-canary': 'true' };
const LOCALITY_FIRST_CHILD = `outbound|8080|v2~local|${HOST}`;
const FALLBACK_CLUSTER = `outbound|8080|v2-or-v1|${HOST}`;

type Order = 'version-first' | 'locality-first';

interface MeshState {
  order: Order;
  /** Readiness of every v2 endpoint in the mesh file (east's and west's). */
  v2Ready: boolean;
  /** False: east's v2 is not in the mesh at all, the canary lives only in west. */
  eastV2Listed: boolean;
}

const DEFAULT_STATE: MeshState = { order: 'version-first', v2Ready: true, eastV2Listed: true };

interface Backends {
  eastV1: Backend[];
  eastV2: Backend;
  westV1: Backend;
  westV2: Backend;
}

const isV2 = (id: string): boolean => id.includes('-v2-');
const isEast = (id: string): boolean => id.startsWith('east-');

function meshDocument(backends: Backends, gatewayPort: number, state: MeshState): MeshDocument {
  const endpoint = (cluster: string, backend: Backend, version: 'v1' | 'v2') => ({
    cluster,
    address: '127.0.0.1',
    port: backend.port,
    labels: { version },
    ready: version === 'v2' ? state.v2Ready : true,
  });
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [
      {
        name: 'checkout',
        namespace: 'shop',
        ports: [{ name: 'http', port: 8080 }],
        export: true,
        outlierDetection: OUTLIER,
        canary: {
          stable: 'v1',
          canary: 'v2',
          weight: CANARY_WEIGHT_PERCENT,
          header: { name: 'x-canary', exact: 'true' },
          order: state.order,
        },
        endpoints: [
          ...backends.eastV1.map((b) => endpoint('east', b, 'v1')),
          ...(state.eastV2Listed ? [endpoint('east', backends.eastV2, 'v2')] : []),
          endpoint('west', backends.westV1, 'v1'),
          endpoint('west', backends.westV2, 'v2'),
        ],
      },
    ],
  };
}

describe('canary with fallback to stable (real Envoy sidecar, west gateway)', () => {
  let backends: Backends;
  let topology: Topology;
  let sidecar: { envoy: EnvoyProcess; url: string };

  const send = (count: number, headers: Record<string, string> = {}): Promise<Tally> =>
    sendRequests({ url: sidecar.url, hostHeader: HOST, count, concurrency: 4, headers });
  const sendCanary = (count: number): Promise<Tally> => send(count, CANARY_HEADERS);
  const writeMesh = (state: Partial<MeshState>): void =>
    topology.meshFile.write(meshDocument(backends, topology.gatewayPort, { ...DEFAULT_STATE, ...state }));

  /**
   * Sends canary-header batches until one is answered only by `expected`, with no failure; returns that
   * batch and the sum of every batch sent on the way (the transition, for counting failures).
   */
  async function canaryUntil(
    expected: (ids: string[]) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<{ settled: Tally; transition: Tally }> {
    const transition = emptyTally();
    try {
      const settled = await waitFor(
        async () => {
          const tally = await sendCanary(20);
          mergeTally(transition, tally);
          return tally.failures === 0 && expected(answeredBy(tally)) ? tally : undefined;
        },
        { timeoutMs, intervalMs: 100, what },
      );
      console.log(`${what}: ${describeTally(transition)}`);
      return { settled, transition };
    } catch (error) {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\nall batches: ${describeTally(transition)}`,
      );
    }
  }

  /** Retries the sidecar refused for the canary aggregate because its retry circuit breaker was full. */
  async function retryOverflows(): Promise<number> {
    return (await sidecar.envoy.stat(`cluster.${FALLBACK_CLUSTER}.upstream_rq_retry_overflow`)) ?? 0;
  }

  beforeAll(async () => {
    const start = (id: string) => startHttpBackend({ id });
    backends = {
      eastV1: await Promise.all([start('east-v1-1'), start('east-v1-2')]),
      eastV2: await start('east-v2-1'),
      westV1: await start('west-v1-1'),
      westV2: await start('west-v2-1'),
    };
    topology = await startTopology({
      name: `canary-${process.pid}`,
      clusters: CLUSTERS,
      gatewaysFor: ['west'],
      mesh: (port) => meshDocument(backends, port, DEFAULT_STATE),
    });
    sidecar = await startSidecar(topology, EAST, 'sidecar-east-canary');
  });
  // A failed test must not leave the next one a dead backend or a changed mesh.
  afterEach(async () => {
    const all = [...backends.eastV1, backends.eastV2, backends.westV1, backends.westV2];
    await Promise.all(all.filter((b) => !b.isRunning()).map((b) => b.restart()));
    writeMesh({});
  });
  afterAll(async () => {
    await topology?.stop();
    await stopEverything();
  });

  test('x-canary: true goes to the local v2; about 20% of the other requests too, the rest to v1', async () => {
    const byHeader = await sendCanary(60);
    expect(byHeader.failures).toBe(0);
    expect(answeredBy(byHeader)).toEqual(['east-v2-1']);

    const plain = await send(400);
    console.log(`400 requests without the header: ${describeTally(plain)}`);
    expect(plain.failures).toBe(0);
    const canaryShare = shareWhere(plain, isV2);
    // Expected 20%; binomial sd over 400 requests is 2 points, so +/- 8 points is 4 sd.
    expect(canaryShare).toBeGreaterThan(0.12);
    expect(canaryShare).toBeLessThan(0.28);
    // Everything stays in east: the weighted share lands on east's v2, the rest on east's two v1.
    expect(answeredBy(plain)).toEqual(['east-v1-1', 'east-v1-2', 'east-v2-1']);
  });

  test('every v2 killed: canary traffic falls back to v1 once ejected, and returns when v2 restarts', async () => {
    const overflowsBefore = await retryOverflows();
    await Promise.all([backends.eastV2.kill('SIGKILL'), backends.westV2.kill('SIGKILL')]);
    const { transition } = await canaryUntil(
      (ids) => ids.length > 0 && ids.every((id) => !isV2(id)),
      'canary traffic on v1 after every v2 died',
    );
    // Regression guard: the router charges retries to the route's cluster, here the aggregate. Without a
    // retry budget on it (aggregateCluster in cluster-builder.ts) Envoy allows 3 concurrent retries and
    // the overflow fails as 503: this was every failure seen before the aggregate got the budget.
    expect((await retryOverflows()) - overflowsBefore).toBe(0);
    // Retries move to the next priority (previous_priorities): east v2, the west gateway (503: its v2 is
    // dead too), then v1. Only a request caught mid-flight by the kill could fail: at most one per
    // concurrent worker. Observed: 0.
    expect(transition.failures).toBeLessThanOrEqual(4);

    // Beyond the ejection window: the dead hosts come back from ejection (2 s base) and are re-ejected,
    // and retries must hide that from callers. ~3 s of traffic spans at least one un-ejection. (With
    // retry update_frequency 2 the first two attempts both hit the un-ejected local v2 and the third the
    // dead remote v2, so every un-ejection failed a request.)
    const steady = emptyTally();
    const steadyUntil = Date.now() + 3_000;
    while (Date.now() < steadyUntil) mergeTally(steady, await sendCanary(20));
    expect(steady.failures).toBe(0);
    expect(answeredBy(steady).every((id) => !isV2(id))).toBe(true);

    await Promise.all([backends.eastV2.restart(), backends.westV2.restart()]);
    await canaryUntil(
      (ids) => ids.length === 1 && ids[0] === 'east-v2-1',
      'canary traffic back on east v2 after restart',
      25_000,
    );
  });

  test('every v2 marked not ready in the mesh file: canary traffic on v1 at once with no failure, and back', async () => {
    writeMesh({ v2Ready: false });
    const away = await canaryUntil(
      (ids) => ids.length > 0 && ids.every((id) => !isV2(id)),
      'canary traffic on v1 after v2 not ready',
    );
    expect(away.transition.failures).toBe(0);
    // Not ready is not reachable: EDS dropped the canary, nothing relies on ejection.
    expect(answeredBy(away.settled).every(isEast)).toBe(true);

    writeMesh({ v2Ready: true });
    const back = await canaryUntil(
      (ids) => ids.length === 1 && ids[0] === 'east-v2-1',
      'canary traffic back on east v2 when ready',
    );
    expect(back.transition.failures).toBe(0);
  });

  test('canary only in west: x-canary traffic crosses the west gateway and lands on west v2, never west v1', async () => {
    writeMesh({ eastV2Listed: false });
    const { settled, transition } = await canaryUntil(
      (ids) => ids.length === 1 && ids[0] === 'west-v2-1',
      'canary traffic on west v2 via the gateway',
    );
    expect(transition.failures).toBe(0);
    // The subset header keeps it on the canary: without it the gateway would spread over west v1 and v2.
    const more = await sendCanary(60);
    expect(more.failures).toBe(0);
    expect(answeredBy(more)).toEqual(['west-v2-1']);
    expect(settled.byId['west-v1-1']).toBeUndefined();
    // Plain traffic still mostly stays on east's v1; its canary share goes to west v2 now.
    const plain = await send(200);
    expect(plain.failures).toBe(0);
    expect(plain.byId['west-v1-1']).toBeUndefined();

    writeMesh({});
    await canaryUntil((ids) => ids.length === 1 && ids[0] === 'east-v2-1', 'canary traffic back on east v2');
  });

  test('fallback order version-first: with east v2 dead, canary traffic goes to the remote canary (west v2) before local stable', async () => {
    const overflowsBefore = await retryOverflows();
    // version-first: [v2 local, v2 remote, v1 local, v1 remote].
    await backends.eastV2.kill('SIGKILL');
    const { transition } = await canaryUntil(
      (ids) => ids.length === 1 && ids[0] === 'west-v2-1',
      'version-first: canary traffic on west v2',
    );
    // Regression guard (see the kill test): no retry may overflow the aggregate's circuit breaker.
    expect((await retryOverflows()) - overflowsBefore).toBe(0);
    // As in the kill test: only requests in flight before east v2's ejection may fail.
    expect(transition.failures).toBeLessThanOrEqual(4);
    // Remote stable is last in the order: never asked while the remote canary answers.
    expect(transition.byId['west-v1-1']).toBeUndefined();
  });

  test('fallback order locality-first: with east v2 dead, canary traffic goes to local stable (east v1) before the remote canary', async () => {
    // locality-first: [v2 local, v1 local, v2 remote, v1 remote], each its own child cluster.
    writeMesh({ order: 'locality-first' });
    await waitFor(async () => (await sidecar.envoy.dynamicClusterNames()).includes(LOCALITY_FIRST_CHILD), {
      timeoutMs: 10_000,
      what: `sidecar has ${LOCALITY_FIRST_CHILD}`,
    });
    // The new child clusters have no ejection history: canary traffic is on east v2 at once.
    await canaryUntil((ids) => ids.length === 1 && ids[0] === 'east-v2-1', 'locality-first: canary traffic on east v2');
    const overflowsBefore = await retryOverflows();

    await backends.eastV2.kill('SIGKILL');
    const { transition } = await canaryUntil(
      (ids) => ids.length > 0 && ids.every((id) => id.startsWith('east-v1-')),
      'locality-first: canary traffic on east v1',
    );
    expect((await retryOverflows()) - overflowsBefore).toBe(0);
    expect(transition.failures).toBeLessThanOrEqual(4);
    // Local stable came before the remote canary: west was never asked.
    expect(transition.byId['west-v2-1']).toBeUndefined();
  });
});
