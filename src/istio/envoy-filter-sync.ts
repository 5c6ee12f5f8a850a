// `serve --istio-apply`: keeps the mesh's EnvoyFilters (envoy-filters.ts) applied in every cluster of the
// clusters file, through the same API access the Kubernetes source watches with. Spillway owns the objects
// labelled app.kubernetes.io/managed-by=spillway in the Istio namespace: it creates the missing ones, puts
// back the ones that differ (edited by hand, or an older mesh), and deletes the ones whose service is gone.
// It runs after every mesh change and every `resyncMs`, one pass at a time; a failing cluster is retried on
// the next pass and says what to do in the log and in status().
import type { Logger } from 'pino';
import { KubeApiError } from '../discovery/kubernetes/api-errors';
import type { KubeClient } from '../discovery/kubernetes/kube-client';
import { MeshModel } from '../mesh/model';
import {
  ENVOY_FILTER_API_VERSION,
  EnvoyFilterResource,
  IstioExtensionOptions,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  istioEnvoyFilters,
} from './envoy-filters';

export const DEFAULT_ISTIO_RESYNC_MS = 30_000;
export const MIN_ISTIO_RESYNC_MS = 500;
/** More than this many owned objects in one list is not ours to trust: the pass stops and says so. */
export const MAX_OWNED_FILTERS = 10_000;

export interface FilterTarget {
  /** The mesh cluster's name. */
  name: string;
  /** Its API client, once the Kubernetes source has one. */
  client(): KubeClient | undefined;
}

export interface EnvoyFilterSyncOptions extends IstioExtensionOptions {
  targets: () => FilterTarget[];
  logger: Logger;
  resyncMs?: number;
}

export interface ClusterSyncStatus {
  cluster: string;
  /** EnvoyFilters owned there after the last pass. */
  applied: number;
  created: number;
  updated: number;
  deleted: number;
  lastSyncMs?: number;
  error?: string;
}

interface OwnedFilter {
  name: string;
  resourceVersion: string;
  spec: unknown;
  annotations: Record<string, unknown>;
}

/** JSON with sorted keys: the API server may return an object's keys in another order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function collectionPath(namespace: string): string {
  return `/apis/${ENVOY_FILTER_API_VERSION}/namespaces/${encodeURIComponent(namespace)}/envoyfilters`;
}

function ownedFilters(list: unknown): OwnedFilter[] {
  const items = (list as { items?: unknown }).items;
  if (!Array.isArray(items)) throw new KubeApiError('bad-response', 'the EnvoyFilter list has no items');
  if (items.length > MAX_OWNED_FILTERS)
    throw new KubeApiError(
      'bad-response',
      `more than ${MAX_OWNED_FILTERS} EnvoyFilters labelled ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    );
  return items.map((item) => {
    const object = item as {
      metadata?: { name?: unknown; resourceVersion?: unknown; annotations?: unknown };
      spec?: unknown;
    };
    return {
      name: typeof object.metadata?.name === 'string' ? object.metadata.name : '',
      resourceVersion: typeof object.metadata?.resourceVersion === 'string' ? object.metadata.resourceVersion : '',
      spec: object.spec,
      annotations: (object.metadata?.annotations ?? {}) as Record<string, unknown>,
    };
  });
}

/** What to do for an error, in operator words. */
function advice(error: unknown, namespace: string): string {
  if (error instanceof KubeApiError) {
    if (error.status === 404)
      return `${error.message}: is Istio installed (the EnvoyFilter CRD, namespace ${namespace})?`;
    if (error.status === 403)
      return `${error.message}: grant Spillway's identity get, list, create, update and delete on envoyfilters.networking.istio.io in namespace ${namespace} (docs/ISTIO.md)`;
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export class EnvoyFilterSync {
  private model?: MeshModel;
  private running?: Promise<void>;
  private again = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly statuses = new Map<string, ClusterSyncStatus>();

  constructor(private readonly options: EnvoyFilterSyncOptions) {}

  start(model: MeshModel): void {
    this.model = model;
    this.schedule();
    this.timer = setInterval(() => this.schedule(), this.options.resyncMs ?? DEFAULT_ISTIO_RESYNC_MS);
    this.timer.unref();
  }

  /** A new mesh: its filters are applied on the next pass (right away, or after the running one). */
  update(model: MeshModel): void {
    this.model = model;
    this.schedule();
  }

  status(): ClusterSyncStatus[] {
    return [...this.statuses.values()].map((s) => ({ ...s }));
  }

  /** Resolves once no pass runs or is queued (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    });
  }

  private async pass(): Promise<void> {
    const model = this.model;
    if (!model) return;
    const desired = istioEnvoyFilters(model, this.options).filters;
    for (const target of this.options.targets()) {
      if (this.stopped) return;
      const client = target.client();
      if (!client) continue;
      await this.syncCluster(target.name, client, desired);
    }
  }

  private async syncCluster(
    cluster: string,
    client: KubeClient,
    desired: readonly EnvoyFilterResource[],
  ): Promise<void> {
    const { namespace, logger } = this.options;
    const path = collectionPath(namespace);
    const status: ClusterSyncStatus = { cluster, applied: 0, created: 0, updated: 0, deleted: 0 };
    try {
      const owned = ownedFilters(
        await client.getJson(`${path}?labelSelector=${encodeURIComponent(`${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`)}`),
      );
      const byName = new Map(owned.map((filter) => [filter.name, filter]));
      for (const filter of desired) {
        const existing = byName.get(filter.metadata.name);
        if (!existing) {
          await client.sendJson('POST', path, filter);
          status.created++;
        } else if (
          canonical(existing.spec) !== canonical(filter.spec) ||
          canonical(existing.annotations) !== canonical(filter.metadata.annotations ?? {})
        ) {
          const replacement = {
            ...filter,
            metadata: { ...filter.metadata, resourceVersion: existing.resourceVersion },
          };
          await client.sendJson('PUT', `${path}/${encodeURIComponent(filter.metadata.name)}`, replacement);
          status.updated++;
        }
        byName.delete(filter.metadata.name);
      }
      // Owned, but no exported service wants it any more.
      for (const gone of byName.keys()) {
        await client.sendJson('DELETE', `${path}/${encodeURIComponent(gone)}`);
        status.deleted++;
      }
      status.applied = desired.length;
      status.lastSyncMs = Date.now();
      if (status.created + status.updated + status.deleted > 0) {
        logger.info(
          { cluster, namespace, created: status.created, updated: status.updated, deleted: status.deleted },
          `istio: EnvoyFilters in cluster ${cluster} brought up to date`,
        );
      }
    } catch (error) {
      status.error = advice(error, namespace);
      const previous = this.statuses.get(cluster);
      status.applied = previous?.applied ?? 0;
      if (previous?.lastSyncMs !== undefined) status.lastSyncMs = previous.lastSyncMs;
      // Logged when it changes, not on every pass of a cluster that stays broken.
      if (previous?.error !== status.error)
        logger.warn(
          { cluster, namespace, error: status.error },
          `istio: cannot apply EnvoyFilters in cluster ${cluster}; retrying every pass`,
        );
    }
    this.statuses.set(cluster, status);
  }
}
