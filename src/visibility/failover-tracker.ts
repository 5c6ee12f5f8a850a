// Where each cluster's traffic for each service goes, and why: the expected state from the model
// (priorities of the assignment a sidecar there gets) next to the measured state from load reports.
// Transitions are remembered with their time and logged once. States are decided on the newest
// reports (LoadReportStore.measureRecent: the last 1-3 s), so they follow traffic within seconds; shares are shown over the
// longer LOAD_WINDOW_MS. A subset that has no endpoint at all in the client's cluster is "remote" by
// design (a canary only east runs, seen from west), not a failover.
import type { Logger } from 'pino';
import { MeshCluster, MeshModel, ServiceEntry, serviceHost } from '../mesh/model';
import { isVisibleFrom, sortedServices, subsetsOf } from '../mesh/rules';
import { LoadReportStore, LOAD_WINDOW_MS, MeasuredLoad } from '../lrs/load-report-store';
import { sidecarLoadAssignment } from '../xds/translate/endpoint-builder';
import { outboundClusterName } from '../xds/translate/names';
import { ServiceParts, clustersKeyOf } from '../xds/translate/service-parts';
import { Steps, TimeSlicer } from '../xds/steps';

/** `remote`: the subset has no endpoint in the client's cluster at all, so remote is where it lives. */
export type FailoverState = 'local' | 'partial' | 'spilled' | 'unavailable' | 'remote';

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
  /**
   * `shares` and `requests` over `windowMs` (10 s); `state` from the last `recent.windowMs` when requests
   * were reported in it (else from the 10 s window: traffic stopped, the last state stands).
   */
  measured?: {
    state: FailoverState;
    shares: Record<string, number>;
    requests: number;
    windowMs: number;
    recent?: { shares: Record<string, number>; requests: number; windowMs: number };
  };
  state: FailoverState;
  sinceMs: number;
}

/** The model's part of an entry, and which Envoy clusters' load counts for it. */
type ExpectedEntry = Pick<
  FailoverEntry,
  'clientCluster' | 'service' | 'port' | 'subset' | 'priorities' | 'expected'
> & {
  belongs: readonly string[];
  /** client cluster|service|port|subset: the key of its state. */
  key: string;
  /** No endpoint of this subset, ready or not, runs in the client's cluster. */
  remoteByDesign: boolean;
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
export function belongsTo(name: string, subset: string): readonly string[] {
  if (!subset) return [name];
  const prefix = name.slice(0, name.lastIndexOf('|'));
  const host = name.slice(name.lastIndexOf('|'));
  return [name, `${prefix}~local${host}`, `${prefix}~remote${host}`];
}

function stateOf(clientCluster: string, load: MeasuredLoad, remoteByDesign: boolean): FailoverState {
  const served = Object.values(load.byTarget).reduce((a, b) => a + b, 0);
  if (served === 0) return 'unavailable';
  const state = shareState(1 - (load.byTarget[clientCluster] ?? 0) / served);
  return remoteByDesign && state === 'spilled' ? 'remote' : state;
}

/** Shares over the long window; the state from the recent one when it has requests. */
function measuredState(
  clientCluster: string,
  load: MeasuredLoad,
  recent: MeasuredLoad & { windowMs: number },
  remoteByDesign: boolean,
): NonNullable<FailoverEntry['measured']> {
  const decidedOn = recent.requests > 0 ? recent : load;
  return {
    state: stateOf(clientCluster, decidedOn, remoteByDesign),
    shares: normalise(load.byTarget),
    requests: load.requests,
    windowMs: LOAD_WINDOW_MS,
    recent: { shares: normalise(recent.byTarget), requests: recent.requests, windowMs: recent.windowMs },
  };
}

/** The entries of one service for one client cluster. */
function expectedForService(model: MeshModel, client: MeshCluster, entry: ServiceEntry): ExpectedEntry[] {
  const expected: ExpectedEntry[] = [];
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
          targets.push({
            cluster,
            address: `${socket.address}:${socket.port_value}`,
            weight: lb.load_balancing_weight?.value ?? 1,
            kind: cluster === client.name ? 'local' : 'gateway',
          });
        }
        byPriority.set(locality.priority, targets);
      }
      const priorities = [...byPriority.entries()]
        .sort(([a], [b]) => a - b)
        .map(([priority, targets]) => ({ priority, targets }));
      const first = priorities[0]?.targets ?? [];
      const expectedWeights: Record<string, number> = {};
      for (const target of first)
        expectedWeights[target.cluster] = (expectedWeights[target.cluster] ?? 0) + target.weight;
      const remoteByDesign = !entry.endpoints.some(
        (e) => e.cluster === client.name && (!subset || e.labels[entry.service.subsetLabel] === subset),
      );
      const someLocal = first.some((t) => t.kind === 'local');
      // Local and remote in one priority: a cluster taking its traffic back over a ramp (failback-ramp.ts).
      const expectedState: FailoverState =
        first.length === 0
          ? 'unavailable'
          : first.every((t) => t.kind === 'local')
            ? 'local'
            : someLocal
              ? 'partial'
              : remoteByDesign
                ? 'remote'
                : 'spilled';
      expected.push({
        clientCluster: client.name,
        service: host,
        port: port.port,
        subset,
        priorities,
        expected: { state: expectedState, shares: normalise(expectedWeights) },
        belongs: belongsTo(name, subset),
        key: `${client.name}|${host}|${port.port}|${subset}`,
        remoteByDesign,
      });
    }
  }
  return expected;
}

