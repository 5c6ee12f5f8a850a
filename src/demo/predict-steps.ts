// The demo's what-if and drill steps, told before anything really breaks: ask where the client cluster's
// traffic would go if it failed, rehearse that failure with a short drill (real traffic moves exactly as
// predicted), and see it come back at the drill's deadline with the outcome report. They go through the
// admin API over loopback, as an operator's `spillway what-if` and `spillway drill` do.
import * as http from 'http';
import type { DrillOutcome } from '../drill/drill-manager';
import type { WhatIfReport } from '../predict/what-if';
import { DEMO_SERVICE_HOST } from './demo-plan';
import { httpGet } from './http-get';
import type { StoryCast, StoryStep, StoryTimings, StoryDriver } from './story';
import { Sample, formatCounter, formatExpected, matchesWeights } from './story-sample';

/** Long enough to see traffic away and counted, short enough for the demo's pace. */
export const DEMO_DRILL_S = 10;
const SPILL_REQUESTS = 60;
const LOCAL_REQUESTS = 40;
const SPILL_TOLERANCE = 0.2;
/** The outcome is written a few seconds after the deadline (failures while traffic comes back count). */
const OUTCOME_TIMEOUT_MS = 15_000;

export interface PredictDriver {
  whatIf(failure: string): Promise<WhatIfReport>;
  startDrill(failure: string, durationS: number): Promise<void>;
  lastOutcome(): Promise<DrillOutcome | undefined>;
}

function postJson(url: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false, timeout: 5_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error(`POST ${url} timed out`)));
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

/** The real driver: the demo's own admin server on loopback (no token needed there). */
export function adminPredictDriver(adminUrl: string): PredictDriver {
  const base = adminUrl.replace(/\/$/, '');
  return {
    async whatIf(failure) {
      const answer = await httpGet(`${base}/debug/what-if?fail=${encodeURIComponent(failure)}`, { timeoutMs: 10_000 });
      if (answer.status !== 200) throw new Error(`what-if answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      return JSON.parse(answer.body) as WhatIfReport;
    },
    async startDrill(failure, durationS) {
      const answer = await postJson(`${base}/debug/drill/start`, { failure, durationS });
      if (answer.status !== 200) throw new Error(`drill start answered ${answer.status}: ${answer.body.slice(0, 200)}`);
    },
    async lastOutcome() {
      const status = JSON.parse((await httpGet(`${base}/debug/drill`)).body) as {
        active?: unknown;
        outcomes: DrillOutcome[];
      };
      return status.active ? undefined : status.outcomes[0];
    },
  };
}

function sharesText(shares: Record<string, number>): string {
  return (
    Object.entries(shares)
      .sort((a, b) => b[1] - a[1])
      .map(([c, s]) => `${c} ${Math.round(s * 100)}%`)
      .join(' ') || 'nowhere'
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function predictSteps(
  cast: StoryCast,
  driver: StoryDriver,
  predict: PredictDriver,
  timings: StoryTimings,
): StoryStep[] {
  const { client, stable } = cast;
  const service = DEMO_SERVICE_HOST.replace(/\.svc\.cluster\.local$/, '');
  const failure = `${client}/${service}`;
  const clusters = [client, ...cast.remotes.map((r) => r.key)];
  const byCluster = (s: Sample) => formatCounter(s, s.byCluster, clusters);
  const expectedText = `expected ${cast.remotes.map((r) => r.weight).join(':')} by replicas: ${formatExpected(cast.remotes)}`;
  let predicted: Record<string, number> = {};
  return [
    {
      title: `what if ${client} fails? (spillway what-if --fail ${client})`,
      act: async () => {
        const report = await predict.whatIf(client);
        const route = report.routes.find(
          (r) => r.clientCluster === client && r.service === DEMO_SERVICE_HOST && r.subset === stable,
        );
        predicted = route?.after ?? {};
        const warnings = report.warnings.length > 0 ? `; warnings: ${report.warnings.join('; ')}` : '';
        return `predicted for ${client}'s ${stable} traffic: ${sharesText(predicted)}${warnings}`;
      },
      measure: async () => {
        const total = cast.remotes.reduce((sum, r) => sum + r.weight, 0);
        const ok =
          cast.remotes.every((r) => Math.abs((predicted[r.key] ?? 0) - r.weight / total) < 0.001) &&
          (predicted[client] ?? 0) === 0;
        return { ok, counter: `prediction ${sharesText(predicted)} (${expectedText})` };
      },
      passLine: `the prediction follows the replicas, read from the EDS ${client}'s sidecar would get`,
    },
    {
      title: `drill: ${failure} served as not ready for ${DEMO_DRILL_S}s (spillway drill start)`,
      act: async () => {
        await predict.startDrill(failure, DEMO_DRILL_S);
        return `drill started; the page shows its banner`;
      },
      settle: {
        what: `traffic to leave ${client}`,
        timeoutMs: timings.settleTimeoutMs,
        probe: async () => {
          const s = await driver.send(10);
          return { ok: s.failed === 0 && (s.byCluster[client] ?? 0) === 0, counter: `${byCluster(s)} of ${s.total}` };
        },
      },
      measure: async () => {
        const s = await driver.send(SPILL_REQUESTS);
        const ok =
          s.failed === 0 &&
          (s.byCluster[client] ?? 0) === 0 &&
          matchesWeights(s, s.byCluster, cast.remotes, SPILL_TOLERANCE);
        return {
          ok,
          counter: `${byCluster(s)} of ${s.total} requests, ${s.failed} failed (predicted ${sharesText(predicted)})`,
        };
      },
      passLine: `real traffic moved as predicted, without errors`,
    },
    {
      title: `the drill ends at its deadline`,
      settle: {
        what: `traffic back in ${client} at the drill's deadline`,
        timeoutMs: DEMO_DRILL_S * 1000 + timings.settleTimeoutMs,
        probe: async () => {
          const s = await driver.send(10);
          return {
            ok: s.failed === 0 && s.total > 0 && (s.byCluster[client] ?? 0) === s.total,
            counter: `${byCluster(s)} of ${s.total}`,
          };
        },
      },
      measure: async () => {
        const s = await driver.send(LOCAL_REQUESTS);
        const startedAt = Date.now();
        let outcome = await predict.lastOutcome();
        while (!outcome && Date.now() - startedAt < OUTCOME_TIMEOUT_MS && !driver.stopping()) {
          await sleep(500);
          outcome = await predict.lastOutcome();
        }
        const route = outcome?.routes.find((r) => r.clientCluster === client && r.subset === stable);
        const ok = s.failed === 0 && (s.byCluster[client] ?? 0) === s.total && outcome?.failedRequests === 0;
        const report = outcome
          ? `outcome: ${outcome.requests} requests reported, ${outcome.failedRequests} failed; expected ${sharesText(route?.expected ?? {})}, measured ${sharesText(route?.measured ?? {})}`
          : 'no outcome reported';
        return { ok, counter: `${byCluster(s)} of ${s.total} requests; ${report}` };
      },
      passLine: `${client} has its traffic back, and the drill's outcome counts no failed request`,
    },
  ];
}
