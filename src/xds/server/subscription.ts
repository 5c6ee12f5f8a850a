// What one client asked for, for one type: wildcard and/or named resources. Shared by SotW and delta
// streams. Follows the xDS rules for legacy wildcard (first request names nothing), explicit "*" and
// unsubscribing by sending an empty list after names. The named part is an interned NameSet, shared with
// every other client that asked for the same names.
import { NO_NAMES, NameSet, internNames } from './name-set';

/** Bounds so one client cannot grow the server's memory without limit. */
export const MAX_NAMES_PER_TYPE = 20_000;
export const MAX_NAME_LENGTH_CHARS = 2_048;

export class SubscriptionLimitError extends Error {}

export interface SubscriptionChange {
  added: string[];
  removed: string[];
  wildcardChanged: boolean;
}

export class Subscription {
  private started = false;
  private legacyWildcard = false;
  private explicitWildcard = false;
  private named: NameSet = NO_NAMES;

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
    checkLimits(next);
    const added = [...next].filter((name) => !this.named.has(name));
    const removed = [...this.named.names].filter((name) => !next.has(name));
    this.named = internNames(next);
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
    for (const name of subscribe) {
      if (name === '*') this.explicitWildcard = true;
      else if (!(next ?? this.named.names).has(name)) {
        next ??= new Set(this.named.names);
        if (next.size >= MAX_NAMES_PER_TYPE) throw new SubscriptionLimitError(`more than ${MAX_NAMES_PER_TYPE} resource names`);
        checkName(name);
        next.add(name);
        added.push(name);
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
      }
    }
    if (next) this.named = internNames(next);
    return { added, removed, wildcardChanged: wasWildcard !== this.isWildcard };
  }
}

function checkName(name: string): void {
  if (name.length > MAX_NAME_LENGTH_CHARS) {
    throw new SubscriptionLimitError(`resource name longer than ${MAX_NAME_LENGTH_CHARS} characters: "${name.slice(0, 64)}..."`);
  }
}

function checkLimits(names: ReadonlySet<string>): void {
  if (names.size > MAX_NAMES_PER_TYPE) throw new SubscriptionLimitError(`more than ${MAX_NAMES_PER_TYPE} resource names`);
  for (const name of names) checkName(name);
}
