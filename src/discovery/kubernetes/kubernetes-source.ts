// Kubernetes discovery for every cluster of the clusters file, plus the clusters named by remote
// Secrets (added, restarted and removed at run time): one ClusterWatch per cluster, each owning its store
// shard `kubernetes/<cluster>`. Clusters are independent: one that is down, misconfigured or forbidden
// keeps its last good shard and never holds back the others.
import type { KubeClient } from './kube-client';
import type { Logger } from 'pino';
import { MeshStore } from '../../mesh/store';
import { KubeClusterConfig, RemoteSecretsConfig } from './clusters-file';
import {
  ClusterStats,
  ClusterWatch,
  DEFAULT_ACCESS_RETRY_MS,
  DEFAULT_REBUILD_DELAY_MS,
  KUBERNETES_SHARD_PREFIX,
} from './cluster-watch';
import { ExecLimits, ExecPlugins } from './exec-credential';
import { ReflectorTiming } from './reflector';
import { RemoteSecretsStats, RemoteSecretsWatch } from './remote-secrets-watch';

export interface KubernetesSourceOptions {
  clusters: readonly KubeClusterConfig[];
  /** Where to find remote-cluster Secrets; `cluster` must be one of `clusters`. */
  remoteSecrets?: RemoteSecretsConfig;
  store: MeshStore;
  logger: Logger;
  /** Overrides every cluster's namespaces (e.g. from a command-line flag). */
  namespaces?: string[];
  /** Watch and retry timing (tests shorten it). */
  timing?: Partial<ReflectorTiming>;
  rebuildDelayMs?: number;
  accessRetryMs?: number;
  /** How often file-listed clusters' access settings are read again (rotation); 0: never. */
  accessCheckMs?: number;
  /** Bounds on kubeconfig exec credential plugins. */
  execLimits?: ExecLimits;
}

/** A running watch and the config it was started with (to tell a changed Secret from an unchanged one). */
interface RunningCluster {
  watch: ClusterWatch;
  configText: string;
  remote: boolean;
}

export class KubernetesSource {
  private readonly running = new Map<string, RunningCluster>();
  /** One run and one cached token per kubeconfig user, whichever watches use it. */
  private readonly execPlugins = new ExecPlugins();
  private readonly secrets?: RemoteSecretsWatch;
  private readonly logger: Logger;
  private started = false;
  private stopped = false;
  /** Remote cluster changes run one after another, so a quick add-then-delete cannot interleave. */
  private remoteChanges: Promise<void> = Promise.resolve();

  constructor(private readonly options: KubernetesSourceOptions) {
    this.logger = options.logger;
    for (const config of options.clusters) this.running.set(config.cluster.name, this.newRunning(config, false));
    const remote = options.remoteSecrets;
    if (remote) {
      const home = options.clusters.find((config) => config.cluster.name === remote.cluster);
      if (!home)
        throw new Error(
          `remoteSecrets.cluster "${remote.cluster}" is not a cluster of the clusters file; name the cluster whose API server holds the Secrets`,
        );
      this.secrets = new RemoteSecretsWatch({
        home,
        namespace: remote.namespace,
        fileClusters: new Set(options.clusters.map((config) => config.cluster.name)),
        ...(options.namespaces ? { namespaces: options.namespaces } : {}),
        logger: options.logger,
        ...(options.timing ? { timing: options.timing } : {}),
        rebuildDelayMs: options.rebuildDelayMs ?? DEFAULT_REBUILD_DELAY_MS,
        accessRetryMs: options.accessRetryMs ?? DEFAULT_ACCESS_RETRY_MS,
        ...(options.execLimits ? { execLimits: options.execLimits } : {}),
        execPlugins: this.execPlugins,
        ...(options.accessCheckMs !== undefined ? { accessCheckMs: options.accessCheckMs } : {}),
        onClusters: (wanted) => {
          this.remoteChanges = this.remoteChanges.then(() => this.applyRemoteClusters(wanted));
        },
      });
    }
  }

  /** Registers every file cluster in the store at once and starts watching; returns without waiting for syncs. */
  start(): void {
    if (this.started) throw new Error('KubernetesSource.start() was already called');
    this.started = true;
    for (const { watch } of this.running.values()) watch.start();
    this.secrets?.start();
  }

  /** Stops watching; the shards stay in the store (a stopping replica keeps serving what it knew). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.secrets?.stop();
    await this.remoteChanges;
    await Promise.all([...this.running.values()].map(({ watch }) => watch.stop()));
  }

  /** Per-cluster freshness for /readyz, metrics and the admin page. */
  /** The clusters listed in the clusters file (not those of remote Secrets), with their current API clients. */
  fileClusters(): { name: string; client(): KubeClient | undefined }[] {
    return [...this.running]
      .filter(([, running]) => !running.remote)
      .map(([name, running]) => ({ name, client: () => running.watch.apiClient() }));
  }

  get stats(): ClusterStats[] {
    return [...this.running.values()].map(({ watch }) => watch.stats());
  }

  /** The remote-Secrets watch, when configured. */
  get remoteSecretsStats(): RemoteSecretsStats | undefined {
    return this.secrets?.stats();
  }

  /** Every cluster has been synced once (and the remote Secrets listed): this replica knows the whole mesh. */
  allSynced(): boolean {
    return (this.secrets?.stats().synced ?? true) && this.stats.every((stats) => stats.synced);
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

  private newRunning(config: KubeClusterConfig, remote: boolean, previous?: ClusterWatch): RunningCluster {
    const effective = this.options.namespaces ? { ...config, namespaces: this.options.namespaces } : config;
    const watch = new ClusterWatch({
      config: effective,
      store: this.options.store,
      logger: this.options.logger,
      ...(this.options.timing ? { timing: this.options.timing } : {}),
      ...(this.options.rebuildDelayMs !== undefined ? { rebuildDelayMs: this.options.rebuildDelayMs } : {}),
      ...(this.options.accessRetryMs !== undefined ? { accessRetryMs: this.options.accessRetryMs } : {}),
      ...(this.options.accessCheckMs !== undefined ? { accessCheckMs: this.options.accessCheckMs } : {}),
      ...(this.options.execLimits ? { execLimits: this.options.execLimits } : {}),
      execPlugins: this.execPlugins,
      // A restarted watch keeps serving what the old one knew until it has listed everything itself.
      ...(previous ? { initialShard: previous.shard() } : {}),
    });
    return { watch, configText: JSON.stringify(effective), remote };
  }

  /** Starts new remote clusters, restarts changed ones, and removes (with their shards) the deleted ones. */
  private async applyRemoteClusters(wanted: ReadonlyMap<string, KubeClusterConfig>): Promise<void> {
    if (this.stopped) return;
    for (const [name, running] of [...this.running]) {
      if (!running.remote || wanted.has(name)) continue;
      this.running.delete(name);
      this.logger.info(
        { cluster: name },
        `remote secrets: cluster ${name}: its Secret is gone; stopped watching and removed it from the mesh`,
      );
      await running.watch.remove();
    }
    for (const [name, config] of wanted) {
      const existing = this.running.get(name);
      const next = this.newRunning(config, true, existing?.watch);
      if (existing?.configText === next.configText) continue;
      if (existing) await existing.watch.stop();
      this.running.set(name, next);
      this.logger.info(
        { cluster: name },
        `remote secrets: cluster ${name}: ${existing ? 'its Secret changed; watching again' : 'added; watching'}`,
      );
      if (this.started && !this.stopped) next.watch.start();
    }
  }
}