/** Entries by `client cluster|Envoy cluster` of every Envoy cluster whose load counts for them. */
function indexByLoadKey(entries: readonly ExpectedEntry[]): Map<string, ExpectedEntry[]> {
  const index = new Map<string, ExpectedEntry[]>();
  for (const entry of entries) {
    for (const envoyCluster of entry.belongs) {
      const key = `${entry.clientCluster}|${envoyCluster}`;
      const list = index.get(key);
      if (list) list.push(entry);
      else index.set(key, [entry]);
    }
  }
  return index;
}

/** How long the background computation of a new model's entries may hold the event loop at a time. */
const EXPECTED_SLICE_MS = 20;

export class FailoverTracker {
  private readonly states = new Map<string, { state: FailoverState; sinceMs: number }>();
  /** Entries per (client cluster, service content): a change recomputes only the services it touched. */
  private readonly parts = new ServiceParts();
  /** The newest model whose entries are complete, and those entries. */
  private latest?: { model: MeshModel; entries: readonly ExpectedEntry[] };
  private computing?: MeshModel;
  private computations = 0;
  /** The entries the timer last went through in full, indexed by the load keys that feed them. */
  private evaluated?: { entries: readonly ExpectedEntry[]; byLoadKey: Map<string, ExpectedEntry[]> };
  /** Entries whose last state came from load reports. */
  private readonly measuredEntries = new Set<ExpectedEntry>();
  private newestApplied = 0;

