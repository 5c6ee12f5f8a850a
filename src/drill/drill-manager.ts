// Drills: for a bounded time the served views treat a cluster's (or one service's) endpoints as not ready
// (the same transform as what-if, laid over the model by ModelOverlay), so real traffic moves as in a real
// failure and comes back at the deadline. One drill at a time; never persisted (a restart ends it).
// Every start and end is an audit log line; the end reports expected vs measured shares and the
// failed requests load reports counted from the start until shortly after traffic came back.
import type { Logger } from 'pino';
import { MeshModel } from '../mesh/model';
import { LoadReportStore, LoadSample } from '../lrs/load-report-store';
import { Failure, describeFailure, parseFailure } from '../predict/failure';
import { ModelOverlay } from '../predict/model-overlay';
import { WhatIfReport, whatIfSteps } from '../predict/what-if';
import { belongsTo } from '../visibility/failover-tracker';
import { outboundClusterName } from '../xds/translate/names';
import { TimeSlicer } from '../xds/steps';

export const DEFAULT_DRILL_MAX_DURATION_MS = 600_000;
export const MIN_DRILL_DURATION_MS = 1_000;
/** After the deadline, failures are still counted this long: traffic coming back is part of the drill. */
export const FAILBACK_WATCH_MS = 5_000;
/** Shares are counted from this long after the start: the switch itself is not where traffic settles. */
export const SWITCH_SETTLE_MS = 2_000;
/** An outcome warns when a measured share is this far from the expected one. */
export const SHARE_TOLERANCE = 0.1;
/** How long the prediction at a drill's start may hold the event loop at a time. */
const PREDICTION_SLICE_MS = 20;
/** Outcomes kept for /debug/drill. */
const OUTCOMES_KEPT = 5;

export interface DrillRoute {
  clientCluster: string;
  service: string;
  port: number;
  subset: string;
  expected: Record<string, number>;
  /** Shares of what load reports counted during the drill (after the switch); absent without traffic. */
  measured?: Record<string, number>;
  requests: number;
}

export interface ActiveDrill {
  id: number;
  failure: string;
  startedAtMs: number;
  deadlineMs: number;
  /** Who started it (remote address) and whether with the admin token. */
  by: string;
  /** 'running' until the deadline or a stop, then 'ending' while traffic comes back. */
  phase: 'running' | 'ending';
}

export interface DrillOutcome {
  id: number;
  failure: string;
  startedAtMs: number;
  endedAtMs: number;
  endedBy: 'deadline' | 'stop';
  routes: DrillRoute[];
  /** Requests load reports counted for the drilled service(s) from the start to FAILBACK_WATCH_MS after the end. */
  requests: number;
  failedRequests: number;
  warnings: string[];
}

interface Counting {
  /** `client|envoy cluster` -> the route it counts for. */
  byLoadKey: Map<string, DrillRoute & { counts: Record<string, number> }>;
  /** Envoy cluster names (any client) of the drilled services: their errors are the drill's failures. */
  envoyClusters: Set<string>;
  requests: number;
  failed: number;
  /** Shares are counted from then until the failure stops being served (not during the way back). */
  sharesFromMs: number;
  countShares: boolean;
}

export interface DrillManagerOptions {
  overlay: ModelOverlay;
  /** The model as the sources give it (without any overlay). */
  model: () => MeshModel;
  loads: LoadReportStore;
  logger: Logger;
  maxDurationMs: number;
  now?: () => number;
}

/** Totals since start, for metrics: what a dashboard alerts on (drills that failed requests). */
export interface DrillTotals {
  active: boolean;
  endedBy: Record<DrillOutcome['endedBy'], number>;
  requests: number;
  failedRequests: number;
}

export type DrillStart =
  { ok: true; drill: ActiveDrill; prediction: WhatIfReport } | { ok: false; status: number; error: string };

export class DrillManager {
  private active?: {
    drill: ActiveDrill;
    failure: Failure;
    timer: NodeJS.Timeout;
    counting: Counting;
    stopCounting: () => void;
  };
  private readonly outcomes: DrillOutcome[] = [];
  private readonly ended: Omit<DrillTotals, 'active'> = {
    endedBy: { deadline: 0, stop: 0 },
    requests: 0,
    failedRequests: 0,
  };
  private nextId = 1;
  /** A start is being prepared (its prediction computed): a second one must wait its turn. */
  private starting = false;
  private readonly now: () => number;

