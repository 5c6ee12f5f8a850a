// Flow control of one stream's responses: the server-wide send budget (in a reconnect storm streams take
// turns) and the transport's backpressure (a client that reads slowly). While either holds a stream back,
// changes only mark types dirty, so it later receives the newest state once, never a queue of stale ones;
// `resume` is called when it may write again.
import { SendBudget } from './send-budget';

export interface WritableCall {
  write(bytes: Buffer, done: () => void): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export class StreamWriter {
  private blocked = false;
  private closed = false;

  constructor(
    private readonly call: WritableCall,
    private readonly budget: SendBudget,
    private readonly resume: () => void,
  ) {}

  /** The transport asked us to stop until it drains. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Whether the server's budget has room; when not, this stream waits its turn and resumes then. */
  mayWrite(): boolean {
    if (this.budget.canSend()) return true;
    this.budget.waitTurn(this.resume);
    return false;
  }

  write(bytes: Buffer): void {
    if (this.closed) return;
    const ticket = this.budget.take(bytes.length);
    const accepted = this.call.write(bytes, () => ticket.release());
    if (!accepted) {
      this.blocked = true;
      this.call.once('drain', () => {
        this.blocked = false;
        this.resume();
      });
    }
  }

  close(): void {
    this.closed = true;
    this.budget.cancel(this.resume);
  }
}
