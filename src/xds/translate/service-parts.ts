// What one service contributes to a view, remembered per translation scope and per service content, so a
// change costs the services it touches, not the whole mesh. A part depends on exactly three things: the
// service entry (its whole content, endpoints included), the mesh's clusters (gateways, regions) and the
// scope of the view (client cluster, role, certificate directory, proxyless or not); all three make up
// its key, so a part is reused only when everything it was built from is equal.
import { MeshModel, ServiceEntry, serviceHost } from '../../mesh/model';
import { EncodedResource } from '../resource/encoded-resource';
import { TranslationIssue } from './translation-issues';

export interface ServicePart<T> {
  readonly resources: readonly EncodedResource[];
  /** What the view assembles from the parts (route targets, filter chains), when the service translated. */
  readonly value?: T;
  readonly issue?: TranslationIssue;
}

type AnyPart = ServicePart<unknown>;

interface Assembled {
  parts: readonly AnyPart[];
  value: unknown;
}

const contentKeys = new WeakMap<ServiceEntry, string>();
const clusterKeys = new WeakMap<MeshModel, string>();

/** The entry's whole content as text: computed once per entry object, shared by every view. */
export function contentKeyOf(entry: ServiceEntry): string {
  let key = contentKeys.get(entry);
  if (key === undefined) {
    key = JSON.stringify(entry);
    contentKeys.set(entry, key);
  }
  return key;
}

// Distinct cluster sets seen lately, as short ids: scope strings are hashed on every part lookup, so they
// carry an id, not the clusters' whole text. Bounded: an id that falls out is simply issued anew.
const clusterSetIds = new Map<string, string>();
const MAX_CLUSTER_SET_IDS = 64;
let clusterSetCounter = 0;

/** The model's clusters (gateway addresses and regions feed every part) as a short id, equal for equal clusters. */
export function clustersKeyOf(model: MeshModel): string {
  let key = clusterKeys.get(model);
  if (key === undefined) {
    const text = JSON.stringify(
      [...model.clusters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    );
    key = clusterSetIds.get(text);
    if (key === undefined) {
      key = `c${(++clusterSetCounter).toString(36)}`;
      clusterSetIds.set(text, key);
      if (clusterSetIds.size > MAX_CLUSTER_SET_IDS) clusterSetIds.delete(clusterSetIds.keys().next().value as string);
    }
    clusterKeys.set(model, key);
  }
  return key;
}

/**
 * Parts kept across rebuilds. A part used since the last completed pass stays; one no pass has used is
 * dropped at the end of the next completed pass, so memory follows the live mesh, not its history. An
 * abandoned pass (a newer model arrived mid-way) drops nothing.
 */
export class ServiceParts {
  // scope -> service content -> part: two levels, so a lookup hashes the content key, not scope + content.
  private live = new Map<string, Map<string, AnyPart>>();
  private old = new Map<string, Map<string, AnyPart>>();
  private assembledLive = new Map<string, Assembled>();
  private assembledOld = new Map<string, Assembled>();
  // scope -> service host -> its newest part: a rebuilt part whose value equals the one before (an
  // endpoint change leaves a service's routes as they were) takes over the earlier value object, so what
  // is assembled from values (route tables) is recognised as unchanged without being built again.
  // Pruned at the end of each pass to the parts that pass used.
  private byHost = new Map<string, Map<string, AnyPart>>();
  hits = 0;
  misses = 0;

  part<T>(scope: string, entry: ServiceEntry, build: () => ServicePart<T>): ServicePart<T> {
    const key = contentKeyOf(entry);
    let live = this.live.get(scope);
    if (!live) {
      live = new Map();
      this.live.set(scope, live);
    }
    let part = live.get(key);
    if (!part) {
      part = this.old.get(scope)?.get(key);
      if (part) live.set(key, part);
    }
    if (part) {
      this.hits++;
      return part as ServicePart<T>;
    }
    this.misses++;
    const built = this.withEarlierValue(scope, serviceHost(entry.service), build());
    live.set(key, built);
    return built;
  }

  /** `built`, or a copy carrying the service's earlier value object when the two values are equal. */
  private withEarlierValue<T>(scope: string, host: string, built: ServicePart<T>): ServicePart<T> {
    let byHost = this.byHost.get(scope);
    if (!byHost) {
      byHost = new Map();
      this.byHost.set(scope, byHost);
    }
    const earlier = byHost.get(host);
    let part = built;
    if (
      earlier?.value !== undefined &&
      built.value !== undefined &&
      JSON.stringify(earlier.value) === JSON.stringify(built.value)
    ) {
      part = { ...built, value: earlier.value as T };
    }
    byHost.set(host, part);
    return part;
  }

  /**
   * What a view builds from the values of all its parts (say, the route table naming every service),
   * remembered per scope and name: when the values are the very same objects as last time, so is the result.
   */
  assembled<T>(scope: string, name: string, parts: readonly AnyPart[], build: () => T): T {
    const key = `${scope}\u0000${name}`;
    const previous = this.assembledLive.get(key) ?? this.assembledOld.get(key);
    if (previous && sameValues(previous.parts, parts)) {
      this.assembledLive.set(key, previous);
      return previous.value as T;
    }
    const value = build();
    this.assembledLive.set(key, { parts, value });
    return value;
  }

  /** A full pass over every live view is done: forget what it did not use. */
  endPass(): void {
    this.old = this.live;
    this.live = new Map();
    this.assembledOld = this.assembledLive;
    this.assembledLive = new Map();
    for (const [scope, byHost] of this.byHost) {
      const used = new Set(this.old.get(scope)?.values());
      for (const [host, part] of byHost) if (!used.has(part)) byHost.delete(host);
      if (byHost.size === 0) this.byHost.delete(scope);
    }
  }

  get size(): number {
    let size = 0;
    for (const parts of [...this.live.values(), ...this.old.values()]) size += parts.size;
    return size;
  }
}

/** Whether two lists of parts carry the very same values in the same order (then whatever was assembled from them is too). */
export function sameValues(a: readonly AnyPart[], b: readonly AnyPart[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]?.value !== b[i]?.value) return false;
  return true;
}
