// A small Kubernetes API client over node's http/https: GET JSON, and watch streams (one JSON event per
// line). Enough for list+watch, with bounded waits everywhere: a silent server cannot hang discovery.
import * as http from 'http';
import * as https from 'https';
import { ApiServerAccess, errorText, readToken } from './api-access';
import { KubeApiError, problemOfStatus, toApiError } from './api-errors';

/** A connection the API server does not accept in this time is treated as unreachable. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Upper bound for one (paginated) list request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Longest error body quoted in a log line. */
const MAX_ERROR_BODY_CHARS = 500;

export const JSON_ACCEPT = 'application/json';
/** Metadata-only responses (PartialObjectMetadata), for resources where only labels matter. */
export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const METADATA_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

export interface WatchHandlers {
  /** The server accepted the watch (200): from now on the state is current. */
  onOpen: () => void;
  /** One decoded watch event. */
  onEvent: (event: unknown) => void;
}

export interface WatchHandle {
  /** Resolves when the server ends the stream (its timeout); rejects on any failure or abort. */
  done: Promise<void>;
  /** Ends the watch; `done` rejects with this error. */
  abort: (error: KubeApiError) => void;
}

export class KubeClient {
  private readonly agent: http.Agent;
  private readonly secure: boolean;

  constructor(
    readonly access: ApiServerAccess,
    private readonly connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
  ) {
    this.secure = access.server.startsWith('https:');
    const agentOptions: https.AgentOptions = {
      keepAlive: true,
      ...(access.ca ? { ca: access.ca } : {}),
      ...(access.clientCert ? { cert: access.clientCert } : {}),
      ...(access.clientKey ? { key: access.clientKey } : {}),
      ...(access.tlsServerName ? { servername: access.tlsServerName } : {}),
      rejectUnauthorized: !access.insecureSkipTlsVerify,
    };
    this.agent = this.secure ? new https.Agent(agentOptions) : new http.Agent({ keepAlive: true });
  }

