// How fast traffic leaves a failing cluster, measured with real Envoys (a sidecar in east, gateways in
// west and south, `spillway serve --mesh FILE`), several times over: (1) every east backend SIGKILLed →
// first response from a remote cluster through the sidecar, and all traffic remote; (2) east's endpoints
// marked not ready in the mesh file → the same. Requests go back to back from two workers, each timed
// when its response is complete. The figures (each repetition, median, max) go to
// test-output/failover-timing/times.json; the README quotes them. Only generous bounds are asserted:
// the shared machine's load decides the exact figures.
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { BACKEND_ID_HEADER } from '../fixtures/backend-protocol';
import {
  Backend,
  EnvoyProcess,
  sendRequests,
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
  { name: 'south', region: 'us-east1', zone: 'us-east1-a', gatewayAddress: '127.0.0.4' },
];
const EAST = CLUSTERS[0];
const REPETITIONS = 5;
const WORKERS = 2;
/** Traffic is "all remote" from the first of this many remote successes in a row that nothing breaks. */
const ALL_REMOTE_RUN = 40;
const MOVE_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 2_000;
/** Generous bounds: a move slower than this is broken, not slow. */
const KILL_BOUND_MS = 5_000;
const NOT_READY_BOUND_MS = 5_000;

interface Backends {
  east: Backend[];
  west: Backend[];
  south: Backend[];
}

function meshDocument(backends: Backends, gatewayPort: number, eastReady: boolean): MeshDocument {
  const endpoints = (cluster: string, list: Backend[], ready = true) =>
    list.map((b) => ({ cluster, address: '127.0.0.1', port: b.port, ready }));
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [
      checkoutService([
        ...endpoints('east', backends.east, eastReady),
        ...endpoints('west', backends.west),
        ...endpoints('south', backends.south),
      ]),
    ],
  };
}

/** One request's outcome: when it completed (ms since the cause), who answered (undefined: it failed). */
interface Sample {
  atMs: number;
  backend?: string;
}

