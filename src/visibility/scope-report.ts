// Per workload: what it declares it calls, what its sidecars were seen calling, and a `calls:` list and
// annotation to paste. Pure (model + observations -> report); `spillway scope`, /debug/scope and the
// page show it. A suggestion is only text for an operator: Spillway never trims a proxy on its own.
import { shortHost } from '../mesh/calls';
import { MeshModel } from '../mesh/model';
import { ObservedCall } from './observed-calls';

export interface ObservedCallee {
  service: string;
  requests: number;
  lastSeenMs: number;
}

export interface WorkloadScope {
  workload: string;
  /** `calls` as declared (short names), absent when the workload declares none. */
  declared?: string[];
  observed: ObservedCallee[];
  /** Seen called but not declared: a sidecar that declares calls cannot reach these (404), so this is a warning. */
  observedNotDeclared: string[];
  /** Declared but not seen in this process's lifetime: perhaps unused, perhaps rare; a person decides. */
  declaredNotObserved: string[];
  suggestion: { calls: string[]; meshFile: string; annotation: string };
}

export interface ScopeReport {
  generatedAtMs: number;
  observingSinceMs: number;
  /** What `serve --scope` gives sidecars whose workload declares nothing. */
  defaultScope: string;
  total: number;
  limit: number;
  workloads: WorkloadScope[];
  observedPairs: number;
  droppedPairs: number;
  unidentifiedReports: number;
}

export interface ScopeReportInput {
  model: MeshModel;
  observed: ReadonlyMap<string, ReadonlyMap<string, ObservedCall>>;
  observingSinceMs: number;
  defaultScope: string;
  limit: number;
  observedPairs: number;
  droppedPairs: number;
  unidentifiedReports: number;
  nowMs?: number;
}

/** Workloads per answer unless `?limit=N` says otherwise. */
export const DEFAULT_SCOPE_LIMIT = 500;

export function scopeReport(input: ScopeReportInput): ScopeReport {
  // Only workloads and callees of the mesh as it is now: what was learned about services since removed is not advice.
  const hosts = new Set<string>([...input.observed.keys()].filter((host) => input.model.services.has(host)));
  for (const [host, entry] of input.model.services) if (entry.service.calls) hosts.add(host);
  const workloads: WorkloadScope[] = [];
  for (const host of [...hosts].sort()) {
    const declaredHosts = input.model.services.get(host)?.service.calls;
    const seen = input.observed.get(host) ?? new Map<string, ObservedCall>();
    const observed = [...seen]
      .filter(([callee]) => input.model.services.has(callee))
      .map(([callee, call]) => ({ service: shortHost(callee), requests: call.requests, lastSeenMs: call.lastSeenMs }))
      .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
    const declared = declaredHosts?.map(shortHost);
    const observedNames = observed.map((o) => o.service);
    const calls = [...new Set([...(declared ?? []), ...observedNames])].sort();
    workloads.push({
      workload: shortHost(host),
      ...(declared ? { declared } : {}),
      observed,
      observedNotDeclared: declared ? observedNames.filter((name) => !declared.includes(name)) : [],
      declaredNotObserved: declared ? declared.filter((name) => !observedNames.includes(name)) : [],
      suggestion: {
        calls,
        meshFile: `calls: [${calls.join(', ')}]`,
        annotation: `spillway.io/calls: "${calls.join(', ')}"`,
      },
    });
  }
  return {
    generatedAtMs: input.nowMs ?? Date.now(),
    observingSinceMs: input.observingSinceMs,
    defaultScope: input.defaultScope,
    total: workloads.length,
    limit: input.limit,
    workloads: workloads.slice(0, input.limit),
    observedPairs: input.observedPairs,
    droppedPairs: input.droppedPairs,
    unidentifiedReports: input.unidentifiedReports,
  };
}
