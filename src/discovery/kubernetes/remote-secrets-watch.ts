// Watches the remote-cluster Secrets (label `spillway.io/cluster`) in one namespace of the home cluster
// and reports the wanted set of remote clusters after every change. A bad Secret is logged once, with
// what to fix, and left out; the source adds, restarts and removes cluster watches to match.
import type { Logger } from 'pino';
import { AccessResult, ApiServerAccess, accessFingerprint, resolveAccess } from './api-access';
import { DEFAULT_ACCESS_CHECK_MS } from './cluster-watch';
import { KubeClusterConfig } from './clusters-file';
import { ExecLimits, ExecPlugins } from './exec-credential';
import { KubeClient } from './kube-client';
import { KubeSecret, objectKey } from './kube-objects';
import { SECRETS } from './kube-resources';
import { Reflector, ReflectorTiming } from './reflector';
import { REMOTE_CLUSTER_LABEL, readRemoteSecret } from './remote-secret';

export interface RemoteSecretsWatchOptions {
  /** The cluster whose API server holds the Secrets. */
  home: KubeClusterConfig;
  namespace: string;
  /** Clusters of the clusters file: a Secret may not claim one of these names. */
  fileClusters: ReadonlySet<string>;
  /** Namespaces to watch in every remote cluster (undefined: all). */
  namespaces?: string[];
  logger: Logger;
  timing?: Partial<ReflectorTiming>;
  rebuildDelayMs: number;
  accessRetryMs: number;
  /** Bounds on the home kubeconfig's exec credential plugin. */
  execLimits?: ExecLimits;
  /** Shared with the source's other watches: one plugin run and token per kubeconfig user. */
  execPlugins?: ExecPlugins;
  /** How often the home cluster's access settings are read again (rotation); 0: never. */
  accessCheckMs?: number;
  /** The wanted remote clusters by name, after every change. */
  onClusters: (clusters: ReadonlyMap<string, KubeClusterConfig>) => void;
}

export interface RemoteSecretsStats {
  synced: boolean;
  /** Secrets in use, and Secrets ignored (bad or duplicate) now. */
  clusters: number;
  rejected: number;
}

export class RemoteSecretsWatch {
  private reflector?: Reflector<KubeSecret>;
  private client?: KubeClient;
  private timer?: NodeJS.Timeout;
  private stopped = true;
  /** Problem lines now in effect, by Secret: each is logged once. */
  private problems = new Map<string, string>();
  private wanted = 0;
  /** The Secrets were listed once: a reconnect (rotated credentials) does not make the source unready. */
  private listedOnce = false;
  private accessCheckTimer?: NodeJS.Timeout;
  private accessText = '';
  private recheckError?: string;

  constructor(private readonly options: RemoteSecretsWatchOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.accessCheckTimer);
    const stopping = this.reflector?.stop();
    this.client?.close();
    await stopping;
  }

  stats(): RemoteSecretsStats {
    return {
      synced: this.listedOnce || (this.reflector?.state.synced ?? false),
      clusters: this.wanted,
      rejected: this.problems.size,
    };
  }

  private resolve(): AccessResult {
    return resolveAccess(this.options.home.access, {
      ...(this.options.execLimits ? { exec: this.options.execLimits } : {}),
      ...(this.options.execPlugins ? { plugins: this.options.execPlugins } : {}),
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const { home, namespace, logger } = this.options;
    const access = this.resolve();
    if (!access.ok) {
      logger.error(
        `remote secrets: cannot reach cluster ${home.cluster.name} to read Secrets in ${namespace}: ${access.error}; fix its access settings in the clusters file; retrying`,
      );
      this.timer = setTimeout(() => this.connect(), this.options.accessRetryMs);
      this.timer.unref();
      return;
    }
    this.accessText = accessFingerprint(access.access);
    this.startReflector(access.access);
    this.scheduleAccessCheck();
  }

  private startReflector(access: ApiServerAccess): void {
    const { home, namespace, logger } = this.options;
    this.client = new KubeClient(access);
    this.reflector = new Reflector<KubeSecret>({
      client: this.client,
      kind: SECRETS,
      namespace,
      labelSelector: REMOTE_CLUSTER_LABEL,
      cluster: home.cluster.name,
      logger,
      ...(this.options.timing ? { timing: this.options.timing } : {}),
      onChange: () => this.schedule(),
    });
    logger.info(
      `remote secrets: watching Secrets labelled ${REMOTE_CLUSTER_LABEL} in ${home.cluster.name}/${namespace}`,
    );
    this.reflector.start();
  }

  /** The home cluster's kubeconfig rotated: watch the Secrets with the new settings (see ClusterWatch). */
  private scheduleAccessCheck(): void {
    const everyMs = this.options.accessCheckMs ?? DEFAULT_ACCESS_CHECK_MS;
    if (everyMs <= 0) return;
    this.accessCheckTimer = setTimeout(() => void this.checkAccess(), everyMs);
    this.accessCheckTimer.unref();
  }

  private async checkAccess(): Promise<void> {
    if (this.stopped) return;
    const result = this.resolve();
    if (!result.ok) {
      if (this.recheckError !== result.error)
        this.options.logger.warn(
          `remote secrets: reading the access settings of ${this.options.home.cluster.name} again failed: ${result.error}; keeping the current connection`,
        );
      this.recheckError = result.error;
    } else if (accessFingerprint(result.access) !== this.accessText) {
      this.recheckError = undefined;
      this.options.logger.info(
        `remote secrets: the access settings of ${this.options.home.cluster.name} changed; watching the Secrets again`,
      );
      const stopping = this.reflector?.stop();
      this.client?.close();
      await stopping;
      if (this.stopped) return;
      this.accessText = accessFingerprint(result.access);
      this.startReflector(result.access);
    }
    this.scheduleAccessCheck();
  }

  /** Coalesces a burst of Secret events into one reconciliation. */
  private schedule(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reconcile();
    }, this.options.rebuildDelayMs);
    this.timer.unref();
  }

  private reconcile(): void {
    if (this.stopped || !this.reflector?.state.synced) return;
    this.listedOnce = true;
    const wanted = new Map<string, KubeClusterConfig>();
    const problems = new Map<string, string>();
    const secrets = [...this.reflector.items.values()].sort((a, b) => (a.meta.name < b.meta.name ? -1 : 1));
    for (const secret of secrets) {
      const key = objectKey(secret.meta);
      const read = readRemoteSecret(secret, this.options.namespaces);
      if (!read.ok) {
        problems.set(key, read.error);
        continue;
      }
      const name = read.config.cluster.name;
      if (this.options.fileClusters.has(name)) {
        problems.set(
          key,
          `Secret ${key}: cluster ${name} is already in the clusters file; remove it from one of the two (the Secret is ignored)`,
        );
      } else if (wanted.has(name)) {
        problems.set(
          key,
          `Secret ${key}: another Secret (first by name) already defines cluster ${name}; delete one (this one is ignored)`,
        );
      } else {
        wanted.set(name, read.config);
      }
    }
    for (const [key, problem] of problems) {
      if (this.problems.get(key) !== problem) this.options.logger.error({ secret: key }, `remote secrets: ${problem}`);
    }
    this.problems = problems;
    this.wanted = wanted.size;
    this.options.onClusters(wanted);
  }
}
