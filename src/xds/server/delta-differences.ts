// What a delta client must be sent to go from what it holds to what is in scope: changed resources and
// names that are gone. From one shared snapshot array to the next the difference is the same for every
// client of the view that held the first, so it is computed once per pair. One per server.
import { EncodedResource } from '../resource/encoded-resource';
import { PairMemo } from './pair-memo';

export interface Difference {
  changed: readonly EncodedResource[];
  removed: readonly string[];
}

/** Holding nothing: shared, so even the first difference is computed once per view. */
export const NOTHING: readonly EncodedResource[] = [];

export class DeltaDifferences {
  /** name -> version of a shared array, built once per array. */
  private readonly versionMaps = new WeakMap<readonly EncodedResource[], ReadonlyMap<string, string>>();
  private readonly memo = new PairMemo<readonly EncodedResource[], readonly EncodedResource[], Difference>();

  versionsOf(resources: readonly EncodedResource[]): ReadonlyMap<string, string> {
    let versions = this.versionMaps.get(resources);
    if (!versions) {
      versions = new Map(resources.map((r) => [r.name, r.version]));
      this.versionMaps.set(resources, versions);
    }
    return versions;
  }

  /** From a shared array the client holds exactly to what is in scope now. */
  between(held: readonly EncodedResource[], inScope: readonly EncodedResource[]): Difference {
    return this.memo.get(held, inScope, () => this.from(this.versionsOf(held), inScope));
  }

  /** From the client's own name -> version map to what is in scope now. */
  from(has: ReadonlyMap<string, string>, inScope: readonly EncodedResource[]): Difference {
    const inScopeNames = this.versionsOf(inScope);
    return {
      changed: inScope.filter((r) => has.get(r.name) !== r.version),
      removed: [...has.keys()].filter((name) => !inScopeNames.has(name)).sort(),
    };
  }
}
