// Watches one Kubernetes cluster (Services, EndpointSlices, ServiceExports, Pod labels) and keeps its
// shard of the mesh store, `kubernetes/<cluster>`, equal to what the cluster says. Nothing is published
// until every resource has been listed once (a half-listed cluster would look like lost endpoints);
// after that every change is published, and failures leave the last good shard in place.
import type { Logger } from 'pino';
import { MeshModel } from '../../mesh/model';
import { MeshStore } from '../../mesh/store';
import { AccessResult, ApiServerAccess, accessFingerprint, resolveAccess } from './api-access';
import { ExecLimits, ExecPlugins } from './exec-credential';
import { KubeClusterConfig } from './clusters-file';
import { KubeClient } from './kube-client';
import { KubeEndpointSlice, KubeNodeLabels, KubePodLabels, KubeService, KubeServiceExport } from './kube-objects';
import { ENDPOINT_SLICES, NODE_LABELS, POD_LABELS, ResourceKind, SERVICES, SERVICE_EXPORTS } from './kube-resources';
import { ProblemLog } from './problem-log';
import { Reflector, ReflectorTiming } from './reflector';
import { ServiceSettings } from './service-annotations';
import { IncrementalShardMapper } from './shard-mapper';

export const KUBERNETES_SHARD_PREFIX = 'kubernetes/';
/** Coalesces a burst of watch events (a rollout touches many objects) into one mapping. */
export const DEFAULT_REBUILD_DELAY_MS = 50;
/** How often to try again to load a kubeconfig (or token/CA files) that could not be read. */
export const DEFAULT_ACCESS_RETRY_MS = 10_000;
/** How often a cluster's kubeconfig (and the files it names) is read again to notice a rotation. */
export const DEFAULT_ACCESS_CHECK_MS = 5_000;
/** The Node label that places an endpoint whose EndpointSlice entry names no zone. */
export const NODE_ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface ClusterWatchOptions {
  config: KubeClusterConfig;
  store: MeshStore;
  logger: Logger;
  timing?: Partial<ReflectorTiming>;
  rebuildDelayMs?: number;
  accessRetryMs?: number;
  /** How often to read the access settings' files again (0: never); a change reconnects. */
  accessCheckMs?: number;
  /** Bounds on a kubeconfig's exec credential plugin. */
  execLimits?: ExecLimits;
  /** Shared with the source's other watches: one plugin run and token per kubeconfig user. */
  execPlugins?: ExecPlugins;
  /** The shard to keep serving until this watch has synced (a restarted watch of the same cluster). */
  initialShard?: MeshModel;
}

export interface ClusterErrorInfo {
  /** Which resource failed, e.g. `endpointslices.discovery.k8s.io`, or `access` for the kubeconfig. */
  resource: string;
  problem: string;
  message: string;
  hint: string;
  atMs: number;
}

export interface ClusterStats {
  cluster: string;
  /** Every resource was listed at least once and the shard was published: ready to serve this cluster. */
  synced: boolean;
  /** Every watch is open now. */
  connected: boolean;
  /** When the shard was last confirmed current (now, while connected). */
  lastSyncAtMs?: number;
  /** Synced once but not connected now: the last known shard is still served. */
  stale: boolean;
  /** Since when the served shard is unconfirmed (set while stale). */
  staleSinceMs?: number;
  /** Failed requests since start. */
  errors: number;
  lastError?: ClusterErrorInfo;
  services: number;
  endpoints: number;
  /** Whether the API server serves MCS ServiceExports; `absent`: export by annotation only. */
  serviceExports: 'served' | 'absent' | 'unknown';
  /** Objects with wrong annotations in the last mapping. */
  issues: number;
  /** Shard updates given to the store since start. */
  updates: number;
  /** Malformed objects and wrong annotations seen since start (each kept at its last good state). */
  rejected: number;
}

