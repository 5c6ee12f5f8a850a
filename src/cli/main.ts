#!/usr/bin/env node
// `spillway serve | validate`: the command line front. Parses flags, wires the pipeline, handles signals.
import { AdminServer } from '../admin/admin-server';
import { debugRoutes } from '../admin/debug-routes';
import { EMBEDDED_MESH_YAML } from '../discovery/embedded-mesh';
import { MeshFileSource } from '../discovery/file/file-source';
import { formatMeshErrors, loadMeshFile, parseMeshText } from '../discovery/file/mesh-file';
import { LOG_LEVELS, LogFormat, LogLevel, createLogger } from '../log';
import { MeshStore } from '../mesh/store';
import { Spillway } from '../spillway';
import { SpillwayMetrics } from '../visibility/metrics';
import { FlagSpec, flagHelp, parseFlags, parseHostPort } from './args';
import { runClients, runStatus } from './status';
import * as fs from 'fs';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

const SERVE_FLAGS: FlagSpec[] = [
  { name: 'mesh', value: 'FILE', help: 'mesh file (YAML or JSON), hot-reloaded on change; without it the embedded example mesh is served' },
  { name: 'xds', value: 'HOST:PORT', help: 'where the xDS (ADS, SotW and delta) gRPC server listens', default: '0.0.0.0:15010' },
  { name: 'admin', value: 'HOST:PORT', help: 'admin HTTP server: /healthz /readyz /debug/*', default: '127.0.0.1:15014' },
  { name: 'log-level', value: 'LEVEL', help: 'fatal|error|warn|info|debug|trace|silent', default: 'info' },
  { name: 'log-format', value: 'FORMAT', help: 'json | pretty | auto (pretty in a terminal, JSON otherwise)', default: 'auto' },
  { name: 'debounce-ms', value: 'MS', help: 'quiet period that coalesces bursts of mesh changes', default: '50' },
  { name: 'max-delay-ms', value: 'MS', help: 'longest a change waits while a burst goes on', default: '500' },
  { name: 'xds-tls-cert', value: 'FILE', help: 'serve xDS over TLS with this certificate chain (PEM)' },
  { name: 'xds-tls-key', value: 'FILE', help: 'private key (PEM) for --xds-tls-cert' },
  { name: 'xds-client-ca', value: 'FILE', help: 'require client certificates from this CA; each must carry the URI SAN spiffe://<trust-domain>/cluster/<CLUSTER_ID>' },
  { name: 'trust-domain', value: 'NAME', help: 'SPIFFE trust domain of client identities', default: 'spillway' },
  { name: 'max-request-bytes', value: 'BYTES', help: 'largest discovery request accepted', default: String(64 * 1024 * 1024) },
  { name: 'max-streams-per-connection', value: 'N', help: 'concurrent gRPC streams per client connection', default: '16' },
  { name: 'max-requests-per-second', value: 'N', help: 'discovery requests per second per stream before it is cut off', default: '50' },
];

