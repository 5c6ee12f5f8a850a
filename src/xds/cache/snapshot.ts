// An immutable set of encoded resources for one client view, with per-type versions derived from content.
import { EncodedResource, contentHash } from './resource';
import { PUSH_ORDER, XdsTypeUrl } from '../resource-types';

const EMPTY: ReadonlyMap<string, EncodedResource> = new Map();

export class Snapshot {
  private readonly byType = new Map<XdsTypeUrl, Map<string, EncodedResource>>();
  private readonly typeVersions = new Map<XdsTypeUrl, string>();

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

  /** Every resource except those of `typeUrl` (to combine with freshly built ones of that type). */
  allExcept(typeUrl: XdsTypeUrl): EncodedResource[] {
    const kept: EncodedResource[] = [];
    for (const [type, named] of this.byType) if (type !== typeUrl) kept.push(...named.values());
    return kept;
  }

  /** Hash of every (name, version) of a type: equal content gives an equal version anywhere. */
  typeVersion(typeUrl: XdsTypeUrl): string {
    let version = this.typeVersions.get(typeUrl);
    if (version === undefined) {
      version = versionOfSet(this.resources(typeUrl).values());
      this.typeVersions.set(typeUrl, version);
    }
    return version;
  }

  /** The types whose content differs from `previous` (all types when there is no previous snapshot). */
  changedTypes(previous: Snapshot | undefined): Set<XdsTypeUrl> {
    const changed = new Set<XdsTypeUrl>();
    for (const typeUrl of PUSH_ORDER) {
      if (!previous || previous.typeVersion(typeUrl) !== this.typeVersion(typeUrl)) changed.add(typeUrl);
    }
    return changed;
  }
}

/** Version of a set of resources, independent of order. */
export function versionOfSet(resources: Iterable<EncodedResource>): string {
  const parts: string[] = [];
  for (const resource of resources) parts.push(`${resource.name}\u0000${resource.version}`);
  if (parts.length === 0) return 'empty';
  parts.sort();
  return contentHash(parts.join('\u0001'));
}
