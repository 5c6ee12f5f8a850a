// The demo's story, told in the terminal: all traffic local -> the client cluster's backends killed ->
// traffic spills to the other clusters by replicas -> the cluster recovers -> the canary gets its share ->
// the canary killed -> canary traffic falls back to stable. Every step acts, then OBSERVES with requests
// counted through the sidecar, within a bounded wait, and ends with a PASS or FAIL line.
import { MeshModel } from '../mesh/model';
import { DEMO_SERVICE_HOST, DemoPlan } from './demo-plan';
import { Sample, formatCounter, formatExpected, matchesWeights, share } from './story-sample';
import { PredictDriver, predictSteps } from './predict-steps';

/** What the story needs from the running demo; tests drive it with a fake. */
export interface StoryDriver {
  /** Sends `count` requests through the sidecar (with extra headers) and counts who answered. */
  send(count: number, headers?: Record<string, string>): Promise<Sample>;
  /** SIGKILLs the client cluster's backends of the demo service with these versions; returns what it killed. */
  kill(versions: readonly string[]): Promise<string[]>;
  /** Restarts every stopped backend; returns what it restarted. */
  restart(): Promise<string[]>;
  print(line: string): void;
  /** True once the demo is stopping: the story gives up without calling it a failure. */
  stopping(): boolean;
  /** What-if and drill steps, told after the first step when given (the admin API). */
  predict?: PredictDriver;
}

/** Who plays which part, read off the mesh: the client cluster, the remote clusters and the canary. */
export interface StoryCast {
  client: string;
  /** Remote clusters with their stable replicas: the expected spill weights. */
  remotes: { key: string; weight: number }[];
  stable: string;
  canary: string;
  /** Percent of requests without the header that go to the canary. */
  canaryWeight: number;
  canaryHeader: Record<string, string>;
}

export interface StoryTimings {
  /** Bound on waiting for traffic to move after an action. */
  settleTimeoutMs: number;
  /** Bound on waiting for the client cluster to take traffic back (Envoy's ejection time is 10 s at first). */
  recoverTimeoutMs: number;
  probeIntervalMs: number;
  /** How often a live counter line is printed while waiting. */
  liveLineIntervalMs: number;
}

export const DEFAULT_STORY_TIMINGS: StoryTimings = {
  settleTimeoutMs: 20_000,
  recoverTimeoutMs: 45_000,
  probeIntervalMs: 300,
  liveLineIntervalMs: 2_000,
};

export type StoryResult =
  { passed: true } | { passed: false; failedStep: string; reason: string } | { passed: false; stopped: true };

/** A step's verdict on one counted sample: the counter line to print and whether it shows the step. */
interface Reading {
  ok: boolean;
  counter: string;
}

export interface StoryStep {
  title: string;
  /** Changes the world (kill, restart); returns what it did, for the step line. */
  act?: () => Promise<string>;
  /** Polled until ok (quick samples) within the timeout: traffic has moved. */
  settle?: { what: string; timeoutMs: number; probe: () => Promise<Reading> };
  /** One larger counted sample that decides the step. */
  measure: () => Promise<Reading>;
  passLine: string;
}

const PROBE_REQUESTS = 10;
/** Spill and canary shares are judged on samples this size: small enough to take a second on loopback. */
const SPILL_REQUESTS = 60;
const LOCAL_REQUESTS = 40;
const CANARY_REQUESTS = 200;
const HEADER_REQUESTS = 10;
/** Allowed distance between measured and expected spill shares (2:1 over 60 requests is ~6% per sigma). */
const SPILL_TOLERANCE = 0.2;

