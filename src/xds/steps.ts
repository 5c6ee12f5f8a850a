// Translation runs as steps (a generator that yields between services), so the server can spread a big
// rebuild over many turns of the event loop while health checks, admin and pushes keep flowing, and tests
// and tools can still run it to the end in one call.

export type Steps<T> = Generator<void, T, void>;

/** Runs every step now. */
export function runToEnd<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** Gives the event loop a turn: timers and I/O callbacks run before we continue. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Lets a long job run for `sliceMs` at a time, then yield; shared by everything one rebuild does. */
export class TimeSlicer {
  private sliceStartedMs = performance.now();
  /** How many times the job yielded (for logs and tests). */
  yields = 0;

  constructor(private readonly sliceMs: number) {}

  /** Whether the current slice is used up (cheap enough to ask after every step). */
  due(): boolean {
    return performance.now() - this.sliceStartedMs >= this.sliceMs;
  }

  async yield(): Promise<void> {
    this.yields++;
    await yieldToEventLoop();
    this.sliceStartedMs = performance.now();
  }

  /**
   * Runs `steps` now until the slice is used up. Returns the result when they finished (a small job);
   * otherwise they go on in the background and `later` gets the result.
   */
  startNow<T>(steps: Steps<T>, later: (value: T) => void): { done: true; value: T } | { done: false } {
    for (;;) {
      const next = steps.next();
      if (next.done) return { done: true, value: next.value };
      if (this.due()) break;
    }
    void this.run(steps).then((value) => later(value as T));
    return { done: false };
  }

  /** Runs `steps`, yielding whenever a slice is used up; a small job finishes without ever yielding. */
  async run<T>(steps: Steps<T>, abandoned: () => boolean = () => false): Promise<T | undefined> {
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
      if (this.due()) {
        await this.yield();
        if (abandoned()) return undefined;
      }
    }
  }
}