  constructor(private readonly options: DrillManagerOptions) {
    this.now = options.now ?? Date.now;
  }

  status(): { active?: ActiveDrill; outcomes: DrillOutcome[]; maxDurationMs: number } {
    return { active: this.active?.drill, outcomes: [...this.outcomes], maxDurationMs: this.options.maxDurationMs };
  }

  totals(): DrillTotals {
    return {
      active: this.active !== undefined,
      endedBy: { ...this.ended.endedBy },
      requests: this.ended.requests,
      failedRequests: this.ended.failedRequests,
    };
  }

  async start(request: { failure: string; durationMs: number; by: string }): Promise<DrillStart> {
    if (this.starting) return { ok: false, status: 409, error: 'another drill is being started; one at a time' };
    this.starting = true;
    try {
      return await this.startNow(request);
    } finally {
      this.starting = false;
    }
  }

  private async startNow(request: { failure: string; durationMs: number; by: string }): Promise<DrillStart> {
    if (this.active)
      return {
        ok: false,
        status: 409,
        error: `a drill is already ${this.active.drill.phase === 'running' ? 'running' : 'ending'} (${this.active.drill.failure}); one at a time: spillway drill stop`,
      };
    if (
      !Number.isFinite(request.durationMs) ||
      request.durationMs < MIN_DRILL_DURATION_MS ||
      request.durationMs > this.options.maxDurationMs
    ) {
      return {
        ok: false,
        status: 400,
        error: `a drill lasts ${MIN_DRILL_DURATION_MS / 1000} s to ${this.options.maxDurationMs / 1000} s (--drill-max-duration-s)`,
      };
    }
    const model = this.options.model();
    const parsed = parseFailure(request.failure, model);
    if (!parsed.ok) return { ok: false, status: 400, error: parsed.error };
    // Computed a slice at a time: on a big mesh it translates every cluster's view twice.
    const prediction = await new TimeSlicer(PREDICTION_SLICE_MS).run(
      whatIfSteps(model, [parsed.failure], this.options.loads, this.now),
    );
    if (!prediction) return { ok: false, status: 500, error: 'the prediction was not computed' };
    const startedAtMs = this.now();
    const drill: ActiveDrill = {
      id: this.nextId++,
      failure: describeFailure(parsed.failure),
      startedAtMs,
      deadlineMs: startedAtMs + request.durationMs,
      by: request.by,
      phase: 'running',
    };
    const counting = countingFor(prediction, startedAtMs + SWITCH_SETTLE_MS);
    const stopCounting = this.options.loads.onRecord((samples) => count(counting, samples, this.now()));
    const timer = setTimeout(() => this.end('deadline'), request.durationMs);
    timer.unref();
    this.active = { drill, failure: parsed.failure, timer, counting, stopCounting };
    this.options.overlay.set([parsed.failure]);
    this.options.logger.info(
      {
        audit: 'drill',
        action: 'start',
        drill: drill.id,
        failure: drill.failure,
        durationS: request.durationMs / 1000,
        by: request.by,
      },
      'drill started: the served views treat these endpoints as not ready until the deadline',
    );
    return { ok: true, drill, prediction };
  }

  /** Ends the running drill now; false when none is running. */
  stop(by: string): boolean {
    if (this.active?.drill.phase !== 'running') return false;
    this.options.logger.info(
      { audit: 'drill', action: 'stop', drill: this.active.drill.id, by },
      'drill stopped by request',
    );
    this.end('stop');
    return true;
  }

  /** Shutdown: timers go; nothing is persisted, so a restarted server serves the plain model. */
  close(): void {
    if (!this.active) return;
    clearTimeout(this.active.timer);
    this.active.stopCounting();
    this.options.overlay.clear();
    this.active = undefined;
  }

