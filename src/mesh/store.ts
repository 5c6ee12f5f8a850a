// The merged mesh model. Each source owns shards (e.g. "file", or "kubernetes/east") and replaces them
// whole; the store merges shards into one model and tells listeners once per debounced burst.
import { DebounceOptions, DEFAULT_DEBOUNCE, Debouncer } from './debounce';
import { MeshCluster, MeshModel, ServiceEntry, emptyModel, serviceHost } from './model';

/** Called once per debounced burst, with when the burst's first change was seen. */
export type ModelListener = (model: MeshModel, changeSeenAtMs: number) => void;

export class MeshStore {
  private readonly shards = new Map<string, MeshModel>();
  private model: MeshModel = emptyModel();
  private readonly listeners = new Set<ModelListener>();
  private readonly debouncer: Debouncer;
  private generation = 0;
  private pendingSinceMs?: number;

  constructor(debounce: DebounceOptions = DEFAULT_DEBOUNCE) {
    this.debouncer = new Debouncer(debounce, () => this.publish());
  }

  current(): MeshModel {
    return this.model;
  }

  /** How many times a merged model was published (for tests and metrics). */
  get version(): number {
    return this.generation;
  }

  /** Replaces one source's shard. The merged model is rebuilt at once; listeners hear after the debounce. */
  setShard(shardId: string, shard: MeshModel): void {
    this.shards.set(shardId, shard);
    this.model = mergeShards(this.shards);
    this.pendingSinceMs ??= Date.now();
    this.debouncer.poke();
  }

  removeShard(shardId: string): void {
    if (!this.shards.delete(shardId)) return;
    this.model = mergeShards(this.shards);
    this.pendingSinceMs ??= Date.now();
    this.debouncer.poke();
  }

  onChange(listener: ModelListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Publishes a pending change now (shutdown, tests). */
  flush(): void {
    this.debouncer.flush();
  }

  close(): void {
    this.debouncer.cancel();
  }

  private publish(): void {
    this.generation++;
    const seenAtMs = this.pendingSinceMs ?? Date.now();
    this.pendingSinceMs = undefined;
    for (const listener of this.listeners) listener(this.model, seenAtMs);
  }
}

/**
 * Merges shards in shard-id order: clusters by name (first wins), services by host (first definition
 * wins), endpoints of every shard together. Export is per cluster: a shard speaks for its clusters, and a
 * service is exported from exactly the clusters whose shard exports it.
 */
export function mergeShards(shards: ReadonlyMap<string, MeshModel>): MeshModel {
  if (shards.size === 1) return [...shards.values()][0];
  const clusters = new Map<string, MeshCluster>();
  const services = new Map<string, ServiceEntry>();
  // Per service: the clusters each shard speaks for, and those whose shard exports the service.
  const exportedFrom = new Map<string, Set<string>>();
  const spokenFor = new Map<string, Set<string>>();
  // Declared callees: every shard that declares some adds to the list (each cluster may annotate its Service).
  const callsOf = new Map<string, Set<string>>();
  for (const id of [...shards.keys()].sort()) {
    const shard = shards.get(id) as MeshModel;
    for (const [name, cluster] of shard.clusters) if (!clusters.has(name)) clusters.set(name, cluster);
    for (const entry of shard.services.values()) {
      const host = serviceHost(entry.service);
      const shardClusters = new Set([...shard.clusters.keys(), ...entry.endpoints.map((e) => e.cluster)]);
      addAll(spokenFor, host, shardClusters);
      if (entry.service.exported) addAll(exportedFrom, host, shardClusters);
      if (entry.service.calls) addAll(callsOf, host, entry.service.calls);
      const existing = services.get(host);
      if (!existing) services.set(host, { service: entry.service, endpoints: [...entry.endpoints] });
      else services.set(host, { service: existing.service, endpoints: [...existing.endpoints, ...entry.endpoints] });
    }
  }
  for (const [host, entry] of services) {
    const exporting = exportedFrom.get(host) ?? new Set<string>();
    const all = spokenFor.get(host) ?? new Set<string>();
    const service = { ...entry.service, exported: exporting.size > 0 };
    // Only when some cluster does not export it does the per-cluster list matter.
    if (exporting.size > 0 && [...all].some((c) => !exporting.has(c))) service.exportedFrom = [...exporting].sort();
    else delete service.exportedFrom;
    const calls = callsOf.get(host);
    if (calls) service.calls = [...calls].sort();
    services.set(host, { service, endpoints: entry.endpoints });
  }
  return { clusters, services };
}

function addAll(map: Map<string, Set<string>>, key: string, values: Iterable<string>): void {
  const set = map.get(key) ?? new Set<string>();
  for (const value of values) set.add(value);
  map.set(key, set);
}
