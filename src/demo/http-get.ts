// One plain HTTP GET with a hard timeout, for readiness polls and probes on loopback.
import * as http from 'http';

export interface GetResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface GetOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Reuse connections (traffic); by default each GET has its own, so a restarted server is never hit on a dead socket. */
  agent?: http.Agent;
}

const DEFAULT_TIMEOUT_MS = 2_000;

export function httpGet(url: string, options: GetOptions = {}): Promise<GetResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const request = http.get(
      url,
      { headers: options.headers, agent: options.agent ?? false, timeout: timeoutMs },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` until it returns a value (not undefined); throws after timeoutMs with `what` and the last
 * reason `check` gave (its thrown error), or at once when `giveUp` returns a reason.
 */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; giveUp?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastReason = 'no answer yet';
  for (;;) {
    const reason = options.giveUp?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastReason = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline)
      throw new Error(`${what}: not done after ${options.timeoutMs} ms (last: ${lastReason})`);
    await sleep(options.intervalMs ?? 200);
  }
}
