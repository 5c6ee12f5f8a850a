// What a SotW client of EDS or RDS does not hold yet. Clients of a view mostly hold the same (shared)
// array and move to the same next one, so the difference is computed once per pair and shared too, which
// lets its encoded response be shared (response-encoder.ts). One per server.
import { EncodedResource } from '../resource/encoded-resource';
import { PairMemo } from './pair-memo';

export class SotwDifferences {
  private readonly memo = new PairMemo<
    readonly EncodedResource[],
    readonly EncodedResource[],
    readonly EncodedResource[]
  >();

  /** Resources whose name the client does not hold at this version. */
  notYetHeld(resources: readonly EncodedResource[], held: readonly EncodedResource[]): readonly EncodedResource[] {
    return this.memo.get(resources, held, () => {
      const heldVersions = new Map(held.map((r) => [r.name, r.version]));
      return resources.filter((r) => heldVersions.get(r.name) !== r.version);
    });
  }
}
