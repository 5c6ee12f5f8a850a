import * as net from 'net';

/** A port that was free a moment ago (bind to 0, read it, close). Racy by nature; use soon. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`Unexpected listen address ${String(address)}`));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export interface WaitForOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Names the awaited condition in the timeout error, e.g. "cluster checkout to have 2 hosts". */
  what: string;
}

const DEFAULT_POLL_INTERVAL_MS = 100;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Thrown from a waitFor callback to stop polling at once (e.g. the awaited process has died). */
export class GiveUpWaiting extends Error {}

/**
 * Polls `fn` until it returns something other than undefined/false and returns that.
 * Thrown errors count as "not yet" (except GiveUpWaiting); the last one, or the last value, is quoted on timeout.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  { timeoutMs, intervalMs = DEFAULT_POLL_INTERVAL_MS, what }: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastSeen = 'nothing (no attempt finished)';
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
      lastSeen = `value ${String(value)}`;
    } catch (err) {
      if (err instanceof GiveUpWaiting) throw new Error(`Gave up waiting for ${what}: ${err.message}`);
      lastSeen = `error ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs}ms waiting for ${what}; last seen: ${lastSeen}`);
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}
