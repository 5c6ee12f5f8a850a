// What clients actually sent, from their load reports: requests per (client cluster, Envoy cluster,
// target mesh cluster) over a sliding window. This sees spill that the model cannot (outlier ejection).
//
// Reports are summed into per-second slots of one series per (client cluster, Envoy cluster, target)
// as they arrive, so memory depends on the mesh (attribution admits only clusters a node was sent and
// known target clusters), not on how many nodes report or how often. Nothing is kept per node: a
// node's reports live on only as counts in these series. The number of series is capped server-wide.

export const LOAD_WINDOW_MS = 10_000;
/**
 * Failover states are decided on the newest reports, not the 10 s window, so a state changes within
 * seconds of traffic moving while shares are still shown over LOAD_WINDOW_MS: the newest second of reports
 * when it holds at least MIN_RECENT_REQUESTS, else the last two, at most the last three (RECENT_WINDOW_MS;
 * clients report every second). Sparse traffic thus looks further back instead of deciding on a handful.
 */
export const RECENT_WINDOW_MS = 3_000;
export const MIN_RECENT_REQUESTS = 10;
const SLOT_MS = 1_000;
/** Slots that can overlap the window at once. */
const SLOTS = Math.ceil(LOAD_WINDOW_MS / SLOT_MS) + 1;

export interface LoadSample {
  clientCluster: string;
  /** Envoy cluster name, e.g. outbound|8080|v1|checkout.shop.svc.cluster.local */
  envoyCluster: string;
  /** Mesh cluster that served the requests (the locality's sub_zone). */
  targetCluster: string;
  requests: number;
  errors: number;
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

/** Requests and errors of one series, per second, in a ring of slots. */
class Series {
  private readonly slotOf = new Float64Array(SLOTS).fill(-1);
  private readonly requests = new Float64Array(SLOTS);
  private readonly errors = new Float64Array(SLOTS);
  lastSlot = -1;

  add(slot: number, requests: number, errors: number): void {
    const i = slot % SLOTS;
    if (this.slotOf[i] !== slot) {
      this.slotOf[i] = slot;
      this.requests[i] = 0;
      this.errors[i] = 0;
    }
    this.requests[i] = this.requests[i] + requests;
    this.errors[i] = this.errors[i] + errors;
    this.lastSlot = Math.max(this.lastSlot, slot);
  }

  /** Sums of the slots from `oldestSlot` on. */
  sum(oldestSlot: number): { requests: number; errors: number } {
    let requests = 0;
    let errors = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (this.slotOf[i] < oldestSlot) continue;
      requests += this.requests[i];
      errors += this.errors[i];
    }
    return { requests, errors };
  }
}

/** envoy cluster -> target cluster -> series, for one client cluster. */
type ClientSeries = Map<string, Map<string, Series>>;

export class LoadReportStore {
  private readonly byClient = new Map<string, ClientSeries>();
  private seriesCount = 0;
  private lastPruneMs = 0;
  readonly totals = { reports: 0, requests: 0 };
  /** Told of every report's kept samples (a drill counts its requests and failures this way). */
  private readonly listeners = new Set<(samples: readonly LoadSample[]) => void>();

