import * as http from 'http';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const DEFAULT_GET_TIMEOUT_MS = 2000;

/** A plain GET with a hard timeout; no connection reuse so a restarted server is never hit on a dead socket. */
export function httpGet(url: string, timeoutMs = DEFAULT_GET_TIMEOUT_MS): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
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
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs}ms`)));
    request.on('error', reject);
  });
}

/** GET that insists on a 200 and parses JSON. */
export async function httpGetJson(url: string, timeoutMs = DEFAULT_GET_TIMEOUT_MS): Promise<unknown> {
  const response = await httpGet(url, timeoutMs);
  if (response.status !== 200) {
    throw new Error(`GET ${url} answered ${response.status}: ${response.body.slice(0, 300)}`);
  }
  return JSON.parse(response.body) as unknown;
}
