// The read-only view of xDS clients that load reporting gets (src/lrs/reporting-clients.ts), built from
// the xDS client registry and the snapshot cache. Data flows one way: LRS asks, nothing here changes.
import type { MeshModel } from '../mesh/model';
import type { ReportingClients, SentClusters } from '../lrs/reporting-clients';
import type { ClientRegistry } from '../xds/server/client-registry';
import type { Snapshot } from '../xds/cache/snapshot';
import type { ViewKey } from '../xds/cache/snapshot-cache';
import { CLUSTER_TYPE } from '../xds/resource-types';

/** A stream that just closed may still count for this long; a new one is seen at once (below). */
const INDEX_MAX_AGE_MS = 1_000;
/** A node not in the index triggers a rebuild at most this often (a flood of unknown nodes stays cheap). */
const MISS_REBUILD_MS = 100;

export interface XdsReportingClientsOptions {
  registry: Pick<ClientRegistry, 'list' | 'totals'>;
  snapshot: (view: ViewKey) => Snapshot | undefined;
  model: () => MeshModel;
  now?: () => number;
}

export class XdsReportingClients implements ReportingClients {
  /** node id -> (mesh cluster, view) of each of its live xDS streams. */
  private index = new Map<string, { clusterId: string; view: ViewKey }[]>();
  private builtAtMs = Number.NEGATIVE_INFINITY;
  private builtAtStreams = -1;
  private readonly now: () => number;

  constructor(private readonly options: XdsReportingClientsOptions) {
    this.now = options.now ?? Date.now;
  }

  isMeshCluster(name: string): boolean {
    return this.options.model().clusters.has(name);
  }

  sentClusters(nodeId: string, clusterId: string): SentClusters | undefined {
    const snapshots: Snapshot[] = [];
    for (const stream of this.streamsOf(nodeId)) {
      if (stream.clusterId !== clusterId) continue;
      const snapshot = this.options.snapshot(stream.view);
      if (snapshot) snapshots.push(snapshot);
    }
    if (snapshots.length === 0) return undefined;
    return {
      has: (envoyCluster) => snapshots.some((snapshot) => snapshot.get(CLUSTER_TYPE, envoyCluster) !== undefined),
    };
  }

  private streamsOf(nodeId: string): readonly { clusterId: string; view: ViewKey }[] {
    const age = this.now() - this.builtAtMs;
    let streams = this.index.get(nodeId);
    const newStreams = this.options.registry.totals.streamsOpened !== this.builtAtStreams;
    if (age >= INDEX_MAX_AGE_MS || (!streams && newStreams && age >= MISS_REBUILD_MS)) {
      this.rebuild();
      streams = this.index.get(nodeId);
    }
    return streams ?? [];
  }

  private rebuild(): void {
    const index = new Map<string, { clusterId: string; view: ViewKey }[]>();
    for (const client of this.options.registry.list()) {
      const streams = index.get(client.nodeId) ?? [];
      streams.push({ clusterId: client.clusterId, view: client.view });
      index.set(client.nodeId, streams);
    }
    this.index = index;
    this.builtAtMs = this.now();
    this.builtAtStreams = this.options.registry.totals.streamsOpened;
  }
}