function getOnce(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    // A fresh connection per request (no keep-alive), as sendRequests does: a drained connection is not a failover failure.
    const request = http.get(
      url,
      { headers: { host: HOST }, timeout: REQUEST_TIMEOUT_MS, agent: false },
      (response) => {
        response.resume();
        response.on('end', () => {
          const id = response.headers[BACKEND_ID_HEADER];
          const ok = (response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300;
          resolve(ok && typeof id === 'string' ? id : undefined);
        });
        response.on('error', () => resolve(undefined));
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

const isRemote = (sample: Sample) => sample.backend !== undefined && !sample.backend.startsWith('east');

/** What one move looked like, in ms from the cause. */
interface Move {
  firstRemoteMs: number;
  allRemoteMs: number;
  requests: number;
  failures: number;
}

/**
 * Sends requests back to back (WORKERS at a time) from just before `cause` runs until ALL_REMOTE_RUN remote
 * successes in a row; times are from the moment `cause` was started.
 */
async function timeMove(url: string, cause: () => Promise<void>): Promise<Move> {
  const samples: Sample[] = [];
  let causeAt = Number.NaN;
  let done = false;
  const tailIsRemote = () => samples.length >= ALL_REMOTE_RUN && samples.slice(-ALL_REMOTE_RUN).every(isRemote);
  const worker = async () => {
    while (!done) {
      const backend = await getOnce(url);
      if (Number.isNaN(causeAt)) continue; // before the cause: not part of the move
      samples.push({ atMs: performance.now() - causeAt, backend });
      if (tailIsRemote() || performance.now() - causeAt > MOVE_TIMEOUT_MS) done = true;
    }
  };
  const workers = Array.from({ length: WORKERS }, worker);
  causeAt = performance.now();
  await cause();
  await Promise.all(workers);
  if (!tailIsRemote())
    throw new Error(
      `traffic did not move within ${MOVE_TIMEOUT_MS} ms (${samples.filter(isRemote).length} of ${samples.length} remote)`,
    );
  const first = samples.find(isRemote) as Sample;
  let start = samples.length - 1;
  while (start > 0 && isRemote(samples[start - 1])) start--;
  return {
    firstRemoteMs: first.atMs,
    allRemoteMs: samples[start].atMs,
    requests: samples.length,
    failures: samples.filter((s) => s.backend === undefined).length,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const results: Record<
  string,
  { runs: Move[]; firstRemoteMs: { median: number; max: number }; allRemoteMs: { median: number; max: number } }
> = {};
function record(what: string, runs: Move[]): void {
  const round = (move: Move): Move => ({
    ...move,
    firstRemoteMs: Math.round(move.firstRemoteMs),
    allRemoteMs: Math.round(move.allRemoteMs),
  });
  const summary = (values: number[]) => ({ median: Math.round(median(values)), max: Math.round(Math.max(...values)) });
  results[what] = {
    runs: runs.map(round),
    firstRemoteMs: summary(runs.map((r) => r.firstRemoteMs)),
    allRemoteMs: summary(runs.map((r) => r.allRemoteMs)),
  };
  fs.writeFileSync(path.join(testOutputDir('failover-timing'), 'times.json'), JSON.stringify(results, null, 2) + '\n');
}

describe('how fast traffic leaves a failing cluster (real Envoy, repeated)', () => {
  let backends: Backends;
  let topology: Topology;
  let sidecar: { envoy: EnvoyProcess; url: string };

  const allLocal = () =>
    waitFor(
      async () => {
        const tally = await sendRequests({ url: sidecar.url, hostHeader: HOST, count: 40 });
        return tally.failures === 0 && Object.keys(tally.byId).every((id) => id.startsWith('east')) ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'all traffic local in east' },
    );

  beforeAll(async () => {
    const start = (ids: string[]) => Promise.all(ids.map((id) => startHttpBackend({ id })));
    backends = {
      east: await start(['east-1', 'east-2']),
      west: await start(['west-1']),
      south: await start(['south-1', 'south-2', 'south-3']),
    };
    topology = await startTopology({
      name: 'failover-timing',
      clusters: CLUSTERS,
      gatewaysFor: ['west', 'south'],
      mesh: (port) => meshDocument(backends, port, true),
    });
    sidecar = await startSidecar(topology, EAST, 'sidecar-east-timing');
  });
  afterAll(async () => {
    await topology?.stop();
    await stopEverything();
  });

  test(`every east backend SIGKILLed: first remote response and all traffic remote (${REPETITIONS} times)`, async () => {
    const runs: Move[] = [];
    for (let i = 0; i < REPETITIONS; i++) {
      await allLocal();
      runs.push(
        await timeMove(sidecar.url, async () => {
          await Promise.all(backends.east.map((b) => b.kill('SIGKILL')));
        }),
      );
      await Promise.all(backends.east.map((b) => b.restart()));
    }
    record('east backends killed (SIGKILL)', runs);
    for (const run of runs) {
      expect(run.firstRemoteMs).toBeLessThan(KILL_BOUND_MS);
      expect(run.allRemoteMs).toBeLessThan(KILL_BOUND_MS);
    }
  });

  test(`east endpoints marked not ready in the mesh file: first remote response and all traffic remote (${REPETITIONS} times)`, async () => {
    const runs: Move[] = [];
    for (let i = 0; i < REPETITIONS; i++) {
      await allLocal();
      runs.push(
        await timeMove(sidecar.url, async () =>
          topology.meshFile.write(meshDocument(backends, topology.gatewayPort, false)),
        ),
      );
      expect(runs[runs.length - 1]?.failures).toBe(0);
      topology.meshFile.write(meshDocument(backends, topology.gatewayPort, true));
    }
    record('east endpoints marked not ready in the mesh file', runs);
    for (const run of runs) {
      expect(run.firstRemoteMs).toBeLessThan(NOT_READY_BOUND_MS);
      expect(run.allRemoteMs).toBeLessThan(NOT_READY_BOUND_MS);
    }
  });
});
