// What one client asked for, for one type: wildcard and/or named resources. Shared by SotW and delta
// streams. Follows the xDS rules for legacy wildcard (first request names nothing), explicit "*" and
// unsubscribing by sending an empty list after names.

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
  private readonly named = new Set<string>();

  get isWildcard(): boolean {
    return this.legacyWildcard || this.explicitWildcard;
  }

  get names(): ReadonlySet<string> {
    return this.named;
  }

  /** Is this resource in scope? Resources that are not in the wildcard set must be named. */
  includes(name: string, inWildcard: boolean): boolean {
    return (inWildcard && this.isWildcard) || this.named.has(name);
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
    const next = new Set(names.filter((name) => name !== '*'));
    checkLimits(next);
    const added = [...next].filter((name) => !this.named.has(name));
    const removed = [...this.named].filter((name) => !next.has(name));
    for (const name of removed) this.named.delete(name);
    for (const name of added) this.named.add(name);
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
    for (const name of subscribe) {
      if (name === '*') this.explicitWildcard = true;
      else if (!this.named.has(name)) {
        if (this.named.size >= MAX_NAMES_PER_TYPE) throw new SubscriptionLimitError(`more than ${MAX_NAMES_PER_TYPE} resource names`);
        checkName(name);
        this.named.add(name);
        added.push(name);
      }
    }
    for (const name of unsubscribe) {
      if (name === '*') {
        this.explicitWildcard = false;
        this.legacyWildcard = false;
      } else if (this.named.delete(name)) removed.push(name);
    }
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