  private end(endedBy: DrillOutcome['endedBy']): void {
    const active = this.active;
    if (active?.drill.phase !== 'running') return;
    clearTimeout(active.timer);
    const endedAtMs = this.now();
    active.drill.phase = 'ending';
    active.counting.countShares = false;
    this.options.overlay.clear();
    this.options.logger.info(
      { audit: 'drill', action: 'end', drill: active.drill.id, failure: active.drill.failure, endedBy },
      'drill over: the endpoints are served as the mesh says again',
    );
    // Failures while traffic comes back count too; the outcome is written once that had time to show.
    const watch = setTimeout(() => this.finish(endedAtMs, endedBy), FAILBACK_WATCH_MS);
    watch.unref();
    active.timer = watch;
  }

  private finish(endedAtMs: number, endedBy: DrillOutcome['endedBy']): void {
    const active = this.active;
    if (!active) return;
    active.stopCounting();
    this.active = undefined;
    const routes = [...new Set(active.counting.byLoadKey.values())].map(({ counts, ...route }) => {
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      return total > 0
        ? { ...route, measured: Object.fromEntries(Object.entries(counts).map(([c, n]) => [c, n / total])) }
        : route;
    });
    const outcome: DrillOutcome = {
      id: active.drill.id,
      failure: active.drill.failure,
      startedAtMs: active.drill.startedAtMs,
      endedAtMs,
      endedBy,
      routes,
      requests: active.counting.requests,
      failedRequests: active.counting.failed,
      warnings: shareWarnings(routes),
    };
    this.outcomes.unshift(outcome);
    this.ended.endedBy[endedBy]++;
    this.ended.requests += outcome.requests;
    this.ended.failedRequests += outcome.failedRequests;
    this.outcomes.length = Math.min(this.outcomes.length, OUTCOMES_KEPT);
    this.options.logger.info(
      {
        audit: 'drill',
        action: 'outcome',
        drill: outcome.id,
        failure: outcome.failure,
        requests: outcome.requests,
        failedRequests: outcome.failedRequests,
        routes: routes.filter((r) => r.requests > 0),
      },
      'drill outcome: expected vs measured shares, and failed requests from load reports',
    );
  }
}

function shareWarnings(routes: readonly DrillRoute[]): string[] {
  const warnings: string[] = [];
  for (const route of routes) {
    if (!route.measured) continue;
    for (const cluster of new Set([...Object.keys(route.expected), ...Object.keys(route.measured)])) {
      const expected = route.expected[cluster] ?? 0;
      const measured = route.measured[cluster] ?? 0;
      if (Math.abs(expected - measured) <= SHARE_TOLERANCE) continue;
      warnings.push(
        `${route.clientCluster} -> ${route.service}:${route.port}${route.subset ? ` (${route.subset})` : ''}: ${cluster} measured ${Math.round(measured * 100)}%, expected ${Math.round(expected * 100)}%`,
      );
    }
  }
  return warnings;
}

function countingFor(prediction: WhatIfReport, sharesFromMs: number): Counting {
  const counting: Counting = {
    byLoadKey: new Map(),
    envoyClusters: new Set(),
    requests: 0,
    failed: 0,
    sharesFromMs,
    countShares: true,
  };
  for (const route of prediction.routes) {
    const name = outboundClusterName(route.port, route.service, route.subset);
    const tracked = {
      clientCluster: route.clientCluster,
      service: route.service,
      port: route.port,
      subset: route.subset,
      expected: route.after,
      requests: 0,
      counts: {},
    };
    for (const envoyCluster of belongsTo(name, route.subset)) {
      counting.byLoadKey.set(`${route.clientCluster}|${envoyCluster}`, tracked);
      counting.envoyClusters.add(envoyCluster);
    }
  }
  return counting;
}

function count(counting: Counting, samples: readonly LoadSample[], nowMs: number): void {
  for (const sample of samples) {
    if (!counting.envoyClusters.has(sample.envoyCluster)) continue;
    counting.requests += sample.requests;
    counting.failed += sample.errors;
    if (!counting.countShares || nowMs < counting.sharesFromMs) continue;
    const route = counting.byLoadKey.get(`${sample.clientCluster}|${sample.envoyCluster}`);
    if (!route) continue;
    route.requests += sample.requests;
    const served = sample.requests - sample.errors;
    if (served > 0) route.counts[sample.targetCluster] = (route.counts[sample.targetCluster] ?? 0) + served;
  }
}
