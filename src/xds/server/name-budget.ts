// The server-wide bound on subscribed names. Clients asking for the same names share one interned set (the
// budget holds the server's table of them), so what the server really holds grows with distinct
// subscriptions, not with proxies: that is what is counted, each distinct set once, for as long as any stream holds it (released when the last one closes
// or moves on, without waiting for garbage collection).
import { CLIENT_LIMIT_FLAGS, ClientLimitError } from './client-limits';
import { NameSet, NameSetInterner } from './name-set';

export class NameSetBudget {
  /** The server's shared sets: streams asking for the same names hold one (and are counted once). */
  readonly sets = new NameSetInterner();
  private readonly holders = new Map<NameSet, number>();
  private total = 0;

  constructor(readonly limitBytes = Number.POSITIVE_INFINITY) {}

  /** Bytes of the distinct sets held now. */
  get bytes(): number {
    return this.total;
  }

  get distinctSets(): number {
    return this.holders.size;
  }

  /** One holder moves from `previous` to `next`; throws ClientLimitError (changing nothing) over the limit. */
  swap(previous: NameSet, next: NameSet): void {
    if (previous === next) return;
    if (next.size > 0) {
      const held = this.holders.get(next);
      if (held === undefined) {
        const freed = this.holders.get(previous) === 1 ? previous.bytes : 0;
        if (this.total - freed + next.bytes > this.limitBytes) {
          throw new ClientLimitError(
            `the server already holds ${this.total} bytes of distinct subscribed resource names (limit --${CLIENT_LIMIT_FLAGS.maxNamesBytesTotal} ${this.limitBytes}); subscribe to fewer or shorter names`,
          );
        }
        this.total += next.bytes;
      }
      this.holders.set(next, (held ?? 0) + 1);
    }
    this.release(previous);
  }

  /** A holder lets go of `set` (its stream closed). */
  release(set: NameSet): void {
    const held = this.holders.get(set);
    if (held === undefined) return;
    if (held > 1) {
      this.holders.set(set, held - 1);
      return;
    }
    this.holders.delete(set);
    this.total -= set.bytes;
  }
}