function readPem(flagName: string, file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (error) {
    fail(`--${flagName} ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function positiveInteger(flagName: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) fail(`--${flagName} "${text}" is not a positive whole number`);
  return value;
}

const USAGE = `Spillway: an Envoy xDS control plane for transparent multi-cluster failover.

Usage:
  spillway serve [flags]        serve xDS to Envoy sidecars, gateways and proxyless gRPC clients
  spillway validate FILE        check a mesh file; exits 1 and lists every error with its line
  spillway status [--admin URL] [--json]    failover state per client cluster, service port and subset
  spillway clients [--admin URL] [--json]   connected proxies and their per-type sync status
  spillway --help

Flags of serve:
${flagHelp(SERVE_FLAGS)}
`;

function fail(message: string): never {
  process.stderr.write(`spillway: ${message}\n`);
  process.exit(2);
}

function validate(args: string[]): void {
  const file = args[0];
  if (!file) fail('validate needs a FILE (spillway validate mesh.yaml)');
  const result = loadMeshFile(file);
  if (!result.ok) {
    process.stderr.write(formatMeshErrors(file, result.errors) + '\n');
    process.stderr.write(`${file}: ${result.errors.length} error(s)\n`);
    process.exit(1);
  }
  const { clusters, services, endpoints } = result.summary;
  process.stdout.write(`${file}: ok (${clusters} clusters, ${services} services, ${endpoints} endpoints)\n`);
}

async function serve(args: string[]): Promise<void> {
  const parsed = parseFlags(args, SERVE_FLAGS);
  if (!parsed.ok) fail(parsed.error);
  if (parsed.flags.has('help')) {
    process.stdout.write(USAGE);
    return;
  }
  const flag = (name: string): string => parsed.flags.get(name) as string;
  const xds = parseHostPort(flag('xds'));
  if (!xds) fail(`--xds "${flag('xds')}" is not HOST:PORT`);
  const admin = parseHostPort(flag('admin'));
  if (!admin) fail(`--admin "${flag('admin')}" is not HOST:PORT`);
  if (!LOG_LEVELS.includes(flag('log-level') as LogLevel)) fail(`--log-level "${flag('log-level')}" is not one of ${LOG_LEVELS.join(', ')}`);
  if (!['auto', 'json', 'pretty'].includes(flag('log-format'))) fail(`--log-format "${flag('log-format')}" is not json, pretty or auto`);
  const logger = createLogger(flag('log-level') as LogLevel, flag('log-format') as LogFormat);
  const store = new MeshStore({ quietMs: Number(flag('debounce-ms')), maxDelayMs: Number(flag('max-delay-ms')) });

  const meshPath = parsed.flags.get('mesh');
  let fileSource: MeshFileSource | undefined;
  if (meshPath) {
    fileSource = new MeshFileSource({ path: meshPath, store, logger: logger.child({ component: 'mesh-file' }) });
    const first = fileSource.start();
    if (!first.ok) {
      process.stderr.write(formatMeshErrors(meshPath, first.errors) + '\n');
      fail(`${meshPath} is not a valid mesh file; fix it (spillway validate ${meshPath}) and start again`);
    }
  } else {
    const embedded = parseMeshText(EMBEDDED_MESH_YAML);
    if (!embedded.ok) fail('the embedded mesh is invalid (a bug): ' + formatMeshErrors('embedded', embedded.errors));
    store.setShard('file', embedded.model);
    logger.info(embedded.summary, 'serving the embedded example mesh (use --mesh FILE for yours)');
  }
  store.flush();

  const certChain = readPem('xds-tls-cert', parsed.flags.get('xds-tls-cert'));
  const privateKey = readPem('xds-tls-key', parsed.flags.get('xds-tls-key'));
  const clientCa = readPem('xds-client-ca', parsed.flags.get('xds-client-ca'));
  if ((certChain === undefined) !== (privateKey === undefined)) fail('--xds-tls-cert and --xds-tls-key go together');
  if (clientCa && !certChain) fail('--xds-client-ca needs --xds-tls-cert and --xds-tls-key (mTLS is on top of TLS)');
  const maxRequestsPerSecond = positiveInteger('max-requests-per-second', flag('max-requests-per-second'));
  const spillway = new Spillway({
    store,
    logger,
    xdsAddress: `${xds.host.includes(':') ? `[${xds.host}]` : xds.host}:${xds.port}`,
    serverOptions: {
      tls: certChain && privateKey ? { certChain, privateKey, clientCa } : undefined,
      identity: clientCa ? { trustDomain: flag('trust-domain') } : undefined,
      maxRequestBytes: positiveInteger('max-request-bytes', flag('max-request-bytes')),
      maxStreamsPerConnection: positiveInteger('max-streams-per-connection', flag('max-streams-per-connection')),
      maxRequestsPerSecond,
      requestBurst: maxRequestsPerSecond * 4,
    },
  });
  if (!certChain && !isLoopback(xds.host)) {
    logger.warn({ xds: flag('xds') }, 'xDS is served without TLS on a non-loopback address: any client that can connect gets configuration; use --xds-tls-cert/--xds-tls-key/--xds-client-ca in production');
  }
  await spillway.start();
  const metrics = new SpillwayMetrics({
    registry: spillway.server.registry,
    tracker: spillway.tracker,
    loads: spillway.loads,
    sources: () => (fileSource ? [{ name: 'file', ...fileSource.stats }] : [{ name: 'embedded', reloads: 0, rejected: 0, lastGoodAtMs: Date.now() }]),
    rebuilds: () => spillway.stats,
  });
  const adminServer = new AdminServer({
    logger,
    handlers: debugRoutes({ spillway, currentModel: () => store.current(), isReady: () => store.version > 0, metrics }),
  });
  const adminPort = await adminServer.listen(admin.host, admin.port);
  logger.info({ admin: `http://${admin.host}:${adminPort}/` }, 'admin server listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: closing streams (clients reconnect to another replica)');
    fileSource?.stop();
    await Promise.all([spillway.stop(1_000), adminServer.close()]);
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'validate':
      return validate(rest);
    case 'status':
      process.exitCode = await runStatus(rest);
      return;
    case 'clients':
      process.exitCode = await runClients(rest);
      return;
    case undefined:
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      fail(`unknown command "${command}" (see spillway --help)`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`spillway: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
