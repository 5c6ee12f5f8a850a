// What clients actually sent, from their load reports: requests per (client cluster, Envoy cluster,
// target mesh cluster) over a sliding window. This sees spill that the model cannot (outlier ejection).

export const LOAD_WINDOW_MS = 10_000;

export interface LoadSample {
  clientCluster: string;
  /** Envoy cluster name, e.g. outbound|8080|v1|checkout.shop.svc.cluster.local */
  envoyCluster: string;
  /** Mesh cluster that served the requests (the locality's sub_zone). */
  targetCluster: string;
  /** Priority of the locality in the client's assignment. */
  priority: number;
  requests: number;
  errors: number;
}

interface Bucket {
  atMs: number;
  samples: LoadSample[];
}

export interface MeasuredLoad {
  /**
   * Successful requests per target mesh cluster in the window: where traffic was actually served. A
   * failed attempt that a retry then sent elsewhere is an error of its target, not a share of traffic.
   */
  byTarget: Record<string, number>;
  requests: number;
  errors: number;
}

export class LoadReportStore {
  private buckets: Bucket[] = [];
  readonly totals = { reports: 0, requests: 0 };

  constructor(private readonly windowMs = LOAD_WINDOW_MS, private readonly now: () => number = Date.now) {}

  record(samples: LoadSample[]): void {
    if (samples.length === 0) return;
    this.prune();
    this.buckets.push({ atMs: this.now(), samples });
    this.totals.reports++;
    for (const sample of samples) this.totals.requests += sample.requests;
  }

  /** Load of every Envoy cluster whose name matches, for one client cluster, in the window. */
  measure(clientCluster: string, matches: (envoyCluster: string) => boolean): MeasuredLoad {
    this.prune();
    const byTarget: Record<string, number> = {};
    let requests = 0;
    let errors = 0;
    for (const bucket of this.buckets) {
      for (const sample of bucket.samples) {
        if (sample.clientCluster !== clientCluster || !matches(sample.envoyCluster)) continue;
        const served = sample.requests - sample.errors;
        if (served > 0) byTarget[sample.targetCluster] = (byTarget[sample.targetCluster] ?? 0) + served;
        requests += sample.requests;
        errors += sample.errors;
      }
    }
    return { byTarget, requests, errors };
  }

  private prune(): void {
    const oldest = this.now() - this.windowMs;
    while (this.buckets.length > 0 && (this.buckets[0] as Bucket).atMs < oldest) this.buckets.shift();
  }
}
