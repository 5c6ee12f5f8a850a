// The admin server's only state-changing requests (drills): POST, JSON, bounded. Allowed with the token
// of --admin-token-file (Authorization: Bearer ...) from anywhere, or without a token file only from a
// loopback peer. JSON only: a browser cannot send application/json cross-site without a CORS preflight,
// which this server never grants, so a page on another origin cannot start a drill.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AdminResponse } from './admin-server';

/** Largest body read (`--admin-max-body-bytes`); a drill request is well under 200 bytes. */
export const DEFAULT_ADMIN_MAX_BODY_BYTES = 4096;
/** Largest token file read; a token is a line of random characters. */
export const MAX_TOKEN_FILE_BYTES = 4096;

export interface PostCaller {
  /** Remote address, for the audit line. */
  peer: string;
  /** Whether the caller showed the admin token. */
  withToken: boolean;
}

export type AdminPostHandler = (body: unknown, caller: PostCaller) => AdminResponse | Promise<AdminResponse>;

export interface AdminPostOptions {
  handlers: ReadonlyMap<string, AdminPostHandler>;
  /** The token of --admin-token-file; absent = loopback callers only. */
  token?: string;
  maxBodyBytes: number;
}

/** Reads the token file: one non-empty line, at most MAX_TOKEN_FILE_BYTES. Throws with what to fix. */
export function readTokenFile(file: string): string {
  const size = fs.statSync(file).size;
  if (size > MAX_TOKEN_FILE_BYTES)
    throw new Error(
      `--admin-token-file ${file} is ${size} bytes; a token file holds one line of at most ${MAX_TOKEN_FILE_BYTES} bytes`,
    );
  const token = fs.readFileSync(file, 'utf8').trim();
  if (token.length < 16 || /\s/.test(token))
    throw new Error(`--admin-token-file ${file} must hold one token of at least 16 characters without spaces`);
  return token;
}

function isLoopbackPeer(address: string | undefined): boolean {
  return (
    address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'))
  );
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const shown = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  const a = crypto.createHash('sha256').update(shown).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(a, b);
}

function text(status: number, body: string): AdminResponse {
  return { status, contentType: 'text/plain; charset=utf-8', body };
}

/** Reads at most `max` bytes; undefined when the body is bigger (the rest is not read). */
function readBody(req: http.IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) {
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Answers a POST to one of `options.handlers`' paths (the caller checked the path and the Host). */
export async function answerPost(
  req: http.IncomingMessage,
  handler: AdminPostHandler,
  options: AdminPostOptions,
): Promise<AdminResponse> {
  const peer = req.socket.remoteAddress ?? '';
  const withToken = options.token !== undefined && tokenMatches(req.headers.authorization, options.token);
  if (options.token !== undefined && !withToken)
    return text(401, 'this needs the admin token: send Authorization: Bearer <the token in --admin-token-file>\n');
  if (options.token === undefined && !isLoopbackPeer(peer)) {
    return text(
      403,
      'changing state over the admin API needs a loopback caller, or start spillway serve with --admin-token-file and send the token\n',
    );
  }
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json'))
    return text(415, 'send the request body as application/json\n');
  const body = await readBody(req, options.maxBodyBytes);
  if (body === undefined)
    return text(413, `the request body is over ${options.maxBodyBytes} bytes (--admin-max-body-bytes)\n`);
  let parsed: unknown;
  try {
    parsed = body.length === 0 ? {} : JSON.parse(body);
  } catch {
    return text(400, 'the request body is not JSON\n');
  }
  return handler(parsed, { peer, withToken });
}
