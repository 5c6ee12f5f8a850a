// Gentle failback with real Envoy: `slowStartWindowMs` on a service gives its clusters Envoy's slow start,
// so an endpoint that comes back (ready again) gets a share that grows over the window instead of its full
// share at once; and traffic coming back from other clusters (a priority switch Envoy's slow start does
// not touch) ramps too, by Spillway's own ramp between priorities (failback-ramp.ts). Measured in 1 s
// buckets, with and without the window.
import * as fs from 'fs';
import * as path from 'path';
import {
  Backend,
  EnvoyProcess,
  Tally,
  sendRequests,
  sleep,
  startHttpBackend,
  stopEverything,
  testOutputDir,
  waitFor,
} from '../harness';
import {
  ClusterSpec,
  MeshDocument,
  Topology,
  checkoutService,
  clustersYaml,
  startSidecar,
  startTopology,
} from '../harness/topology';

const HOST = 'checkout.shop.svc.cluster.local';
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
];
const EAST = CLUSTERS[0];
const WINDOW_MS = 10_000;

interface State {
  slowStart: boolean;
  east2Ready: boolean;
  eastReady: boolean;
}

function meshDocument(east: Backend[], west: Backend, gatewayPort: number, state: State): MeshDocument {
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [
      checkoutService(
        [
          { cluster: 'east', address: '127.0.0.1', port: east[0].port, ready: state.eastReady },
          { cluster: 'east', address: '127.0.0.1', port: east[1].port, ready: state.eastReady && state.east2Ready },
          { cluster: 'west', address: '127.0.0.1', port: west.port },
        ],
        state.slowStart ? { slowStartWindowMs: WINDOW_MS } : {},
      ),
    ],
  };
}

/** Share of answers from backends matching `which`, per 1 s bucket from `sinceMs`, over `forMs`. */
async function sharesOverTime(
  url: string,
  which: (id: string) => boolean,
  forMs: number,
): Promise<{ buckets: number[]; failures: number }> {
  const started = Date.now();
  const buckets: { hit: number; total: number }[] = [];
  let failures = 0;
  while (Date.now() - started < forMs) {
    const tally: Tally = await sendRequests({ url, hostHeader: HOST, count: 10, concurrency: 2 });
    failures += tally.failures;
    const bucket = Math.floor((Date.now() - started) / 1000);
    const b = (buckets[bucket] ??= { hit: 0, total: 0 });
    for (const [id, n] of Object.entries(tally.byId)) {
      b.total += n;
      if (which(id)) b.hit += n;
    }
  }
  return {
    buckets: buckets.map((b) => (b && b.total > 0 ? Math.round((b.hit / b.total) * 100) / 100 : Number.NaN)),
    failures,
  };
}

describe('slow start (real Envoy)', () => {
  let east: Backend[];
  let west: Backend;
  let topology: Topology;
  let sidecar: { envoy: EnvoyProcess; url: string };
  const results: Record<string, unknown> = {};
  const write = (state: State) => topology.meshFile.write(meshDocument(east, west, topology.gatewayPort, state));
  const record = (name: string, value: unknown) => {
    results[name] = value;
    fs.writeFileSync(path.join(testOutputDir('slow-start'), 'shares.json'), JSON.stringify(results, null, 2) + '\n');
    console.log(name, JSON.stringify(value));
  };

  beforeAll(async () => {
    east = await Promise.all(['east-1', 'east-2'].map((id) => startHttpBackend({ id })));
    west = await startHttpBackend({ id: 'west-1' });
    topology = await startTopology({
      name: 'slow-start',
      clusters: CLUSTERS,
      gatewaysFor: ['west'],
      mesh: (port) => meshDocument(east, west, port, { slowStart: true, east2Ready: false, eastReady: true }),
    });
    sidecar = await startSidecar(topology, EAST, 'sidecar-east-slow-start');
  });
  afterAll(async () => {
    await topology?.stop();
    await stopEverything();
  });

  test(`an endpoint ready again ramps up over the ${WINDOW_MS / 1000} s window instead of taking its half at once`, async () => {
    await waitFor(
      async () =>
        Object.keys((await sendRequests({ url: sidecar.url, hostHeader: HOST, count: 10 })).byId).join() === 'east-1',
      { timeoutMs: 10_000, intervalMs: 200, what: 'only east-1 serving' },
    );
    write({ slowStart: true, east2Ready: true, eastReady: true });
    const ramp = await sharesOverTime(sidecar.url, (id) => id === 'east-2', WINDOW_MS + 3_000);
    record('withSlowStart east-2 share per second', ramp.buckets);
    expect(ramp.failures).toBe(0);
    // Rising: the first second well under the steady half, seconds 1-3 under the last three, the end at half.
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    expect(ramp.buckets[0] ?? 1).toBeLessThan(0.35);
    expect(mean(ramp.buckets.slice(1, 4))).toBeLessThan(mean(ramp.buckets.slice(-3)) - 0.03);
    expect(ramp.buckets[ramp.buckets.length - 1] ?? 0).toBeGreaterThanOrEqual(0.45);

    // The same without the window: half at once.
    write({ slowStart: false, east2Ready: false, eastReady: true });
    await waitFor(
      async () =>
        Object.keys((await sendRequests({ url: sidecar.url, hostHeader: HOST, count: 10 })).byId).join() === 'east-1',
      { timeoutMs: 10_000, intervalMs: 200, what: 'only east-1 serving' },
    );
    write({ slowStart: false, east2Ready: true, eastReady: true });
    const jump = await sharesOverTime(sidecar.url, (id) => id === 'east-2', 4_000);
    record('without east-2 share per second', jump.buckets);
    expect(jump.buckets[1] ?? 0).toBeGreaterThanOrEqual(0.45);
  });

  test(`failback from a remote cluster ramps over the window too (Spillway's ramp between priorities)`, async () => {
    write({ slowStart: true, east2Ready: true, eastReady: false });
    await waitFor(
      async () =>
        Object.keys((await sendRequests({ url: sidecar.url, hostHeader: HOST, count: 10 })).byId).join() === 'west-1',
      { timeoutMs: 10_000, intervalMs: 200, what: 'traffic on west' },
    );
    await sleep(500);
    write({ slowStart: true, east2Ready: true, eastReady: true });
    const back = await sharesOverTime(sidecar.url, (id) => id.startsWith('east'), WINDOW_MS + 4_000);
    record('failback to local with slowStartWindowMs, local share per second', back.buckets);
    expect(back.failures).toBe(0);
    // Rising with time over the window instead of all at once, and all local once it is over.
    expect(back.buckets[1] ?? 1).toBeLessThan(0.35);
    expect(back.buckets[5] ?? 0).toBeGreaterThan(back.buckets[1] ?? 1);
    expect(back.buckets[8] ?? 0).toBeGreaterThan(back.buckets[5] ?? 1);
    expect(back.buckets[back.buckets.length - 1] ?? 0).toBe(1);

    // Without the window the same failback is a jump.
    write({ slowStart: false, east2Ready: true, eastReady: false });
    await waitFor(
      async () =>
        Object.keys((await sendRequests({ url: sidecar.url, hostHeader: HOST, count: 10 })).byId).join() === 'west-1',
      { timeoutMs: 10_000, intervalMs: 200, what: 'traffic on west' },
    );
    await sleep(500);
    write({ slowStart: false, east2Ready: true, eastReady: true });
    const jump = await sharesOverTime(sidecar.url, (id) => id.startsWith('east'), 3_000);
    record('failback to local without, local share per second', jump.buckets);
    expect(jump.buckets[1] ?? 0).toBeGreaterThan(0.95);
  });
});
