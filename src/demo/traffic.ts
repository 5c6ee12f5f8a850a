// A light, bounded request stream through the sidecar, so load reports (and with them the admin page's
// measured shares) show live traffic. A few requests per second, never more than a handful in flight.
import * as http from 'http';
import { BACKEND_IDENTITY_HEADER, parseIdentity, shortIdentity } from './backend-identity';
import { httpGet } from './http-get';

const MAX_IN_FLIGHT = 4;
const REQUEST_TIMEOUT_MS = 3_000;
export const MAX_REQUESTS_PER_SECOND = 50;

export interface TrafficOptions {
  /** e.g. http://127.0.0.1:15001/ */
  url: string;
  hostHeader: string;
  requestsPerSecond: number;
}

/** What happened between two takeWindow() calls. */
export interface TrafficWindow {
  durationMs: number;
  ok: number;
  failed: number;
  /** Successful answers per backend ("east v1 :18081"). */
  byBackend: Record<string, number>;
  /** Failures per cause ("503", "timeout", ...). */
  failures: Record<string, number>;
  /** Ticks skipped because MAX_IN_FLIGHT requests were still pending. */
  skipped: number;
}

function emptyWindow(): Omit<TrafficWindow, 'durationMs'> {
  return { ok: 0, failed: 0, byBackend: {}, failures: {}, skipped: 0 };
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export class TrafficGenerator {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  private readonly pending = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private window = emptyWindow();
  private windowStartedAtMs = Date.now();

  constructor(private readonly options: TrafficOptions) {
    if (!(options.requestsPerSecond > 0 && options.requestsPerSecond <= MAX_REQUESTS_PER_SECOND)) {
      throw new Error(
        `requests per second must be in (0, ${MAX_REQUESTS_PER_SECOND}], got ${options.requestsPerSecond}`,
      );
    }
  }

  start(): void {
    if (this.timer) return;
    this.windowStartedAtMs = Date.now();
    this.timer = setInterval(() => this.tick(), 1000 / this.options.requestsPerSecond);
  }

  /** Stops sending and waits for the requests still in flight (each bounded by its timeout). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.pending);
    this.agent.destroy();
  }

  /** Returns the counts since the last call and starts a new window. */
  takeWindow(): TrafficWindow {
    const now = Date.now();
    const window = { ...this.window, durationMs: now - this.windowStartedAtMs };
    this.window = emptyWindow();
    this.windowStartedAtMs = now;
    return window;
  }

  private tick(): void {
    if (this.pending.size >= MAX_IN_FLIGHT) {
      this.window.skipped++;
      return;
    }
    const request = this.sendOne().finally(() => this.pending.delete(request));
    this.pending.add(request);
  }

  private async sendOne(): Promise<void> {
    const window = this.window;
    try {
      const response = await httpGet(this.options.url, {
        headers: { host: this.options.hostHeader },
        agent: this.agent,
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      const identity = parseIdentity(response.headers[BACKEND_IDENTITY_HEADER] as string | undefined);
      if (response.status === 200 && identity) {
        window.ok++;
        bump(window.byBackend, shortIdentity(identity));
      } else {
        window.failed++;
        bump(window.failures, String(response.status));
      }
    } catch (error) {
      window.failed++;
      const message = error instanceof Error ? error.message : String(error);
      bump(
        window.failures,
        message.includes('timed out') ? 'timeout' : ((error as NodeJS.ErrnoException).code ?? 'error'),
      );
    }
  }
}

function sortedCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([key, n]) => `${key} ${n}`)
    .join(', ');
}

/** "traffic 10s: 48 ok, 2 failed (503 2) | east v1 :18081 43, east v2 :18085 5" */
export function formatTrafficWindow(window: TrafficWindow): string {
  const seconds = Math.round(window.durationMs / 1000);
  const failed = window.failed > 0 ? `${window.failed} failed (${sortedCounts(window.failures)})` : '0 failed';
  const served = window.ok > 0 ? ` | ${sortedCounts(window.byBackend)}` : '';
  const skipped = window.skipped > 0 ? ` | ${window.skipped} skipped (slow answers)` : '';
  return `traffic ${seconds}s: ${window.ok} ok, ${failed}${served}${skipped}`;
}
