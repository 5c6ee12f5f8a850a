// An immutable set of encoded resources for one client view, with per-type versions derived from content.
import { EncodedResource, contentHash } from '../resource/encoded-resource';
import { PUSH_ORDER, XdsTypeUrl } from '../resource-types';

const EMPTY: ReadonlyMap<string, EncodedResource> = new Map();

export class Snapshot {
  private readonly byType = new Map<XdsTypeUrl, Map<string, EncodedResource>>();
  private readonly typeVersions = new Map<XdsTypeUrl, string>();
  private readonly wildcardSets = new Map<XdsTypeUrl, readonly EncodedResource[]>();
  private readonly selections = new Map<string, WeakMap<object, readonly EncodedResource[]>>();
  private readonly groups = new Map<XdsTypeUrl, Map<string, EncodedResource[]>>();

  constructor(resources: Iterable<EncodedResource>) {
    for (const resource of resources) {
      let named = this.byType.get(resource.typeUrl);
      if (!named) {
        named = new Map();
        this.byType.set(resource.typeUrl, named);
      }
      if (named.has(resource.name)) throw new Error(`duplicate ${resource.typeUrl} resource "${resource.name}"`);
      named.set(resource.name, resource);
    }
  }

  resources(typeUrl: XdsTypeUrl): ReadonlyMap<string, EncodedResource> {
    return this.byType.get(typeUrl) ?? EMPTY;
  }

  get(typeUrl: XdsTypeUrl, name: string): EncodedResource | undefined {
    return this.byType.get(typeUrl)?.get(name);
  }

  /**
   * The resources a wildcard subscription gets, sorted by name: one shared array per snapshot, so every
   * wildcard client of a view reuses it (and its memoised version) instead of rebuilding and re-hashing.
   */
  wildcardResources(typeUrl: XdsTypeUrl): readonly EncodedResource[] {
    let set = this.wildcardSets.get(typeUrl);
    if (!set) {
      set = internResources(typeUrl, [...this.resources(typeUrl).values()].filter((r) => r.inWildcard).sort(byName));
      this.wildcardSets.set(typeUrl, set);
    }
    return set;
  }

  /** The resources of a type that belong to `group` (see EncodedResource.group); indexed on first use. */
  groupMembers(typeUrl: XdsTypeUrl, group: string): readonly EncodedResource[] {
    let index = this.groups.get(typeUrl);
    if (!index) {
      index = new Map();
      for (const resource of this.resources(typeUrl).values()) {
        if (resource.group === undefined) continue;
        const members = index.get(resource.group);
        if (members) members.push(resource);
        else index.set(resource.group, [resource]);
      }
      this.groups.set(typeUrl, index);
    }
    return index.get(group) ?? [];
  }

  /**
   * A subscription's resources, built once per snapshot for each distinct subscription: `names` is an
   * interned (shared, immutable) name set, so every client asking for the same names gets the same array,
   * and with it the memoised version and encoded response body.
   */
  selection(
    typeUrl: XdsTypeUrl,
    wildcard: boolean,
    names: object,
    select: () => readonly EncodedResource[],
  ): readonly EncodedResource[] {
    const memoKey = `${typeUrl}|${wildcard}`;
    let memo = this.selections.get(memoKey);
    if (!memo) {
      memo = new WeakMap();
      this.selections.set(memoKey, memo);
    }
    let selected = memo.get(names);
    if (!selected) {
      selected = internResources(typeUrl, select());
      memo.set(names, selected);
    }
    return selected;
  }

  /** Hash of every (name, version) of a type: equal content gives an equal version anywhere. */
  typeVersion(typeUrl: XdsTypeUrl): string {
    let version = this.typeVersions.get(typeUrl);
    if (version === undefined) {
      version = computeVersionOfSet(this.resources(typeUrl).values());
      this.typeVersions.set(typeUrl, version);
    }
    return version;
  }

  /** The types whose content differs from `previous` (all types when there is no previous snapshot). */
  changedTypes(previous: Snapshot | undefined): Set<XdsTypeUrl> {
    const changed = new Set<XdsTypeUrl>();
    for (const typeUrl of PUSH_ORDER) {
      if (previous?.typeVersion(typeUrl) !== this.typeVersion(typeUrl)) changed.add(typeUrl);
    }
    return changed;
  }
}

export function byName(a: EncodedResource, b: EncodedResource): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

const setVersions = new WeakMap<readonly EncodedResource[], string>();

/** Version of a set of resources, independent of order; memoised for shared (readonly) arrays. */
export function versionOfSet(resources: readonly EncodedResource[]): string {
  let version = setVersions.get(resources);
  if (version === undefined) {
    version = computeVersionOfSet(resources);
    setVersions.set(resources, version);
  }
  return version;
}

// Arrays with equal content are one array, across snapshots and views: views that differ only in a
// per-proxy detail (say, the outbound listener port) then share their cluster and endpoint arrays, and with
// them everything memoised per array (versions, differences, encoded responses). Held weakly: an array
// lives as long as a snapshot or a stream holds it.
const internedArrays = new Map<string, WeakRef<readonly EncodedResource[]>>();
const forgetArray = new FinalizationRegistry<string>((key) => {
  if (internedArrays.get(key)?.deref() === undefined) internedArrays.delete(key);
});

/** The one shared array holding exactly these resources (same names and versions), in this order. */
export function internResources(
  typeUrl: XdsTypeUrl,
  resources: readonly EncodedResource[],
): readonly EncodedResource[] {
  const key = `${typeUrl} ${resources.length} ${versionOfSet(resources)}`;
  const existing = internedArrays.get(key)?.deref();
  if (existing) return existing;
  internedArrays.set(key, new WeakRef(resources));
  forgetArray.register(resources, key);
  return resources;
}

function computeVersionOfSet(resources: Iterable<EncodedResource>): string {
  const parts: string[] = [];
  for (const resource of resources) parts.push(`${resource.name}\u0000${resource.version}`);
  if (parts.length === 0) return 'empty';
  parts.sort();
  return contentHash(parts.join('\u0001'));
}
