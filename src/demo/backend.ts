#!/usr/bin/env node
// A demo backend: `node dist/src/demo/backend.js --cluster east --service checkout.shop --version v1 --port 18081`.
// Answers every request with its identity (header x-demo-backend and a one-line JSON body) and prints
// `READY <port>` once listening. The demo spawns one per mesh endpoint; docker-compose runs them too.
import * as http from 'http';
import { FlagSpec, parseFlags } from '../flags/flags';
import { BACKEND_IDENTITY_HEADER, BackendIdentity, formatIdentity, readyLine } from './backend-identity';

const FLAGS: FlagSpec[] = [
  { name: 'cluster', value: 'NAME', help: 'mesh cluster this backend stands for' },
  { name: 'service', value: 'NAME.NAMESPACE', help: 'service it serves', default: 'checkout.shop' },
  { name: 'version', value: 'V', help: 'subset label value', default: 'unversioned' },
  { name: 'host', value: 'ADDRESS', help: 'address to listen on', default: '127.0.0.1' },
  { name: 'port', value: 'PORT', help: 'port to listen on' },
  { name: 'exit-with-parent', value: 'yes|no', help: 'exit when stdin closes (the parent died)', default: 'no' },
];

function fail(message: string): never {
  process.stderr.write(`demo backend: ${message}\n`);
  process.exit(2);
}

function serve(identity: BackendIdentity): http.Server {
  const headerValue = formatIdentity(identity);
  const body = JSON.stringify({ ...identity, pid: process.pid }) + '\n';
  return http
    .createServer((request, response) => {
      // Drain the request so keep-alive connections stay usable.
      request.resume();
      request.on('end', () => {
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          [BACKEND_IDENTITY_HEADER]: headerValue,
        });
        response.end(body);
      });
    })
    .on('clientError', (_error, socket) => socket.destroy());
}

function main(): void {
  const parsed = parseFlags(process.argv.slice(2), FLAGS);
  if (!parsed.ok) fail(parsed.error);
  const flag = (name: string) => parsed.flags.get(name);
  const cluster = flag('cluster') ?? fail('--cluster NAME is required');
  const port = Number(flag('port') ?? fail('--port PORT is required'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port "${flag('port')}" is not a port number`);
  const host = flag('host') as string;
  const identity: BackendIdentity = {
    cluster,
    service: flag('service') as string,
    version: flag('version') as string,
    port,
  };
  const server = serve(identity);
  server.once('error', (error: NodeJS.ErrnoException) => {
    const hint =
      error.code === 'EADDRINUSE' ? ': something else listens there; stop it or change the port in the mesh' : '';
    fail(`cannot listen on ${host}:${port}: ${error.message}${hint}`);
  });
  server.listen({ host, port }, () => {
    const address = server.address();
    process.stdout.write(readyLine(typeof address === 'object' && address ? address.port : port));
  });
  // SIGTERM and SIGINT keep Node's default (die at once), so the parent sees "killed by SIGTERM".
  if (flag('exit-with-parent') === 'yes') {
    // The parent holds our stdin pipe: when it dies (even by SIGKILL), the pipe closes and we follow.
    const exit = () => process.exit(0);
    process.stdin.on('end', exit).on('error', exit).resume();
  }
}

if (require.main === module) main();
