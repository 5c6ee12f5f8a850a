// /debug/scope: per workload, declared vs observed callees and a `calls:` list to paste (see
// visibility/scope-report.ts). Read by `spillway scope` and the page's scope panel. Bounded by `?limit=N`.
import type { MeshModel } from '../mesh/model';
import type { ObservedCalls } from '../visibility/observed-calls';
import { DEFAULT_SCOPE_LIMIT, scopeReport } from '../visibility/scope-report';
import { AdminHandler, json } from './admin-server';

export interface ScopeRouteSources {
  /** Which services each workload was seen calling (learned from load reports). */
  observedCalls: Pick<ObservedCalls, 'entries' | 'sinceMs' | 'size' | 'dropped' | 'unidentified'>;
  model: () => MeshModel;
  /** `serve --scope`: what sidecars whose workload declares nothing get. */
  defaultScope: string;
}

export function scopeHandler(sources: ScopeRouteSources): AdminHandler {
  return (url) => {
    const text = url.searchParams.get('limit');
    const limit = text === null ? DEFAULT_SCOPE_LIMIT : Number(text);
    if (!Number.isInteger(limit) || limit < 0)
      return json(
        { error: `limit "${text?.slice(0, 32)}" is not a whole number >= 0 (default ${DEFAULT_SCOPE_LIMIT})` },
        400,
      );
    const observed = sources.observedCalls;
    return json(
      scopeReport({
        model: sources.model(),
        observed: observed.entries(),
        observingSinceMs: observed.sinceMs,
        defaultScope: sources.defaultScope,
        limit,
        observedPairs: observed.size,
        droppedPairs: observed.dropped,
        unidentifiedReports: observed.unidentified,
      }),
    );
  };
}
