// What one client asked for, for one type: wildcard and/or named resources. Shared by SotW and delta
// streams. Follows the xDS rules for legacy wildcard (first request names nothing), explicit "*" and
// unsubscribing by sending an empty list after names. The named part is an interned NameSet, shared with
// every other client that asked for the same names; what a stream may hold is bounded (client-limits.ts).
import {
  CLIENT_LIMIT_FLAGS,
  ClientLimitError,
  ClientLimits,
  DEFAULT_CLIENT_LIMITS,
  MAX_NAMES_PER_TYPE,
  MAX_NAME_LENGTH_CHARS,
} from './client-limits';
import { NameSetBudget } from './name-budget';
import { NameSet, bytesOfNames } from './name-set';
import { bounded } from './bounded-text';

export { MAX_NAMES_PER_TYPE, MAX_NAME_LENGTH_CHARS };
/** Kept under its old name for readers of subscriptions. */
export { ClientLimitError as SubscriptionLimitError };

export interface SubscriptionChange {
  added: string[];
  removed: string[];
  wildcardChanged: boolean;
}

/** What the subscriptions of one stream share: its limits, its byte total, and the server's budget (with its name sets). */
export class StreamNames {
  /** Bytes of the names this stream's subscriptions hold, over all types. */
  bytes = 0;

  constructor(
    readonly limits: Pick<ClientLimits, 'maxNamesBytesPerType' | 'maxNamesBytesPerStream'> = DEFAULT_CLIENT_LIMITS,
    readonly budget: NameSetBudget = new NameSetBudget(),
  ) {}
}

export class Subscription {
  private started = false;
  private legacyWildcard = false;
  private explicitWildcard = false;
  private named: NameSet;

  constructor(private readonly stream: StreamNames = new StreamNames()) {
    this.named = stream.budget.sets.none;
  }

  get isWildcard(): boolean {
    return this.legacyWildcard || this.explicitWildcard;
  }

  get names(): ReadonlySet<string> {
    return this.named.names;
  }

  /** The shared, immutable set of names (identity is equal for equal sets: usable as a memo key). */
  get nameSet(): NameSet {
    return this.named;
  }

  /** Is this resource in scope? Resources that are not in the wildcard set must be named. */
  includes(name: string, inWildcard: boolean): boolean {
    return (inWildcard && this.isWildcard) || this.named.has(name);
  }

  /**
   * Whether a SotW request whose resource_names fields are exactly `region` would change nothing: the same
   * names in sorted order, and no wildcard state to change (checked without decoding the names).
   */
  repeatsEncoded(region: Buffer): boolean {
    if (!this.started || this.explicitWildcard) return false;
    if (this.legacyWildcard) return region.length === 0;
    return this.named.size > 0 && this.named.isEncodedAs(region);
  }

  /** State of the world: the request's list replaces the previous one. */
  applySotw(names: readonly string[]): SubscriptionChange {
    const wasWildcard = this.isWildcard;
    if (!this.started) {
      this.started = true;
      if (names.length === 0) {
        this.legacyWildcard = true;
        return { added: [], removed: [], wildcardChanged: true };
      }
    } else if (this.legacyWildcard && names.length === 0) {
      return { added: [], removed: [], wildcardChanged: false };
    }
    this.legacyWildcard = false;
    this.explicitWildcard = names.includes('*');
    const next = new Set(names);
    next.delete('*');
    // The common case: an ACK repeating the same names.
    if (this.named.sameAs(next)) return { added: [], removed: [], wildcardChanged: wasWildcard !== this.isWildcard };
    if (next.size > MAX_NAMES_PER_TYPE) throw new ClientLimitError(`more than ${MAX_NAMES_PER_TYPE} resource names`);
    for (const name of next) checkName(name);
    const added = [...next].filter((name) => !this.named.has(name));
    const removed = [...this.named.names].filter((name) => !next.has(name));
    this.replaceNames(next, bytesOfNames(next));
    return { added, removed, wildcardChanged: wasWildcard !== this.isWildcard };
  }

  /** Incremental: names are added and removed; "*" subscribes to or leaves the wildcard. */
  applyDelta(subscribe: readonly string[], unsubscribe: readonly string[]): SubscriptionChange {
    const wasWildcard = this.isWildcard;
    const added: string[] = [];
    const removed: string[] = [];
    if (!this.started) {
      this.started = true;
      if (subscribe.length === 0) this.legacyWildcard = true;
    } else if (subscribe.some((name) => name !== '*')) {
      // Naming resources ends a legacy wildcard; a client that wants both says "*".
      this.legacyWildcard = false;
    }
    let next: Set<string> | undefined; // copy on write: the current set is shared
    let bytes = this.named.bytes;
    for (const name of subscribe) {
      if (name === '*') this.explicitWildcard = true;
      else if (!(next ?? this.named.names).has(name)) {
        next ??= new Set(this.named.names);
        if (next.size >= MAX_NAMES_PER_TYPE)
          throw new ClientLimitError(`more than ${MAX_NAMES_PER_TYPE} resource names`);
        checkName(name);
        next.add(name);
        added.push(name);
        bytes += Buffer.byteLength(name, 'utf8');
      }
    }
    for (const name of unsubscribe) {
      if (name === '*') {
        this.explicitWildcard = false;
        this.legacyWildcard = false;
      } else if ((next ?? this.named.names).has(name)) {
        next ??= new Set(this.named.names);
        next.delete(name);
        removed.push(name);
        bytes -= Buffer.byteLength(name, 'utf8');
      }
    }
    if (next) this.replaceNames(next, bytes);
    return { added, removed, wildcardChanged: wasWildcard !== this.isWildcard };
  }

  /** The stream closed: what it held no longer counts against its stream or the server. */
  release(): void {
    this.stream.budget.release(this.named);
    this.stream.bytes -= this.named.bytes;
    this.named = this.stream.budget.sets.none;
  }

  /** Checks the byte bounds, then holds the interned set of `next` instead of the current one. */
  private replaceNames(next: ReadonlySet<string>, bytes: number): void {
    const { maxNamesBytesPerType, maxNamesBytesPerStream } = this.stream.limits;
    if (bytes > maxNamesBytesPerType) {
      throw new ClientLimitError(
        `${bytes} bytes of resource names for one type (limit --${CLIENT_LIMIT_FLAGS.maxNamesBytesPerType} ${maxNamesBytesPerType})`,
      );
    }
    const streamBytes = this.stream.bytes - this.named.bytes + bytes;
    if (streamBytes > maxNamesBytesPerStream) {
      throw new ClientLimitError(
        `${streamBytes} bytes of resource names on one stream (limit --${CLIENT_LIMIT_FLAGS.maxNamesBytesPerStream} ${maxNamesBytesPerStream})`,
      );
    }
    const set = this.stream.budget.sets.intern(next, bytes);
    this.stream.budget.swap(this.named, set);
    this.stream.bytes = streamBytes;
    this.named = set;
  }
}

function checkName(name: string): void {
  if (name.length > MAX_NAME_LENGTH_CHARS) {
    throw new ClientLimitError(`resource name longer than ${MAX_NAME_LENGTH_CHARS} characters: "${bounded(name, 64)}"`);
  }
}