  /** GET a JSON document; throws KubeApiError. */
  async getJson(path: string, accept = JSON_ACCEPT, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<unknown> {
    const response = await this.open(path, accept, timeoutMs);
    const body = await readBody(response, timeoutMs);
    try {
      return JSON.parse(body) as unknown;
    } catch {
      throw new KubeApiError(
        'bad-response',
        `GET ${withoutQuery(path)}: the response is not JSON: ${body.slice(0, MAX_ERROR_BODY_CHARS)}`,
      );
    }
  }

  /**
   * Opens a watch stream. `idleTimeoutMs` bounds the silence between chunks: a half-open connection
   * (the server vanished without a FIN) is noticed and aborted instead of waiting forever. An exec
   * plugin's token refused with 401 is renewed and the watch opened once more.
   */
  watch(path: string, accept: string, idleTimeoutMs: number, handlers: WatchHandlers): WatchHandle {
    let abortedWith: KubeApiError | undefined;
    let abortCurrent: (error: KubeApiError) => void = () => undefined;
    const attempt = async (renewed: boolean): Promise<void> => {
      const auth = await this.authorization();
      if (abortedWith) throw abortedWith;
      const opened = this.watchWith(path, accept, idleTimeoutMs, handlers, auth, (abort) => (abortCurrent = abort));
      try {
        await opened;
      } catch (error) {
        if (!renewed && this.renewAfter401(error, auth)) return attempt(true);
        throw error;
      }
    };
    const done = attempt(false);
    return {
      done,
      abort: (error: KubeApiError) => {
        abortedWith ??= error;
        abortCurrent(error);
      },
    };
  }

  private watchWith(
    path: string,
    accept: string,
    idleTimeoutMs: number,
    handlers: WatchHandlers,
    auth: Authorization,
    onAbortable: (abort: (error: KubeApiError) => void) => void,
  ): Promise<void> {
    let settle: (error?: KubeApiError) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      const request = this.request(path, accept, auth);
      let settled = false;
      settle = (error?: KubeApiError) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        request.destroy();
        if (error) reject(error);
        else resolve();
      };
      const idle = setTimeout(
        () => settle(new KubeApiError('timeout', `watch ${withoutQuery(path)}: no data for ${idleTimeoutMs}ms`)),
        idleTimeoutMs,
      );
      request.on('error', (error) => settle(toApiError(error)));
      request.on('response', (response) => {
        idle.refresh();
        if (response.statusCode !== 200) {
          readBody(response, this.connectTimeoutMs).then(
            (body) => settle(statusError(`watch ${withoutQuery(path)}`, response.statusCode ?? 0, body)),
            (error: unknown) => settle(toApiError(error)),
          );
          return;
        }
        handlers.onOpen();
        const lines = new LineSplitter();
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          idle.refresh();
          for (const line of lines.push(chunk)) {
            if (settled) return;
            let event: unknown;
            try {
              event = JSON.parse(line) as unknown;
            } catch {
              settle(
                new KubeApiError(
                  'bad-response',
                  `watch ${withoutQuery(path)}: an event is not JSON: ${line.slice(0, MAX_ERROR_BODY_CHARS)}`,
                ),
              );
              return;
            }
            handlers.onEvent(event);
          }
        });
        response.on('error', (error) => settle(toApiError(error)));
        // A stream cut by a dying server ends as 'aborted'/'close' without 'end' on some versions.
        response.on('close', () =>
          settle(
            response.complete
              ? undefined
              : new KubeApiError('unreachable', `watch ${withoutQuery(path)}: the connection was closed`),
          ),
        );
      });
      request.end();
    });
    onAbortable((error) => settle(error));
    return done;
  }

  close(): void {
    this.agent.destroy();
  }

  /** One request; an exec plugin's token refused with 401 is renewed and the request sent once more. */
  private async open(
    path: string,
    accept: string,
    timeoutMs: number,
    write?: WriteRequest,
  ): Promise<http.IncomingMessage> {
    const auth = await this.authorization();
    try {
      return await this.openWith(path, accept, timeoutMs, auth, write);
    } catch (error) {
      if (!this.renewAfter401(error, auth)) throw error;
      return this.openWith(path, accept, timeoutMs, await this.authorization(), write);
    }
  }

  /**
   * A write (create, replace, delete) with a JSON body; resolves with the object the API server returns.
   * Only the Istio extension writes (its EnvoyFilters); discovery itself only reads.
   */
  async sendJson(
    method: WriteMethod,
    path: string,
    body?: unknown,
    timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ): Promise<unknown> {
    const response = await this.open(path, JSON_ACCEPT, timeoutMs, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await readBody(response, timeoutMs);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new KubeApiError(
        'bad-response',
        `${method} ${withoutQuery(path)}: the answer is not JSON: ${text.slice(0, MAX_ERROR_BODY_CHARS)}`,
      );
    }
  }

  /** The bearer token for the next request (an exec plugin runs when its token expired). */
  private async authorization(): Promise<Authorization> {
    const source = this.access.token;
    if (!source) return {};
    try {
      return { token: await readToken(source) };
    } catch (error) {
      throw new KubeApiError('credentials', errorText(error));
    }
  }

  /** A 401 to an exec plugin's token: forget it so the plugin runs again (client-go does the same). */
  private renewAfter401(error: unknown, auth: Authorization): boolean {
    const source = this.access.token;
    if (!(error instanceof KubeApiError) || error.status !== 401 || source?.kind !== 'exec' || auth.token === undefined)
      return false;
    source.plugin.rejected(auth.token);
    return true;
  }

  private openWith(
    path: string,
    accept: string,
    timeoutMs: number,
    auth: Authorization,
    write?: WriteRequest,
  ): Promise<http.IncomingMessage> {
    const method = write?.method ?? 'GET';
    return new Promise((resolve, reject) => {
      const request = this.request(path, accept, auth, method, write?.body);
      const timer = setTimeout(
        () =>
          request.destroy(
            new KubeApiError('timeout', `${method} ${withoutQuery(path)}: no answer within ${timeoutMs}ms`),
          ),
        timeoutMs,
      );
      request.on('error', (error) => {
        clearTimeout(timer);
        reject(toApiError(error));
      });
      request.on('response', (response) => {
        clearTimeout(timer);
        // 201 Created and 202 Accepted (a delete in progress) are successes of writes.
        if (response.statusCode === 200 || (write && (response.statusCode === 201 || response.statusCode === 202))) {
          resolve(response);
          return;
        }
        readBody(response, timeoutMs).then(
          (body) => reject(statusError(`${method} ${withoutQuery(path)}`, response.statusCode ?? 0, body)),
          (error: unknown) => reject(toApiError(error)),
        );
      });
      request.end(write?.body);
    });
  }

  private request(
    path: string,
    accept: string,
    auth: Authorization,
    method = 'GET',
    body?: string,
  ): http.ClientRequest {
    const url = new URL(this.access.server + path);
    const headers: http.OutgoingHttpHeaders = { Accept: accept, 'User-Agent': 'spillway' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    // Read per request: a rotated token file takes effect at the next (re)connect.
    if (auth.token !== undefined) headers.Authorization = `Bearer ${auth.token}`;
    const options: https.RequestOptions = { method, headers, agent: this.agent, timeout: this.connectTimeoutMs };
    const request = this.secure ? https.request(url, options) : http.request(url, options);
    // `timeout` is socket inactivity before the response starts; after it the callers' own timers rule.
    request.on('timeout', () =>
      request.destroy(new KubeApiError('timeout', `${url.host}: no answer within ${this.connectTimeoutMs}ms`)),
    );
    request.on('response', () => request.setTimeout(0));
    return request;
  }
}

interface Authorization {
  token?: string;
}

export type WriteMethod = 'POST' | 'PUT' | 'DELETE';

interface WriteRequest {
  method: WriteMethod;
  body: string | undefined;
}

/** Splits a chunked stream into complete, non-empty lines. */
class LineSplitter {
  private pending = '';

  push(chunk: string): string[] {
    this.pending += chunk;
    const parts = this.pending.split('\n');
    this.pending = parts.pop() ?? '';
    return parts.map((line) => line.trim()).filter((line) => line !== '');
  }
}

function readBody(response: http.IncomingMessage, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(
      () => response.destroy(new KubeApiError('timeout', `the response body did not finish within ${timeoutMs}ms`)),
      timeoutMs,
    );
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('error', (error) => {
      clearTimeout(timer);
      reject(toApiError(error));
    });
    response.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** The API's Status message when the body is one, else the start of the body. */
function statusError(what: string, status: number, body: string): KubeApiError {
  let message = body.slice(0, MAX_ERROR_BODY_CHARS);
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Not a Status object: quote the text.
  }
  return new KubeApiError(problemOfStatus(status), `${what}: HTTP ${status}: ${message}`, status);
}

/** Paths in messages lose their query (timeouts, continue tokens): the same failure reads the same. */
function withoutQuery(path: string): string {
  const question = path.indexOf('?');
  return question < 0 ? path : path.slice(0, question);
}
