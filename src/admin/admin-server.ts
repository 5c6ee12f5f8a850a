// The admin HTTP server: health, readiness and debug JSON. Read-only (GET/HEAD) but for the drill POSTs
// (admin-post.ts), loopback by default;
// answers only loopback or configured Host names (probe paths excepted) and sends security headers.
import * as http from 'http';
import type { Logger } from 'pino';
import { ThrottledLog } from '../throttled-log';
import { HostPolicy } from './host-policy';
import { SECURITY_HEADERS } from './security-headers';
import { AdminPostOptions, answerPost } from './admin-post';

export interface AdminResponse {
  status: number;
  contentType: string;
  body: string;
}

export type AdminHandler = (url: URL) => AdminResponse | undefined | Promise<AdminResponse | undefined>;

export interface AdminServerOptions {
  logger: Logger;
  handlers: Map<string, AdminHandler>;
  /** Host names answered besides loopback and the bound address (`--admin-allowed-hosts`). */
  allowedHosts?: readonly string[];
  /** The few POST paths (drills), their access rule and body bound; everything else stays GET/HEAD. */
  post?: AdminPostOptions;
}

export class AdminServer {
  private readonly server: http.Server;
  private readonly hosts: HostPolicy;
  private readonly refusals: ThrottledLog;

  constructor(private readonly options: AdminServerOptions) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.hosts = new HostPolicy(options.allowedHosts);
    this.refusals = new ThrottledLog(options.logger);
  }

  /** Adds a GET route (modules that own their routes register them this way). */
  addRoute(path: string, handler: AdminHandler): void {
    this.options.handlers.set(path, handler);
  }

  listen(host: string, port: number): Promise<number> {
    this.hosts.allowBoundAddress(host);
    return new Promise((resolve, reject) => {
      this.server.once('error', (error) =>
        reject(new Error(`cannot listen for admin on ${host}:${port}: ${error.message} (pick another with --admin)`)),
      );
      this.server.listen(port, host, () => {
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.respond(req, res).catch((error: unknown) => {
      this.options.logger.error(
        { err: error instanceof Error ? error.message : String(error), url: req.url },
        'admin request failed',
      );
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error; see the spillway log\n');
    });
  }

  private async respond(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const postHandler =
      req.method === 'POST'
        ? this.options.post?.handlers.get(new URL(req.url ?? '/', 'http://admin.local').pathname)
        : undefined;
    if (postHandler && this.options.post) {
      const refused = this.hosts.refusal('/debug/drill', req.headers.host);
      const result = refused
        ? { status: 403, contentType: 'text/plain; charset=utf-8', body: refused }
        : await answerPost(req, postHandler, this.options.post);
      res.writeHead(result.status, { 'content-type': result.contentType });
      res.end(result.body);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end(
        'the admin server is read-only: use GET or HEAD (POST only starts and stops drills: /debug/drill/start, /debug/drill/stop)\n',
      );
      return;
    }
    const url = new URL(req.url ?? '/', 'http://admin.local');
    const refusal = this.hosts.refusal(url.pathname, req.headers.host);
    if (refusal) {
      this.refusals.warn(
        'host',
        { host: req.headers.host?.slice(0, 80), path: url.pathname.slice(0, 80) },
        'admin request refused: Host not allowed (--admin-allowed-hosts)',
      );
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : refusal);
      return;
    }
    const handler = this.options.handlers.get(url.pathname);
    const result = await handler?.(url);
    if (!result) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no such admin path ${url.pathname}; try ${[...this.options.handlers.keys()].join(', ')}\n`);
      return;
    }
    res.writeHead(result.status, { 'content-type': result.contentType });
    res.end(req.method === 'HEAD' ? undefined : result.body);
  }
}

export function json(body: unknown, status = 200): AdminResponse {
  return { status, contentType: 'application/json', body: JSON.stringify(body, null, 2) + '\n' };
}
