// Where each cluster's traffic for each service goes, and why: the expected state from the model
// (priorities of the assignment a sidecar there gets) next to the measured state from load reports.
// Transitions are remembered with their time and logged once.
import type { Logger } from 'pino';
import { MeshModel, serviceHost } from '../mesh/model';
import { isVisibleFrom, sortedServices, subsetsOf } from '../mesh/rules';
import { LoadReportStore, LOAD_WINDOW_MS, MeasuredLoad } from '../lrs/load-report-store';
import { sidecarLoadAssignment } from '../xds/translate/endpoint-builder';
import { outboundClusterName } from '../xds/translate/names';

export type FailoverState = 'local' | 'partial' | 'spilled' | 'unavailable';

export interface FailoverTarget {
  cluster: string;
  address: string;
  weight: number;
  kind: 'local' | 'gateway';
}

export interface FailoverEntry {
  clientCluster: string;
  service: string;
  port: number;
  subset: string;
  priorities: { priority: number; targets: FailoverTarget[] }[];
  expected: { state: FailoverState; shares: Record<string, number> };
  measured?: { state: FailoverState; shares: Record<string, number>; requests: number; windowMs: number };
  state: FailoverState;
  sinceMs: number;
}

/** The model's part of an entry, and which Envoy clusters' load counts for it. */
type ExpectedEntry = Pick<FailoverEntry, 'clientCluster' | 'service' | 'port' | 'subset' | 'priorities' | 'expected'> & {
  belongs: readonly string[];
};

/** Below this remote share traffic counts as local; above 1 - this, as spilled. */
export const SPILL_THRESHOLD = 0.05;

function shareState(remoteShare: number): FailoverState {
  if (remoteShare < SPILL_THRESHOLD) return 'local';
  if (remoteShare > 1 - SPILL_THRESHOLD) return 'spilled';
  return 'partial';
}

function normalise(weights: Record<string, number>): Record<string, number> {
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  const shares: Record<string, number> = {};
  for (const [key, value] of Object.entries(weights)) shares[key] = total === 0 ? 0 : value / total;
  return shares;
}

/** Envoy cluster names whose load counts for this entry (subset clusters include their locality tiers). */
function belongsTo(name: string, subset: string): readonly string[] {
  if (!subset) return [name];
  const prefix = name.slice(0, name.lastIndexOf('|'));
  const host = name.slice(name.lastIndexOf('|'));
  return [name, `${prefix}~local${host}`, `${prefix}~remote${host}`];
}

function measuredState(clientCluster: string, load: MeasuredLoad): NonNullable<FailoverEntry['measured']> {
  const shares = normalise(load.byTarget);
  const served = Object.values(load.byTarget).reduce((a, b) => a + b, 0);
  const state: FailoverState = served === 0 ? 'unavailable' : shareState(1 - (shares[clientCluster] ?? 0));
  return { state, shares, requests: load.requests, windowMs: LOAD_WINDOW_MS };
}

export class FailoverTracker {
  private readonly states = new Map<string, { state: FailoverState; sinceMs: number }>();

  constructor(
    private readonly currentModel: () => MeshModel,
    private readonly loads: LoadReportStore,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * What the model says for every (client cluster, service, port, subset): computed once per model (the
   * store hands out a new model object on every change), since it is re-evaluated every second and a
   * thousand-service mesh means thousands of assignments.
   */
  private readonly expectedByModel = new WeakMap<MeshModel, ExpectedEntry[]>();

  private expectedEntries(model: MeshModel): ExpectedEntry[] {
    let expected = this.expectedByModel.get(model);
    if (expected) return expected;
    expected = [];
    for (const client of [...model.clusters.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      for (const entry of sortedServices(model)) {
        if (!isVisibleFrom(entry, client.name)) continue;
        const host = serviceHost(entry.service);
        for (const port of entry.service.ports) {
          for (const subset of ['', ...subsetsOf(entry)]) {
            const name = outboundClusterName(port.port, host, subset);
            const assignment = sidecarLoadAssignment(name, model, client, { entry, port, subset: subset || undefined });
            const byPriority = new Map<number, FailoverTarget[]>();
            for (const locality of assignment.endpoints) {
              const cluster = locality.locality.sub_zone ?? '';
              const targets = byPriority.get(locality.priority) ?? [];
              for (const lb of locality.lb_endpoints) {
                const socket = lb.endpoint.address.socket_address;
                targets.push({ cluster, address: `${socket.address}:${socket.port_value}`, weight: lb.load_balancing_weight?.value ?? 1, kind: cluster === client.name ? 'local' : 'gateway' });
              }
              byPriority.set(locality.priority, targets);
            }
            const priorities = [...byPriority.entries()].sort(([a], [b]) => a - b).map(([priority, targets]) => ({ priority, targets }));
            const first = priorities[0]?.targets ?? [];
            const expectedWeights: Record<string, number> = {};
            for (const target of first) expectedWeights[target.cluster] = (expectedWeights[target.cluster] ?? 0) + target.weight;
            const expectedState: FailoverState = first.length === 0 ? 'unavailable' : first.every((t) => t.kind === 'local') ? 'local' : 'spilled';
            expected.push({
              clientCluster: client.name,
              service: host,
              port: port.port,
              subset,
              priorities,
              expected: { state: expectedState, shares: normalise(expectedWeights) },
              belongs: belongsTo(name, subset),
            });
          }
        }
      }
    }
    this.expectedByModel.set(model, expected);
    return expected;
  }

  /** Computes every entry now, recording (and logging) state transitions. */
  entries(): FailoverEntry[] {
    const entries: FailoverEntry[] = [];
    const seen = new Set<string>();
    for (const { belongs, ...expected } of this.expectedEntries(this.currentModel())) {
      const load = this.loads.measure(expected.clientCluster, belongs);
      const measured = load.requests > 0 ? measuredState(expected.clientCluster, load) : undefined;
      const state = measured?.state ?? expected.expected.state;
      const key = `${expected.clientCluster}|${expected.service}|${expected.port}|${expected.subset}`;
      seen.add(key);
      const sinceMs = this.transition(key, state, { clientCluster: expected.clientCluster, service: expected.service, port: expected.port, subset: expected.subset });
      entries.push({ ...expected, measured, state, sinceMs });
    }
    for (const key of [...this.states.keys()]) if (!seen.has(key)) this.states.delete(key);
    return entries;
  }

  private transition(key: string, state: FailoverState, context: Record<string, unknown>): number {
    const previous = this.states.get(key);
    if (previous && previous.state === state) return previous.sinceMs;
    const sinceMs = this.now();
    this.states.set(key, { state, sinceMs });
    if (previous) this.logger.info({ ...context, from: previous.state, to: state }, 'failover state changed');
    return sinceMs;
  }
}
