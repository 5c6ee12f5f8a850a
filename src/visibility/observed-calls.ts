// Which services each workload really calls, learned from its sidecars' load reports: the evidence behind
// `spillway scope` suggestions. Only read by people (the report, the page); it never changes what a
// proxy is sent. Bounded: pairs (workload, callee) are kept up to a server-wide limit, counted beyond it.
import type { LoadSample } from '../lrs/load-report-store';

/** Default of --scope-max-observed-calls: (workload, callee) pairs kept; a 1,000-service mesh where each calls 10 needs 10,000. */
export const DEFAULT_MAX_OBSERVED_CALLS = 50_000;

const PRUNE_INTERVAL_MS = 60_000;

export interface ObservedCall {
  requests: number;
  lastSeenMs: number;
}

/** The callee of an outbound Envoy cluster (`outbound|<port>|<subset>|<host>`); undefined for any other cluster. */
export function calleeOf(envoyCluster: string): string | undefined {
  const parts = envoyCluster.split('|');
  return parts.length === 4 && parts[0] === 'outbound' && parts[3] ? parts[3] : undefined;
}

export class ObservedCalls {
  private readonly byWorkload = new Map<string, Map<string, ObservedCall>>();
  private pairs = 0;
  /** Pairs not kept because the limit was reached. */
  dropped = 0;
  /** Reports whose node names no workload of the mesh (no SERVICE, nor Istio's NAMESPACE and app label). */
  unidentified = 0;
  readonly sinceMs = Date.now();
  private lastPruneMs = -Infinity;

  constructor(
    private readonly maxPairs: number = DEFAULT_MAX_OBSERVED_CALLS,
    /** Whether a host is a service of the mesh now: only real workloads and callees are kept. */
    private readonly isService: (host: string) => boolean = () => true,
  ) {}

  record(workload: string | undefined, samples: readonly LoadSample[], nowMs = Date.now()): void {
    if (samples.length === 0) return;
    if (workload === undefined || !this.isService(workload)) {
      this.unidentified++;
      return;
    }
    let callees = this.byWorkload.get(workload);
    for (const sample of samples) {
      const callee = calleeOf(sample.envoyCluster);
      if (callee === undefined || sample.requests <= 0) continue;
      let call = callees?.get(callee);
      if (!call) {
        if (this.pairs >= this.maxPairs) this.prune(nowMs);
        if (this.pairs >= this.maxPairs || !this.isService(callee)) {
          if (this.pairs >= this.maxPairs) this.dropped++;
          continue;
        }
        if (!callees) {
          callees = new Map();
          this.byWorkload.set(workload, callees);
        }
        call = { requests: 0, lastSeenMs: nowMs };
        callees.set(callee, call);
        this.pairs++;
      }
      call.requests += sample.requests;
      call.lastSeenMs = nowMs;
    }
  }

  /**
   * At the limit: forget pairs whose workload or callee left the mesh, so a mesh that changed over time
   * does not keep its past. At most once a minute (it walks every pair).
   */
  private prune(nowMs: number): void {
    if (nowMs - this.lastPruneMs < PRUNE_INTERVAL_MS) return;
    this.lastPruneMs = nowMs;
    for (const [workload, callees] of this.byWorkload) {
      const workloadGone = !this.isService(workload);
      for (const callee of [...callees.keys()]) {
        if (workloadGone || !this.isService(callee)) {
          callees.delete(callee);
          this.pairs--;
        }
      }
      if (callees.size === 0) this.byWorkload.delete(workload);
    }
  }

  /** Workload host -> callee host -> what was seen. */
  entries(): ReadonlyMap<string, ReadonlyMap<string, ObservedCall>> {
    return this.byWorkload;
  }

  get size(): number {
    return this.pairs;
  }
}
