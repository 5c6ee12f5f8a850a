// Kubernetes discovery for every cluster of the clusters file: one ClusterWatch per cluster, each owning
// its store shard `kubernetes/<cluster>`. Clusters are independent: one that is down, misconfigured or
// forbidden keeps its last good shard and never holds back the others.
import type { Logger } from 'pino';
import { MeshStore } from '../../mesh/store';
import { KubeClusterConfig } from './clusters-file';
import { ClusterStats, ClusterWatch, KUBERNETES_SHARD_PREFIX } from './cluster-watch';
import { ReflectorTiming } from './reflector';

export interface KubernetesSourceOptions {
  clusters: readonly KubeClusterConfig[];
  store: MeshStore;
  logger: Logger;
  /** Overrides every cluster's namespaces (e.g. from a command-line flag). */
  namespaces?: string[];
  /** Watch and retry timing (tests shorten it). */
  timing?: Partial<ReflectorTiming>;
  rebuildDelayMs?: number;
  accessRetryMs?: number;
}

export class KubernetesSource {
  private readonly watches: ClusterWatch[];
  private started = false;

  constructor(options: KubernetesSourceOptions) {
    this.watches = options.clusters.map(
      (config) =>
        new ClusterWatch({
          config: options.namespaces ? { ...config, namespaces: options.namespaces } : config,
          store: options.store,
          logger: options.logger,
          ...(options.timing ? { timing: options.timing } : {}),
          ...(options.rebuildDelayMs !== undefined ? { rebuildDelayMs: options.rebuildDelayMs } : {}),
          ...(options.accessRetryMs !== undefined ? { accessRetryMs: options.accessRetryMs } : {}),
        }),
    );
  }

  /** Registers every cluster in the store at once and starts watching; returns without waiting for syncs. */
  start(): void {
    if (this.started) throw new Error('KubernetesSource.start() was already called');
    this.started = true;
    for (const watch of this.watches) watch.start();
  }

  /** Stops watching; the shards stay in the store (a stopping replica keeps serving what it knew). */
  async stop(): Promise<void> {
    await Promise.all(this.watches.map((watch) => watch.stop()));
  }

  /** Per-cluster freshness for /readyz, metrics and the admin page. */
  get stats(): ClusterStats[] {
    return this.watches.map((watch) => watch.stats());
  }

  /** Every cluster has been synced once: this replica knows the whole mesh. */
  allSynced(): boolean {
    return this.watches.every((watch) => watch.stats().synced);
  }

  /**
   * One entry per cluster in the shape of the metrics' source status (`spillway_mesh_reloads`,
   * `spillway_mesh_rejected`, `spillway_source_staleness_seconds`), named like the store shard.
   */
  sourceStatuses(): { name: string; reloads: number; rejected: number; lastGoodAtMs?: number }[] {
    return this.stats.map((stats) => ({
      name: KUBERNETES_SHARD_PREFIX + stats.cluster,
      reloads: stats.updates,
      rejected: stats.rejected,
      ...(stats.lastSyncAtMs !== undefined ? { lastGoodAtMs: stats.lastSyncAtMs } : {}),
    }));
  }

  /** The names of clusters not synced yet, for a /readyz body that says what is missing. */
  unsyncedClusters(): string[] {
    return this.stats.filter((stats) => !stats.synced).map((stats) => stats.cluster);
  }
}
