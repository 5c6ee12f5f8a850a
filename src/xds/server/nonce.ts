// Nonces are unique per process and across restarts (random prefix), so a stale nonce from an earlier
// server can never be mistaken for a current one.
import { randomBytes } from 'crypto';

export class NonceSource {
  private counter = 0;
  private readonly prefix = randomBytes(4).toString('hex');

  /** This process's prefix (shared SotW responses build their nonces on it). */
  get processPrefix(): string {
    return this.prefix;
  }

  next(): string {
    this.counter++;
    return `${this.prefix}-${this.counter.toString(36)}`;
  }
}