export class ClusterWatch {
  readonly shardId: string;
  private readonly name: string;
  private readonly logger: Logger;
  private client?: KubeClient;
  private services: Reflector<KubeService>[] = [];
  private slices: Reflector<KubeEndpointSlice>[] = [];
  private exports: Reflector<KubeServiceExport>[] = [];
  private pods: Reflector<KubePodLabels>[] = [];
  private nodes: Reflector<KubeNodeLabels>[] = [];
  private rebuildTimer?: NodeJS.Timeout;
  private accessTimer?: NodeJS.Timeout;
  private accessCheckTimer?: NodeJS.Timeout;
  /** What the running client was built from, to notice a rotated kubeconfig, token, CA or certificate. */
  private accessFingerprint = '';
  /** The last error of reading the settings again, logged once. */
  private recheckError?: string;
  private accessError?: ClusterErrorInfo;
  private accessFailures = 0;
  private readonly problems = new ProblemLog();
  private stopped = true;
  private published = false;
  /** Re-maps only the Services whose objects changed since the last rebuild. */
  private readonly mapper = new IncrementalShardMapper();
  /** Changes of the Pod copies: while equal, the mapper need not look at 50,000 Pods' labels again. */
  private podChanges = 0;
  private current: MeshModel;
  private lastGood = new Map<string, ServiceSettings>();
  /** Issue lines already logged: each wrong annotation is logged once, not at every mapping. */
  private loggedIssues = new Set<string>();
  private updates = 0;
  /** Distinct wrong-annotation lines seen since start. */
  private rejectedIssues = 0;

  constructor(private readonly options: ClusterWatchOptions) {
    this.name = options.config.cluster.name;
    this.shardId = KUBERNETES_SHARD_PREFIX + this.name;
    this.logger = options.logger.child({ cluster: this.name });
    this.current = options.initialShard ?? {
      clusters: new Map([[this.name, options.config.cluster]]),
      services: new Map(),
    };
  }

  /** Makes the cluster known at once (no services yet), then connects. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.options.store.setShard(this.shardId, this.current);
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.rebuildTimer);
    clearTimeout(this.accessTimer);
    clearTimeout(this.accessCheckTimer);
    const stopped = this.allReflectors().map((reflector) => reflector.stop());
    this.client?.close(); // aborts requests in flight, so stopping never waits for a slow list
    await Promise.all(stopped);
  }

  /** Stops watching and takes the cluster out of the store (its remote Secret was deleted). */
  async remove(): Promise<void> {
    await this.stop();
    this.options.store.removeShard(this.shardId);
  }

  stats(): ClusterStats {
    const reflectors = this.allReflectors();
    const watched = reflectors.filter((reflector) => !reflector.state.absent);
    const connected = watched.length > 0 && watched.every((reflector) => reflector.state.connected);
    const confirmations = watched.map((reflector) => reflector.state.lastSyncAtMs);
    const oldest = confirmations.includes(undefined) ? undefined : Math.min(...(confirmations as number[]));
    let endpoints = 0;
    for (const entry of this.current.services.values()) endpoints += entry.endpoints.length;
    const exportStates = this.exports.map((reflector) => reflector.state);
    const lastError = this.lastError();
    const stale = this.published && !connected;
    return {
      cluster: this.name,
      synced: this.published,
      connected,
      ...(connected
        ? { lastSyncAtMs: Date.now() }
        : oldest !== undefined && this.published
          ? { lastSyncAtMs: oldest }
          : {}),
      stale,
      ...(stale && oldest !== undefined ? { staleSinceMs: oldest } : {}),
      errors: reflectors.reduce((sum, reflector) => sum + reflector.state.errors, this.accessFailures),
      ...(lastError ? { lastError } : {}),
      services: this.current.services.size,
      endpoints,
      serviceExports:
        exportStates.length > 0 && exportStates.every((state) => state.synced)
          ? exportStates.some((state) => state.absent)
            ? 'absent'
            : 'served'
          : 'unknown',
      issues: this.loggedIssues.size,
      updates: this.updates,
      rejected: this.rejectedIssues + reflectors.reduce((sum, reflector) => sum + reflector.state.malformed, 0),
    };
  }

  /** The cluster's current shard (what was last given to the store). */
  shard(): MeshModel {
    return this.current;
  }

