// Coalesces bursts of changes: fires after a quiet period, but never later than a maximum delay after
// the first change of the burst, so a steady trickle of changes cannot starve clients.

export interface DebounceOptions {
  quietMs: number;
  maxDelayMs: number;
}

export const DEFAULT_DEBOUNCE: DebounceOptions = { quietMs: 50, maxDelayMs: 500 };

export class Debouncer {
  private quietTimer?: NodeJS.Timeout;
  private maxTimer?: NodeJS.Timeout;

  constructor(
    private readonly options: DebounceOptions,
    private readonly fire: () => void,
  ) {}

  /** Notes a change; `fire` runs once for the whole burst. */
  poke(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.flush(), this.options.quietMs);
    this.maxTimer ??= setTimeout(() => this.flush(), this.options.maxDelayMs);
  }

  /** Fires now if a change is pending. */
  flush(): void {
    const pending = this.quietTimer !== undefined || this.maxTimer !== undefined;
    this.cancel();
    if (pending) this.fire();
  }

  cancel(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.maxTimer) clearTimeout(this.maxTimer);
    this.quietTimer = undefined;
    this.maxTimer = undefined;
  }
}
