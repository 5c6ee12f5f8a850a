// Prints failover transitions for the demo's client cluster as they happen ("local -> spilled"), read from
// the same tracker that serves /debug/failover, so the terminal and the admin page always agree.
import { FailoverEntry } from '../visibility/failover-tracker';
import { formatShares, shortHost } from '../cli/status';

const WATCH_INTERVAL_MS = 1_000;

/** "checkout.shop:8080 v1" (subset "" is the whole service: "all"). */
export function entryLabel(entry: FailoverEntry): string {
  return `${shortHost(entry.service)}:${entry.port} ${entry.subset || 'all'}`;
}

function keyOf(entry: FailoverEntry): string {
  return `${entry.service}|${entry.port}|${entry.subset}`;
}

export function formatTransition(entry: FailoverEntry, from: string): string {
  const why = entry.measured
    ? `measured ${formatShares(entry.measured.shares)} of ${entry.measured.requests} requests`
    : `expected ${formatShares(entry.expected.shares)}, no traffic measured`;
  return `failover: ${entry.clientCluster} -> ${entryLabel(entry)}: ${from} -> ${entry.state} (${why})`;
}

/** "checkout.shop:8080 v1 local, v2 local" for the entries that carry traffic (else every entry). */
export function formatStates(entries: readonly FailoverEntry[]): string {
  const withTraffic = entries.filter((e) => e.measured);
  const shown = withTraffic.length > 0 ? withTraffic : entries;
  return shown.map((e) => `${entryLabel(e)} ${e.state}`).join(', ');
}

export class FailoverWatch {
  private readonly states = new Map<string, string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly allEntries: () => FailoverEntry[],
    private readonly clientCluster: string,
    private readonly print: (line: string) => void,
  ) {}

  /** Entries of the client cluster, now. */
  entries(): FailoverEntry[] {
    return this.allEntries().filter((e) => e.clientCluster === this.clientCluster);
  }

  start(): void {
    for (const entry of this.entries()) this.states.set(keyOf(entry), entry.state);
    this.timer = setInterval(() => this.check(), WATCH_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    for (const entry of this.entries()) {
      const previous = this.states.get(keyOf(entry));
      this.states.set(keyOf(entry), entry.state);
      if (previous !== undefined && previous !== entry.state) this.print(formatTransition(entry, previous));
    }
  }
}