  constructor(
    private readonly maxSeries = 100_000,
    private readonly windowMs = LOAD_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Series held now (each one a few hundred bytes). */
  get series(): number {
    return this.seriesCount;
  }

  /** Adds a report's samples; returns how many were not kept because the store is full. */
  record(samples: readonly LoadSample[]): number {
    if (samples.length === 0) return 0;
    this.pruneIfDue();
    const slot = Math.floor(this.now() / SLOT_MS);
    let refused = 0;
    for (const sample of samples) {
      const series = this.seriesFor(sample.clientCluster, sample.envoyCluster, sample.targetCluster);
      if (!series) {
        refused++;
        continue;
      }
      series.add(slot, sample.requests, sample.errors);
      this.totals.requests += sample.requests;
    }
    if (refused < samples.length) this.totals.reports++;
    for (const listener of this.listeners) listener(samples);
    return refused;
  }

  /** Calls `listener` with every report's samples from now on; returns the function that stops it. */
  onRecord(listener: (samples: readonly LoadSample[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every (client cluster, Envoy cluster) that has reports held now. */
  forEachLoaded(visit: (clientCluster: string, envoyCluster: string) => void): void {
    this.pruneIfDue();
    for (const [clientCluster, clusters] of this.byClient)
      for (const envoyCluster of clusters.keys()) visit(clientCluster, envoyCluster);
  }

  /** Whether any report for these clusters is held (cheap: no sums, no allocation). */
  hasLoad(clientCluster: string, envoyClusters: readonly string[]): boolean {
    const client = this.byClient.get(clientCluster);
    if (!client) return false;
    for (const envoyCluster of envoyClusters) if (client.has(envoyCluster)) return true;
    return false;
  }

  /** Load of the given Envoy clusters for one client cluster, over the last `windowMs` (at most the store's window). */
  measure(clientCluster: string, envoyClusters: Iterable<string>, windowMs = this.windowMs): MeasuredLoad {
    return this.measureSlots(clientCluster, envoyClusters, this.oldestSlot(Math.min(windowMs, this.windowMs)));
  }

  private measureSlots(clientCluster: string, envoyClusters: Iterable<string>, oldest: number): MeasuredLoad {
    this.pruneIfDue();
    const byTarget: Record<string, number> = {};
    let requests = 0;
    let errors = 0;
    const client = this.byClient.get(clientCluster);
    if (!client) return { byTarget, requests, errors };
    for (const envoyCluster of envoyClusters) {
      for (const [target, series] of client.get(envoyCluster) ?? []) {
        const sum = series.sum(oldest);
        const served = sum.requests - sum.errors;
        if (served > 0) byTarget[target] = (byTarget[target] ?? 0) + served;
        requests += sum.requests;
        errors += sum.errors;
      }
    }
    return { byTarget, requests, errors };
  }

  /** The newest reports' load: the shortest of the last 1..3 seconds with MIN_RECENT_REQUESTS, else all three. */
  measureRecent(clientCluster: string, envoyClusters: readonly string[]): MeasuredLoad & { windowMs: number } {
    let load: MeasuredLoad = { byTarget: {}, requests: 0, errors: 0 };
    let windowMs = SLOT_MS;
    for (; windowMs <= RECENT_WINDOW_MS; windowMs += SLOT_MS) {
      // A window of n slots: the current one and the n - 1 before it.
      load = this.measureSlots(
        clientCluster,
        envoyClusters,
        Math.floor(this.now() / SLOT_MS) - (windowMs / SLOT_MS - 1),
      );
      if (load.requests >= MIN_RECENT_REQUESTS) break;
    }
    return { ...load, windowMs: Math.min(windowMs, RECENT_WINDOW_MS) };
  }

  private seriesFor(clientCluster: string, envoyCluster: string, target: string): Series | undefined {
    let client = this.byClient.get(clientCluster);
    let targets = client?.get(envoyCluster);
    const existing = targets?.get(target);
    if (existing) return existing;
    if (this.seriesCount >= this.maxSeries) {
      this.prune();
      if (this.seriesCount >= this.maxSeries) return undefined;
    }
    if (!client) this.byClient.set(clientCluster, (client = new Map<string, Map<string, Series>>()));
    if (!targets) client.set(envoyCluster, (targets = new Map<string, Series>()));
    const series = new Series();
    targets.set(target, series);
    this.seriesCount++;
    return series;
  }

  /** A slot counts while any part of it is inside the window. */
  private oldestSlot(windowMs = this.windowMs): number {
    return Math.floor((this.now() - windowMs) / SLOT_MS);
  }

  private pruneIfDue(): void {
    if (this.now() - this.lastPruneMs >= SLOT_MS) this.prune();
  }

  /** Drops series with nothing left in the window, and maps left empty. */
  private prune(): void {
    this.lastPruneMs = this.now();
    const oldest = this.oldestSlot();
    for (const [clientCluster, client] of this.byClient) {
      for (const [envoyCluster, targets] of client) {
        for (const [target, series] of targets) {
          if (series.lastSlot >= oldest) continue;
          targets.delete(target);
          this.seriesCount--;
        }
        if (targets.size === 0) client.delete(envoyCluster);
      }
      if (client.size === 0) this.byClient.delete(clientCluster);
    }
  }
}
