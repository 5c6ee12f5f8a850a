import * as fs from 'fs';
import * as net from 'net';

/**
 * Ports handed out below the kernel's ephemeral range: the kernel never gives these to a bind to port 0
 * (an Envoy admin port, a server) or to an outgoing connection, so a port picked here cannot be taken
 * by one of those between the pick and its use (that race failed a test). Never the same port twice in
 * one test process.
 */
const PICK_FROM = 20_000;
const handedOut = new Set<number>();

function ephemeralStart(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

function bindsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port that was free a moment ago, outside the ephemeral range when there is room below it. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const end = ephemeralStart();
  if (end - PICK_FROM >= 1_000) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = PICK_FROM + Math.floor(Math.random() * (end - PICK_FROM));
      if (handedOut.has(port)) continue;
      if (await bindsFree(host, port)) {
        handedOut.add(port);
        return port;
      }
    }
  }
  return kernelPickedPort(host);
}

/** Bind to 0, read it, close: racy with other port-0 binds; the fallback when there is no room below. */
function kernelPickedPort(host: string): Promise<number> {
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
