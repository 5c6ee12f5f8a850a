// At most one log line per key per interval, saying how many were held back since: a client that keeps
// sending bad input (load reports, admin requests) must not be able to fill the disk through our logs.
import type { Logger } from 'pino';

export const LOG_INTERVAL_MS = 10_000;

export class ThrottledLog {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = LOG_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** `key` must come from a small fixed set (a reason), never from client input. */
  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const nowMs = this.now();
    const last = this.last.get(key);
    if (last && nowMs - last.atMs < this.intervalMs) {
      last.suppressed++;
      return;
    }
    this.logger.warn({ ...fields, ...(last?.suppressed ? { suppressedSinceLastLine: last.suppressed } : {}) }, message);
    this.last.set(key, { atMs: nowMs, suppressed: 0 });
  }
}