  constructor(
    private readonly currentModel: () => MeshModel,
    private readonly loads: LoadReportStore,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** What the model says for every (client cluster, service, port, subset), as steps (one per service). */
  private *expectedSteps(model: MeshModel): Steps<ExpectedEntry[]> {
    const expected: ExpectedEntry[] = [];
    const clusters = clustersKeyOf(model);
    for (const client of [...model.clusters.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const scope = `${client.name}|${clusters}`;
      for (const entry of sortedServices(model)) {
        if (!isVisibleFrom(entry, client.name)) continue;
        expected.push(
          ...(this.parts.part(scope, entry, () => ({ resources: [], value: expectedForService(model, client, entry) }))
            .value ?? []),
        );
        yield;
      }
    }
    this.parts.endPass();
    return expected;
  }

  /**
   * The entries of the current model. A newer model's entries are computed a slice at a time (a small
   * mesh within the first slice, so at once), and the previous model's are used meanwhile: a mesh of tens
   * of thousands of services must not stall the event loop every time it changes.
   */
  private expectedEntries(): readonly ExpectedEntry[] {
    const model = this.currentModel();
    if (this.latest?.model !== model && this.computing !== model) {
      this.computing = model;
      const started = ++this.computations;
      const finished = (entries: readonly ExpectedEntry[]) => {
        if (this.computing === model) this.computing = undefined;
        // An older computation that finishes after a newer one must not replace its result.
        if (started < this.newestApplied) return;
        this.newestApplied = started;
        this.latest = { model, entries };
      };
      // A small mesh is done at once; a big one goes on in the background (no entries until the first is done).
      const now = new TimeSlicer(EXPECTED_SLICE_MS).startNow(this.expectedSteps(model), finished);
      if (now.done) finished(now.value);
    }
    return this.latest?.entries ?? [];
  }

  /**
   * Records (and logs) state transitions; the timer's pass, cheap on a big mesh: every entry only when the
   * model's entries changed; otherwise only entries with load reports now, or with a measured state
   * before (whose reports may have expired): the rest keep the state the model gives them.
   */
  evaluate(): void {
    const entries = this.expectedEntries();
    if (this.evaluated?.entries !== entries) {
      this.evaluated = { entries, byLoadKey: indexByLoadKey(entries) };
      this.measuredEntries.clear(); // they belong to the previous entries
      const seen = new Set<string>();
      for (const expected of entries) {
        seen.add(expected.key);
        this.evaluateOne(expected);
      }
      for (const key of [...this.states.keys()]) if (!seen.has(key)) this.states.delete(key);
      return;
    }
    const due = new Set<ExpectedEntry>(this.measuredEntries);
    const byLoadKey = this.evaluated.byLoadKey;
    this.loads.forEachLoaded((clientCluster, envoyCluster) => {
      for (const expected of byLoadKey.get(`${clientCluster}|${envoyCluster}`) ?? []) due.add(expected);
    });
    for (const expected of due) this.evaluateOne(expected);
  }

  private evaluateOne(expected: ExpectedEntry): void {
    const measured = this.loads.hasLoad(expected.clientCluster, expected.belongs) ? this.measured(expected) : undefined;
    if (measured) this.measuredEntries.add(expected);
    else this.measuredEntries.delete(expected);
    this.transition(expected.key, measured?.state ?? expected.expected.state, expected);
  }

  /** Computes every entry now, recording (and logging) state transitions. */
  entries(): FailoverEntry[] {
    const entries: FailoverEntry[] = [];
    const seen = new Set<string>();
    for (const { belongs, key, remoteByDesign, ...expected } of this.expectedEntries()) {
      const measured = this.loads.hasLoad(expected.clientCluster, belongs)
        ? this.measured({ ...expected, belongs, remoteByDesign })
        : undefined;
      const state = measured?.state ?? expected.expected.state;
      seen.add(key);
      const sinceMs = this.transition(key, state, expected);
      entries.push({ ...expected, measured, state, sinceMs });
    }
    for (const key of [...this.states.keys()]) if (!seen.has(key)) this.states.delete(key);
    return entries;
  }

  private measured(
    expected: Pick<ExpectedEntry, 'clientCluster' | 'belongs' | 'remoteByDesign'>,
  ): FailoverEntry['measured'] {
    const load = this.loads.measure(expected.clientCluster, expected.belongs);
    if (load.requests === 0) return undefined;
    const recent = this.loads.measureRecent(expected.clientCluster, expected.belongs);
    return measuredState(expected.clientCluster, load, recent, expected.remoteByDesign);
  }

  private transition(
    key: string,
    state: FailoverState,
    context: Pick<ExpectedEntry, 'clientCluster' | 'service' | 'port' | 'subset'>,
  ): number {
    const previous = this.states.get(key);
    if (previous?.state === state) return previous.sinceMs;
    const sinceMs = this.now();
    this.states.set(key, { state, sinceMs });
    if (previous) {
      const { clientCluster, service, port, subset } = context;
      this.logger.info(
        { clientCluster, service, port, subset, from: previous.state, to: state },
        'failover state changed',
      );
    }
    return sinceMs;
  }
}
