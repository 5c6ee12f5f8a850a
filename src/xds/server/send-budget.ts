// A server-wide bound on response bytes handed to the transport and not yet written out. When thousands of
// clients connect at once, each would otherwise get its whole initial config queued at the same time
// (N x a full response in memory at the peak); with the budget, streams take turns in arrival order and the
// peak stays near the budget, while the sockets are kept busy. A stalled client holds its share only for a
// short while, so it cannot starve the others.

/** Bytes in flight before further streams wait their turn. */
export const DEFAULT_SEND_BUDGET_BYTES = 64 * 1024 * 1024;
/** After this long a write still in flight stops counting (its client is slow or stuck), so others go on. */
export const DEFAULT_STALL_RELEASE_MS = 2_000;

export interface SendTicket {
  /** The write finished (or failed, or the stream closed): its bytes leave the budget. Idempotent. */
  release(): void;
}

export class SendBudget {
  private inFlight = 0;
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly limitBytes = DEFAULT_SEND_BUDGET_BYTES,
    private readonly stallReleaseMs = DEFAULT_STALL_RELEASE_MS,
  ) {}

  /** Whether a response may be sent now; a stream that may not calls waitTurn(). */
  canSend(): boolean {
    return this.inFlight < this.limitBytes;
  }

  /** Calls `resume` (once) when the budget has room again; waiting streams resume in arrival order. */
  waitTurn(resume: () => void): void {
    this.waiting.add(resume);
  }

  /** A closed stream no longer waits. */
  cancel(resume: () => void): void {
    this.waiting.delete(resume);
  }

  /** Counts `bytes` as in flight until the returned ticket is released or the stall timeout passes. */
  take(bytes: number): SendTicket {
    this.inFlight += bytes;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.inFlight -= bytes;
      this.wakeWaiting();
    };
    const timer = setTimeout(release, this.stallReleaseMs);
    timer.unref();
    return { release };
  }

  get bytesInFlight(): number {
    return this.inFlight;
  }

  get streamsWaiting(): number {
    return this.waiting.size;
  }

  private wakeWaiting(): void {
    // Each resumed stream may take budget again; stop once it is used up (the rest keep their place).
    for (const resume of this.waiting) {
      if (!this.canSend()) return;
      this.waiting.delete(resume);
      resume();
    }
  }
}
