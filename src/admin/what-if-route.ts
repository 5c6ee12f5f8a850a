// GET /debug/what-if?fail=east&fail=west/checkout.shop: the what-if report (src/predict/what-if.ts) over
// the served model and the load reports. Bounded: at most `maxFailures` fail parameters, each at most
// MAX_FAILURE_TEXT characters, and one computation at a time (it translates every cluster's view twice).
import { MeshModel } from '../mesh/model';
import { LoadReportStore } from '../lrs/load-report-store';
import { Failure, parseFailure } from '../predict/failure';
import { whatIfSteps } from '../predict/what-if';
import { TimeSlicer } from '../xds/steps';
import { AdminHandler, json } from './admin-server';

export const DEFAULT_WHAT_IF_MAX_FAILURES = 8;
/** How long a what-if may hold the event loop at a time (xDS pushes and health checks go on meanwhile). */
const WHAT_IF_SLICE_MS = 20;

export interface WhatIfRouteOptions {
  model: () => MeshModel;
  loads: LoadReportStore;
  maxFailures: number;
}

/** Parses every `fail` value; the first problem is the answer. */
export function parseFailures(
  values: readonly string[],
  model: MeshModel,
  maxFailures: number,
): { ok: true; failures: Failure[] } | { ok: false; error: string } {
  if (values.length === 0)
    return { ok: false, error: 'name what fails: fail=CLUSTER or fail=CLUSTER/SERVICE (repeat for several)' };
  if (values.length > maxFailures)
    return { ok: false, error: `at most ${maxFailures} failures at once (--what-if-max-failures)` };
  const failures: Failure[] = [];
  for (const value of values) {
    const parsed = parseFailure(value, model);
    if (!parsed.ok) return parsed;
    failures.push(parsed.failure);
  }
  return { ok: true, failures };
}

export function whatIfHandler(options: WhatIfRouteOptions): AdminHandler {
  let running = false;
  return async (url) => {
    const model = options.model();
    // Counted before reading them all: a URL with thousands of fail= is refused, not parsed.
    const values = url.searchParams.getAll('fail');
    const parsed = parseFailures(values, model, options.maxFailures);
    if (!parsed.ok) return json({ error: parsed.error }, 400);
    if (running) return json({ error: 'a what-if is being computed; ask again in a moment' }, 429);
    running = true;
    try {
      const report = await new TimeSlicer(WHAT_IF_SLICE_MS).run(whatIfSteps(model, parsed.failures, options.loads));
      return json(report);
    } finally {
      running = false;
    }
  };
}
