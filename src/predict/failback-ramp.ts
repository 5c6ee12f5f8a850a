// Gentle failback between clusters. Envoy's slow start ramps an endpoint only against its peers of the same
// priority; traffic coming back from other clusters is a priority switch it does not touch. So for a
// service with `slowStartWindowMs`, when a cluster's ready endpoints of it go from none to some (a real
// recovery, or a drill's end), the served model marks them with a ramp percent that grows with time over
// the window; the endpoint builder then serves them in one priority with the remote gateways, weighted so
// the local share is that percent, and the usual layout once the window is over. A model transform like
// the drill overlay: in memory only, and it asks for a rebuild every step while a ramp runs.
import { MeshModel, ServiceEntry, serviceHost } from '../mesh/model';
import { isRoutable } from '../mesh/rules';

/** How often a running ramp steps (a rebuild of the views that serve the ramping services). */
export const RAMP_STEP_MS = 1_000;

interface Ramp {
  host: string;
  cluster: string;
  startedAtMs: number;
  windowMs: number;
}

function readyByCluster(entry: ServiceEntry): Map<string, number> {
  const counts = new Map<string, number>();
  for (const endpoint of entry.endpoints)
    if (isRoutable(endpoint)) counts.set(endpoint.cluster, (counts.get(endpoint.cluster) ?? 0) + 1);
  return counts;
}

export class FailbackRamp {
  /** Ready endpoints per service host and cluster in the last model seen (services with a window only). */
  private ready = new Map<string, Map<string, number>>();
  private ramps: Ramp[] = [];
  private lastInput?: MeshModel;
  private memo?: { input: MeshModel; step: number; result: MeshModel };
  private step = 0;
  private timer?: NodeJS.Timeout;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Ramps running now, for /debug and tests. */
  active(): readonly Ramp[] {
    return this.ramps;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The model with the endpoints of every running ramp marked; `model` itself when none runs. */
  apply(model: MeshModel): MeshModel {
    if (model !== this.lastInput) this.observe(model);
    const nowMs = this.now();
    this.ramps = this.ramps.filter((r) => nowMs - r.startedAtMs < r.windowMs);
    if (this.ramps.length === 0) {
      this.close();
      return model;
    }
    if (this.memo?.input === model && this.memo.step === this.step) return this.memo.result;
    const services = new Map(model.services);
    for (const ramp of this.ramps) {
      const entry = services.get(ramp.host);
      if (!entry) continue;
      // At least 1%: a ramp that has started sends the local cluster something.
      const percent = Math.max(1, Math.min(99, Math.floor(((nowMs - ramp.startedAtMs) / ramp.windowMs) * 100)));
      services.set(ramp.host, {
        service: entry.service,
        endpoints: entry.endpoints.map((e) =>
          e.cluster === ramp.cluster && isRoutable(e) ? { ...e, rampPercent: percent } : e,
        ),
      });
    }
    const result: MeshModel = { clusters: model.clusters, services };
    this.memo = { input: model, step: this.step, result };
    return result;
  }

  /** Starts a ramp for every (service, cluster) whose ready endpoints went from none to some. */
  private observe(model: MeshModel): void {
    const first = this.lastInput === undefined;
    this.lastInput = model;
    const next = new Map<string, Map<string, number>>();
    for (const entry of model.services.values()) {
      const windowMs = entry.service.slowStartWindowMs;
      if (windowMs === undefined || !entry.service.exported) continue;
      const host = serviceHost(entry.service);
      const counts = readyByCluster(entry);
      next.set(host, counts);
      if (first) continue;
      const before = this.ready.get(host);
      for (const [cluster, count] of counts) {
        if (count === 0 || (before?.get(cluster) ?? 0) > 0 || before === undefined) continue;
        this.ramps = this.ramps.filter((r) => !(r.host === host && r.cluster === cluster));
        this.ramps.push({ host, cluster, startedAtMs: this.now(), windowMs });
      }
    }
    // A cluster that lost its endpoints again ends its ramp (nothing to ramp).
    this.ramps = this.ramps.filter((r) => (next.get(r.host)?.get(r.cluster) ?? 0) > 0);
    this.ready = next;
    if (this.ramps.length > 0 && !this.timer) {
      this.timer = setInterval(() => {
        this.step++;
        for (const listener of this.listeners) listener();
      }, RAMP_STEP_MS);
      this.timer.unref();
    }
  }
}
