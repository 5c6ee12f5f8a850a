// Prints failover transitions for the demo's client cluster as they happen ("local -> spilled"), read from
// the same tracker that serves /debug/failover, so the terminal and the admin page always agree.
import { FailoverEntry } from '../visibility/failover-tracker';
import { formatShares, shortHost } from '../format/failover-text';

const WATCH_INTERVAL_MS = 1_000;

/** "checkout.shop:8080 v1" (subset "" is the whole service: "all"). */
export function entryLabel(entry: FailoverEntry): string {
  return `${shortHost(entry.service)}:${entry.port} ${entry.subset || 'all'}`;
}

function keyOf(entry: FailoverEntry): string {
  return `${entry.service}|${entry.port}|${entry.subset}`;
}

export function formatTransition(entry: FailoverEntry, from: string): string {
  let why: string;
  if (!entry.measured) why = `expected ${formatShares(entry.expected.shares)}, no traffic measured`;
  else if (formatShares(entry.measured.shares) === '-') why = `none of ${entry.measured.requests} requests answered`;
  else if (entry.measured.recent && entry.measured.recent.requests > 0) {
    // The state is decided on the newest reports: show those, and the 10 s window after them.
    const recent = entry.measured.recent;
    why = `measured ${formatShares(recent.shares)} in the last ${Math.round(recent.windowMs / 1000)} s; ${formatShares(entry.measured.shares)} of ${entry.measured.requests} requests in ${Math.round(entry.measured.windowMs / 1000)} s`;
  } else why = `measured ${formatShares(entry.measured.shares)} of ${entry.measured.requests} requests`;
  return `failover: ${entry.clientCluster} -> ${entryLabel(entry)}: ${from} -> ${entry.state} (${why})`;
}

/** "checkout.shop:8080 v1 local, v2 local" for the entries that carry traffic (else every entry). */
export function formatStates(entries: readonly FailoverEntry[]): string {
  const withTraffic = entries.filter((e) => e.measured);
  const shown = withTraffic.length > 0 ? withTraffic : entries;
  return shown.map((e) => `${entryLabel(e)} ${e.state}`).join(', ');
}

/** What the watch last reported for an entry, and the model's expectation then. */
interface Reported {
  state: string;
  expected: string;
}

/**
 * Reports a change when traffic shows a new state, or when the model's expectation changes (a drain).
 * An entry whose traffic pauses falls back to its expected state in the tracker; with a few requests per
 * second that would flap on every quiet window, so a state without traffic behind it is not reported.
 */
export function nextReport(previous: Reported | undefined, entry: FailoverEntry): { report: boolean; now: Reported } {
  const expected = entry.expected.state;
  if (!previous) return { report: false, now: { state: entry.state, expected } };
  if (entry.measured && entry.state !== previous.state) return { report: true, now: { state: entry.state, expected } };
  if (!entry.measured && expected !== previous.expected)
    return { report: entry.state !== previous.state, now: { state: entry.state, expected } };
  return { report: false, now: { state: previous.state, expected } };
}

export class FailoverWatch {
  private readonly reported = new Map<string, Reported>();
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
    this.check();
    this.timer = setInterval(() => this.check(), WATCH_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    for (const entry of this.entries()) {
      const key = keyOf(entry);
      const previous = this.reported.get(key);
      const { report, now } = nextReport(previous, entry);
      this.reported.set(key, now);
      if (report && previous) this.print(formatTransition(entry, previous.state));
    }
  }
}