  private resolve(): AccessResult {
    return resolveAccess(this.options.config.access, {
      ...(this.options.execLimits ? { exec: this.options.execLimits } : {}),
      ...(this.options.execPlugins ? { plugins: this.options.execPlugins } : {}),
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const result = this.resolve();
    if (!result.ok) {
      this.accessFailures++;
      const hint = `fix the access settings of cluster ${this.name} in the clusters file; retrying every ${(this.options.accessRetryMs ?? DEFAULT_ACCESS_RETRY_MS) / 1000}s`;
      if (this.accessError?.message !== result.error)
        this.logger.error({ hint }, `cluster ${this.name}: ${result.error}; ${hint}`);
      this.accessError = { resource: 'access', problem: 'config', message: result.error, hint, atMs: Date.now() };
      this.accessTimer = setTimeout(() => this.connect(), this.options.accessRetryMs ?? DEFAULT_ACCESS_RETRY_MS);
      this.accessTimer.unref();
      return;
    }
    this.accessError = undefined;
    this.accessFingerprint = accessFingerprint(result.access);
    this.startReflectors(result.access);
    this.scheduleAccessCheck();
  }

  /**
   * A file-listed cluster's kubeconfig (or CA, certificate, key) is read again now and then: a rotated
   * credential or a moved API server takes effect without a restart. The last shard is served until the
   * new connection has listed everything. A file that does not read (half written) keeps the old client.
   */
  private scheduleAccessCheck(): void {
    const everyMs = this.options.accessCheckMs ?? DEFAULT_ACCESS_CHECK_MS;
    if (everyMs <= 0 || this.options.config.access.kind === 'kubeconfig-text') return; // a Secret's change restarts the watch
    this.accessCheckTimer = setTimeout(() => void this.checkAccess(), everyMs);
    this.accessCheckTimer.unref();
  }

  private async checkAccess(): Promise<void> {
    if (this.stopped) return;
    const result = this.resolve();
    if (!result.ok) {
      if (this.recheckError !== result.error)
        this.logger.warn(
          `cluster ${this.name}: reading its access settings again failed: ${result.error}; keeping the current connection`,
        );
      this.recheckError = result.error;
    } else if (accessFingerprint(result.access) !== this.accessFingerprint) {
      this.recheckError = undefined;
      this.logger.info(
        { origin: result.access.origin },
        `cluster ${this.name}: its access settings changed (${result.access.origin}); connecting again, serving the last state meanwhile`,
      );
      await this.stopReflectors();
      if (this.stopped) return;
      this.accessFingerprint = accessFingerprint(result.access);
      this.startReflectors(result.access);
    }
    this.scheduleAccessCheck();
  }

  private async stopReflectors(): Promise<void> {
    const reflectors = this.allReflectors();
    this.services = [];
    this.slices = [];
    this.exports = [];
    this.pods = [];
    this.nodes = [];
    const stopped = reflectors.map((reflector) => reflector.stop());
    this.client?.close();
    await Promise.all(stopped);
  }

  /** The API client of the running watch (it changes when the cluster's access settings rotate). */
  apiClient(): KubeClient | undefined {
    return this.stopped ? undefined : this.client;
  }

  private startReflectors(access: ApiServerAccess): void {
    this.client = new KubeClient(access);
    this.logger.info(
      { server: access.server, origin: access.origin, namespaces: this.options.config.namespaces ?? 'all' },
      `cluster ${this.name}: watching ${access.server}`,
    );
    this.services = this.reflectorsFor(SERVICES);
    this.slices = this.reflectorsFor(ENDPOINT_SLICES);
    this.exports = this.reflectorsFor(SERVICE_EXPORTS);
    this.pods = this.reflectorsFor(POD_LABELS);
    this.nodes = [this.reflector(NODE_LABELS, undefined)];
    for (const reflector of this.allReflectors()) reflector.start();
  }

  /** One reflector per watched namespace, or one for all namespaces. */
  private reflectorsFor<T>(kind: ResourceKind<T>): Reflector<T>[] {
    const namespaces: (string | undefined)[] = this.options.config.namespaces ?? [undefined];
    return namespaces.map((namespace) => this.reflector(kind, namespace));
  }

  private reflector<T>(kind: ResourceKind<T>, namespace: string | undefined): Reflector<T> {
    return new Reflector<T>({
      client: this.client as KubeClient,
      kind,
      ...(namespace !== undefined ? { namespace } : {}),
      cluster: this.name,
      logger: this.logger,
      ...(this.options.timing ? { timing: this.options.timing } : {}),
      onChange: () => {
        if (kind === POD_LABELS) this.podChanges++;
        this.scheduleRebuild();
      },
      problems: this.problems,
    });
  }

  private allReflectors(): Reflector<unknown>[] {
    return [...this.services, ...this.slices, ...this.exports, ...this.pods, ...this.nodes] as Reflector<unknown>[];
  }

  private scheduleRebuild(): void {
    if (this.rebuildTimer !== undefined || this.stopped) return;
    this.rebuildTimer = setTimeout(() => {
      this.rebuildTimer = undefined;
      this.rebuild();
    }, this.options.rebuildDelayMs ?? DEFAULT_REBUILD_DELAY_MS);
    this.rebuildTimer.unref();
  }

  private rebuild(): void {
    if (this.stopped || !this.allReflectors().every((reflector) => reflector.state.synced)) return;
    const mapped = this.mapper.map(
      this.options.config.cluster,
      {
        services: this.values(this.services),
        slices: this.values(this.slices),
        exports: new Set(
          this.values(this.exports).map(
            (serviceExport) => `${serviceExport.meta.namespace}/${serviceExport.meta.name}`,
          ),
        ),
        podLabels: this.podLabels,
        podsVersion: this.podChanges,
        nodeZones: this.nodeZones(),
      },
      this.lastGood,
    );
    this.lastGood = mapped.settings;
    this.logIssues(mapped.issues);
    if (this.published && !mapped.changed) return; // pod churn that changes nothing routable
    this.current = mapped.model;
    this.options.store.setShard(this.shardId, mapped.model);
    this.updates++;
    this.logger.debug(
      { services: mapped.model.services.size, remapped: this.mapper.remapped },
      `cluster ${this.name}: shard updated`,
    );
    if (!this.published) {
      this.published = true;
      const services = [...mapped.model.services.values()];
      this.logger.info(
        {
          services: services.length,
          exported: services.filter((entry) => entry.service.exported).length,
          endpoints: services.reduce((sum, entry) => sum + entry.endpoints.length, 0),
        },
        `cluster ${this.name}: synced`,
      );
    }
  }

  /** Reads the Pod reflectors in place (they key Pods by `namespace/name`): no copy of 50,000 Pods per rebuild. */
  private readonly podLabels = {
    get: (key: string): Readonly<Record<string, string>> | undefined => {
      for (const reflector of this.pods) {
        const pod = reflector.items.get(key);
        if (pod) return pod.meta.labels;
      }
      return undefined;
    },
  };

  private nodeZones(): Map<string, string> {
    const zones = new Map<string, string>();
    for (const node of this.values(this.nodes)) {
      const zone = node.meta.labels[NODE_ZONE_LABEL];
      if (zone) zones.set(node.meta.name, zone);
    }
    return zones;
  }

  private values<T>(reflectors: readonly Reflector<T>[]): T[] {
    return reflectors.flatMap((reflector) => [...reflector.items.values()]);
  }

  private logIssues(issues: readonly { object: string; message: string }[]): void {
    const now = new Set(issues.map((issue) => `${issue.object}: ${issue.message}`));
    for (const line of now) {
      if (this.loggedIssues.has(line)) continue;
      this.rejectedIssues++;
      this.logger.warn({ hint: 'fix the annotation on the Service' }, `cluster ${this.name}: Service ${line}`);
    }
    this.loggedIssues = now;
  }

  private lastError(): ClusterErrorInfo | undefined {
    let latest: ClusterErrorInfo | undefined = this.accessError;
    for (const reflector of this.allReflectors()) {
      const error = reflector.state.lastError;
      if (error && (!latest || error.atMs > latest.atMs)) latest = { resource: reflector.resource, ...error };
    }
    return latest;
  }
}