export function castStory(model: MeshModel, plan: DemoPlan): StoryCast {
  const entry = model.services.get(DEMO_SERVICE_HOST);
  const canary = entry?.service.canary;
  if (!entry || !canary?.header)
    throw new Error(`the demo mesh's ${DEMO_SERVICE_HOST} needs a canary with a header for the story`);
  const label = entry.service.subsetLabel;
  const replicas = new Map<string, number>();
  for (const endpoint of entry.endpoints) {
    if (endpoint.cluster === plan.client.name || endpoint.labels[label] !== canary.stable || !endpoint.ready) continue;
    replicas.set(endpoint.cluster, (replicas.get(endpoint.cluster) ?? 0) + 1);
  }
  return {
    client: plan.client.name,
    remotes: [...replicas.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([key, weight]) => ({ key, weight })),
    stable: canary.stable,
    canary: canary.canary,
    canaryWeight: canary.weight,
    canaryHeader: { [canary.header.name]: canary.header.exact },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function failures(sample: Sample): string {
  return sample.failed === 0
    ? '0 failed'
    : `${sample.failed} failed (${Object.entries(sample.failures)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')})`;
}

export function storySteps(cast: StoryCast, driver: StoryDriver, timings: StoryTimings): StoryStep[] {
  const { client, stable, canary } = cast;
  const clusters = [client, ...cast.remotes.map((r) => r.key)];
  const byCluster = (s: Sample) => formatCounter(s, s.byCluster, clusters);
  const byVersion = (s: Sample) => formatCounter(s, s.byVersion, [stable, canary]);
  const allFrom = (s: Sample, counts: Record<string, number>, key: string) =>
    s.failed === 0 && s.total > 0 && counts[key] === s.total;
  const spillExpected = `expected ${cast.remotes.map((r) => r.weight).join(':')} by replicas: ${formatExpected(cast.remotes)}`;
  const canaryExpected = `expected ${canary} ${cast.canaryWeight}% by canary weight`;
  const header = Object.entries(cast.canaryHeader)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

  return [
    {
      title: `all traffic stays local in ${client}`,
      measure: async () => {
        const s = await driver.send(LOCAL_REQUESTS);
        return {
          ok: allFrom(s, s.byCluster, client),
          counter: `${byCluster(s)} of ${s.total} requests, ${failures(s)} (expected ${client} 100%)`,
        };
      },
      passLine: `every request answered in ${client}`,
    },
    ...(driver.predict ? predictSteps(cast, driver, driver.predict, timings) : []),
    {
      title: `${client}'s backends killed`,
      act: async () => `killed ${(await driver.kill([stable, canary])).join('; ')}`,
      settle: {
        what: `traffic to leave ${client}`,
        timeoutMs: timings.settleTimeoutMs,
        probe: async () => {
          const s = await driver.send(PROBE_REQUESTS);
          return { ok: s.failed === 0 && (s.byCluster[client] ?? 0) === 0, counter: `${byCluster(s)} of ${s.total}` };
        },
      },
      measure: async () => {
        const s = await driver.send(SPILL_REQUESTS);
        const ok =
          s.failed === 0 &&
          (s.byCluster[client] ?? 0) === 0 &&
          matchesWeights(s, s.byCluster, cast.remotes, SPILL_TOLERANCE);
        return { ok, counter: `${byCluster(s)} of ${s.total} requests, ${failures(s)} (${spillExpected})` };
      },
      passLine: `traffic spilled to ${cast.remotes.map((r) => r.key).join(' and ')} in proportion to their replicas, without errors`,
    },
    {
      title: `${client} recovers`,
      act: async () => `restarted ${(await driver.restart()).join('; ') || 'nothing (all running)'}`,
      settle: {
        what: `${client} to take its traffic back (after Envoy's ejection time, about 10 s)`,
        timeoutMs: timings.recoverTimeoutMs,
        probe: async () => {
          const s = await driver.send(PROBE_REQUESTS);
          const canaryProbe = await driver.send(3, cast.canaryHeader);
          const ok =
            allFrom(s, s.byCluster, client) &&
            allFrom(canaryProbe, canaryProbe.byCluster, client) &&
            allFrom(canaryProbe, canaryProbe.byVersion, canary);
          return { ok, counter: `${byCluster(s)} of ${s.total}; ${header}: ${byVersion(canaryProbe)}` };
        },
      },
      measure: async () => {
        const s = await driver.send(LOCAL_REQUESTS);
        return {
          ok: allFrom(s, s.byCluster, client),
          counter: `${byCluster(s)} of ${s.total} requests, ${failures(s)} (expected ${client} 100%)`,
        };
      },
      passLine: `${client} answers every request again`,
    },
    {
      title: `the ${canary} canary gets its share`,
      measure: async () => {
        const s = await driver.send(CANARY_REQUESTS);
        const pinned = await driver.send(HEADER_REQUESTS, cast.canaryHeader);
        const canaryShare = share(s, s.byVersion, canary);
        const weight = cast.canaryWeight / 100;
        // Bounds about three sigma either side at 200 requests and a 10% weight: a pass is not luck.
        const ok =
          allFrom(s, s.byCluster, client) &&
          canaryShare >= weight / 3 &&
          canaryShare <= weight * 2.5 &&
          allFrom(pinned, pinned.byVersion, canary);
        return {
          ok,
          counter: `${byVersion(s)} of ${s.total} requests, ${failures(s)} (${canaryExpected}); ${header}: ${canary} ${pinned.byVersion[canary] ?? 0}/${pinned.total}`,
        };
      },
      passLine: `about ${cast.canaryWeight}% of requests, and every ${header} request, reach the canary`,
    },
    {
      title: `the ${canary} canary killed`,
      act: async () => `killed ${(await driver.kill([canary])).join('; ')}`,
      settle: {
        what: `${header} requests to fall back to ${stable}`,
        timeoutMs: timings.settleTimeoutMs,
        probe: async () => {
          const s = await driver.send(PROBE_REQUESTS, cast.canaryHeader);
          return { ok: allFrom(s, s.byVersion, stable), counter: `${header}: ${byVersion(s)} of ${s.total}` };
        },
      },
      measure: async () => {
        const pinned = await driver.send(HEADER_REQUESTS * 2, cast.canaryHeader);
        const s = await driver.send(LOCAL_REQUESTS);
        const ok = allFrom(pinned, pinned.byVersion, stable) && allFrom(s, s.byVersion, stable);
        const where = formatCounter(pinned, pinned.byCluster, [client]);
        return {
          ok,
          counter: `${header}: ${byVersion(pinned)} of ${pinned.total} (${where}), ${failures(pinned)}; others: ${byVersion(s)} of ${s.total}, ${failures(s)} (expected ${stable} 100%)`,
        };
      },
      passLine: `canary traffic falls back to ${stable}, without errors`,
    },
  ];
}

class StoryStopped extends Error {}

async function settle(step: StoryStep, driver: StoryDriver, timings: StoryTimings): Promise<string | undefined> {
  const { settle: wait } = step;
  if (!wait) return undefined;
  const startedAt = Date.now();
  let lastLiveAt = startedAt;
  let last = '';
  for (;;) {
    if (driver.stopping()) throw new StoryStopped();
    const reading = await wait.probe();
    last = reading.counter;
    const elapsed = Date.now() - startedAt;
    if (reading.ok) return `${(elapsed / 1000).toFixed(1)}s`;
    if (elapsed >= wait.timeoutMs)
      throw new Error(`${wait.what}: not seen within ${wait.timeoutMs / 1000}s (last: ${last})`);
    if (Date.now() - lastLiveAt >= timings.liveLineIntervalMs) {
      driver.print(`      waiting for ${wait.what}: ${last} (${(elapsed / 1000).toFixed(0)}s)`);
      lastLiveAt = Date.now();
    }
    await sleep(timings.probeIntervalMs);
  }
}

export function stepLabel(index: number, total: number): string {
  return `step ${index + 1}/${total}`;
}

/** Runs every step in order, stopping at the first failure; prints a line per action, counter and verdict. */
export async function runStory(
  cast: StoryCast,
  driver: StoryDriver,
  timings: StoryTimings = DEFAULT_STORY_TIMINGS,
): Promise<StoryResult> {
  const steps = storySteps(cast, driver, timings);
  for (const [index, step] of steps.entries()) {
    const label = stepLabel(index, steps.length);
    const startedAt = Date.now();
    try {
      if (driver.stopping()) throw new StoryStopped();
      driver.print(`[${label}] ${step.title}`);
      if (step.act) driver.print(`      ${await step.act()}`);
      const settled = await settle(step, driver, timings);
      if (settled) driver.print(`      traffic moved after ${settled}`);
      if (driver.stopping()) throw new StoryStopped();
      const reading = await step.measure();
      driver.print(`      ${reading.counter}`);
      if (!reading.ok) throw new Error(`the counted requests do not show it: ${reading.counter}`);
      driver.print(`      PASS ${label}: ${step.passLine} (${((Date.now() - startedAt) / 1000).toFixed(1)}s)`);
    } catch (error) {
      if (error instanceof StoryStopped || driver.stopping()) return { passed: false, stopped: true };
      const reason = error instanceof Error ? error.message : String(error);
      driver.print(`      FAIL ${label}: ${step.title}: ${reason}`);
      return { passed: false, failedStep: `${label} (${step.title})`, reason };
    }
  }
  return { passed: true };
}
