// Sends a bounded number of real HTTP requests (through Envoy) and tallies which backend answered.
import * as http from 'http';
import { BACKEND_ID_HEADER } from '../fixtures/backend-protocol';
import { emptyTally, recordFailure, recordSuccess, Tally } from './tally';

export interface SendRequestsOptions {
  /** e.g. http://127.0.0.1:15001/ */
  url: string;
  /** Host/authority header Envoy routes on, e.g. checkout.shop.svc.cluster.local */
  hostHeader?: string;
  count: number;
  headers?: Record<string, string>;
  concurrency?: number;
  timeoutMs?: number;
  /**
   * Reuse connections to Envoy. Off by default: a listener update or drain closes idle connections,
   * and a request racing that close fails on the client side, which would be blamed on failover.
   */
  keepAlive?: boolean;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_REQUEST_TIMEOUT_MS = 2000;
/** Stand-in id for a 2xx response without the identity header (not from a fixture backend). */
export const UNKNOWN_BACKEND_ID = '(no x-backend-id)';

function sendOne(
  url: string,
  agent: http.Agent,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, headers, timeout: timeoutMs }, (response) => {
      response.resume();
      response.on('end', () => resolve(response));
      response.on('error', reject);
    });
    request.on('timeout', () => {
      const timeout: NodeJS.ErrnoException = new Error(`timed out after ${timeoutMs}ms`);
      timeout.code = 'TIMEOUT';
      request.destroy(timeout);
    });
    request.on('error', reject);
  });
}

function recordResponse(tally: Tally, response: http.IncomingMessage): void {
  const status = response.statusCode ?? 0;
  const idHeader = response.headers[BACKEND_ID_HEADER];
  const id = typeof idHeader === 'string' ? idHeader : UNKNOWN_BACKEND_ID;
  if (status >= 200 && status < 300) {
    recordSuccess(tally, id, String(status));
    return;
  }
  // Envoy local replies say why in this header (e.g. "UH" = no healthy upstream).
  const flags = response.headers['x-envoy-response-flags'];
  recordFailure(tally, String(status), `HTTP ${status} from ${id}${flags ? ` flags ${String(flags)}` : ''}`);
}

export async function sendRequests(options: SendRequestsOptions): Promise<Tally> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const headers = { ...options.headers, ...(options.hostHeader ? { host: options.hostHeader } : {}) };
  const agent = new http.Agent({ keepAlive: options.keepAlive ?? false, maxSockets: concurrency });
  const tally = emptyTally();
  let started = 0;

  const worker = async (): Promise<void> => {
    while (started < options.count) {
      started += 1;
      try {
        recordResponse(tally, await sendOne(options.url, agent, headers, timeoutMs));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        recordFailure(tally, code ?? 'ERROR', err instanceof Error ? err.message : String(err));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, options.count) }, worker));
  } finally {
    agent.destroy();
  }
  return tally;
}
