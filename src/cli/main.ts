#!/usr/bin/env node
// `spillway serve | validate`: the command line front. Parses flags, wires the pipeline, handles signals.
import { formatMeshErrors, loadMeshFile } from '../discovery/file/mesh-file';
import { DEFAULT_MESH_MAX_BYTES, DEFAULT_MESH_SETTLE_MS } from '../discovery/file/mesh-limits';
import { RunningSpillwayServer, ServerStartError, startSpillwayServer } from '../composition-root';
import { LOG_LEVELS, LogFormat, LogLevel, createLogger } from '../log';
import { FlagSpec, flagHelp, parseFlags } from '../flags/flags';
import { FlagNumber, positiveWholeNumber, wholeNumberFromZero } from '../flags/flag-numbers';
import { parseHostPort } from '../net/host-port';
import { runClients, runStatus } from './status';
import { kubernetesSourceStarter, parseNamespaceList } from '../discovery/kubernetes/kubernetes-discovery';
import { KUBE_LIMIT_FLAGS, kubeLimits } from '../discovery/kubernetes/kube-flags';
import * as fs from 'fs';
import { DEFAULT_LRS_LIMITS } from '../lrs/lrs-limits';
import { XDS_CLIENT_LIMIT_FLAGS, xdsClientLimits } from './xds-limit-flags';
import { DEFAULT_MAX_REQUEST_BYTES } from '../xds/server/xds-server';
import { PREDICT_FLAGS, predictOptions } from './predict-flags';
import { runDrill, runWhatIf } from './predict-commands';
import { SCOPE_MODES, ScopeMode } from '../xds/translate/client-view';
import { DEFAULT_MAX_OBSERVED_CALLS } from '../visibility/observed-calls';
import { runScope } from './scope-command';
import { withIstioApply } from '../istio/istio-apply';
import { DEFAULT_ISTIO_RESYNC_MS, MIN_ISTIO_RESYNC_MS } from '../istio/envoy-filter-sync';

const MESH_MAX_BYTES_FLAG: FlagSpec = {
  name: 'mesh-max-bytes',
  value: 'BYTES',
  help: 'largest mesh file read; a bigger one is rejected (the last good mesh stays served)',
  default: String(DEFAULT_MESH_MAX_BYTES),
};

const SERVE_FLAGS: FlagSpec[] = [
  {
    name: 'mesh',
    value: 'FILE',
    help: 'mesh file (YAML or JSON), hot-reloaded on change; without it the embedded example mesh is served',
  },
  MESH_MAX_BYTES_FLAG,
  {
    name: 'mesh-settle-ms',
    value: 'MS',
    help: 'read the mesh file only once its size and modification time stayed the same this long (write it by rename anyway)',
    default: String(DEFAULT_MESH_SETTLE_MS),
  },
  {
    name: 'xds',
    value: 'HOST:PORT',
    help: 'where the xDS (ADS, SotW and delta) gRPC server listens',
    default: '0.0.0.0:15010',
  },
  {
    name: 'admin',
    value: 'HOST:PORT',
    help: 'admin HTTP server: /healthz /readyz /debug/*',
    default: '127.0.0.1:15014',
  },
  {
    name: 'admin-allowed-hosts',
    value: 'NAME,NAME',
    help: 'Host names the admin page and /debug/* answer besides loopback and the --admin address (DNS rebinding protection); /healthz /readyz /metrics answer any Host',
  },
  { name: 'log-level', value: 'LEVEL', help: 'fatal|error|warn|info|debug|trace|silent', default: 'info' },
  {
    name: 'log-format',
    value: 'FORMAT',
    help: 'json | pretty | auto (pretty in a terminal, JSON otherwise)',
    default: 'auto',
  },
  { name: 'debounce-ms', value: 'MS', help: 'quiet period that coalesces bursts of mesh changes', default: '50' },
  { name: 'max-delay-ms', value: 'MS', help: 'longest a change waits while a burst goes on', default: '500' },
  {
    name: 'scope',
    value: 'MODE',
    help: 'what an Envoy sidecar whose workload declares no calls gets: all (every service it can see) or on-demand (clusters fetched on first use; delta xDS only, SotW sidecars keep all)',
    default: 'all',
  },
  {
    name: 'scope-max-observed-calls',
    value: 'N',
    help: '(workload, callee) pairs learned from load reports and kept for spillway scope; more are counted, not kept',
    default: String(DEFAULT_MAX_OBSERVED_CALLS),
  },
  {
    name: 'kube-clusters',
    value: 'FILE',
    help: 'Kubernetes clusters file: discover Services/EndpointSlices/ServiceExports of every cluster listed',
  },
  {
    name: 'istio-apply',
    value: 'HOST:PORT',
    help: "Istio extension mode: keep EnvoyFilters applied in every cluster of --kube-clusters that give istiod's sidecars their endpoints from Spillway, reached at HOST:PORT (docs/ISTIO.md)",
  },
  {
    name: 'istio-namespace',
    value: 'NS',
    help: "namespace of those EnvoyFilters: Istio's root namespace applies them to every sidecar",
    default: 'istio-system',
  },
  {
    name: 'istio-resync-ms',
    value: 'MS',
    help: 'how often the EnvoyFilters are checked besides every mesh change (hand edits and deletions are put back)',
    default: String(DEFAULT_ISTIO_RESYNC_MS),
  },
  {
    name: 'kube-namespaces',
    value: 'NS,NS',
    help: 'watch only these namespaces in every cluster (overrides the clusters file)',
  },
  ...KUBE_LIMIT_FLAGS,
  { name: 'xds-tls-cert', value: 'FILE', help: 'serve xDS over TLS with this certificate chain (PEM)' },
  { name: 'xds-tls-key', value: 'FILE', help: 'private key (PEM) for --xds-tls-cert' },
  {
    name: 'xds-client-ca',
    value: 'FILE',
    help: 'require client certificates from this CA; each must carry the URI SAN spiffe://<trust-domain>/cluster/<CLUSTER_ID>',
  },
  { name: 'trust-domain', value: 'NAME', help: 'SPIFFE trust domain of client identities', default: 'spillway' },
  {
    name: 'max-request-bytes',
    value: 'BYTES',
    help: 'largest request (xDS or load report) accepted; a bigger one ends its stream with RESOURCE_EXHAUSTED',
    default: String(DEFAULT_MAX_REQUEST_BYTES),
  },
  ...XDS_CLIENT_LIMIT_FLAGS,
  {
    name: 'max-streams-per-connection',
    value: 'N',
    help: 'concurrent gRPC streams per client connection',
    default: '16',
  },
  {
    name: 'max-requests-per-second',
    value: 'N',
    help: 'discovery requests per second per stream before it is cut off',
    default: '50',
  },
  {
    name: 'send-budget-bytes',
    value: 'BYTES',
    help: 'responses queued for the sockets server-wide before streams take turns (bounds memory in reconnect storms)',
    default: String(64 * 1024 * 1024),
  },
  {
    name: 'lrs-max-report-bytes',
    value: 'BYTES',
    help: 'largest load report (LRS) accepted; larger ones end the stream with RESOURCE_EXHAUSTED',
    default: String(DEFAULT_LRS_LIMITS.maxReportBytes),
  },
  {
    name: 'lrs-max-clusters-per-report',
    value: 'N',
    help: 'cluster stats entries in one load report',
    default: String(DEFAULT_LRS_LIMITS.maxClustersPerReport),
  },
  {
    name: 'lrs-max-localities-per-report',
    value: 'N',
    help: 'locality stats entries in one load report, over all its clusters',
    default: String(DEFAULT_LRS_LIMITS.maxLocalitiesPerReport),
  },
  ...PREDICT_FLAGS,
  {
    name: 'lrs-max-series',
    value: 'N',
    help: 'load series (client cluster x Envoy cluster x target cluster) kept for the 10 s window, server-wide',
    default: String(DEFAULT_LRS_LIMITS.maxSeries),
  },
];

function readPem(flagName: string, file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (error) {
    fail(`--${flagName} ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function numberOrFail(checked: FlagNumber): number {
  return checked.ok ? checked.value : fail(checked.error);
}

function positiveInteger(flagName: string, text: string): number {
  return numberOrFail(positiveWholeNumber(flagName, text));
}

function nonNegativeInteger(flagName: string, text: string): number {
  return numberOrFail(wholeNumberFromZero(flagName, text));
}

/** `--admin-allowed-hosts a,b:8080`: names only (ports are not compared); no wildcards, no URLs. */
function adminAllowedHosts(text: string | undefined): string[] {
  const names = (text ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  for (const name of names) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.:-]+)$/.test(name))
      fail(
        `--admin-allowed-hosts: "${name}" is not a host name (give names like spillway.example.com or 10.0.0.5, comma-separated)`,
      );
  }
  return names;
}

const USAGE = `Spillway: an Envoy xDS control plane for transparent multi-cluster failover.

Usage:
  spillway serve [flags]        serve xDS to Envoy sidecars, gateways and proxyless gRPC clients
  spillway validate FILE        check a mesh file; exits 1 and lists every error with its line (takes --mesh-max-bytes)
  spillway status [--admin URL] [--json]    failover state per client cluster, service port and subset
  spillway clients [--admin URL] [--json]   connected proxies and their per-type sync status
  spillway scope [--admin URL] [--json]     per workload: declared vs observed callees, a calls: list to paste
  spillway what-if --fail CLUSTER[/SERVICE] [--fail ...]    where traffic would go if these failed, and whether it fits
  spillway drill start|stop|status          rehearse a failure for a bounded time (spillway drill --help)
  spillway istio render --xds-address HOST:PORT   EnvoyFilters that give istiod's sidecars Spillway's endpoints (docs/ISTIO.md)
  spillway demo [--duration-s N]            live failover on loopback: Spillway, real Envoys, backends (docs/DEMO.md)
  spillway --help

Flags of serve:
${flagHelp(SERVE_FLAGS)}
`;

function fail(message: string): never {
  process.stderr.write(`spillway: ${message}\n`);
  process.exit(2);
}

function validate(args: string[]): void {
  const parsed = parseFlags(args, [MESH_MAX_BYTES_FLAG]);
  if (!parsed.ok) fail(parsed.error);
  const file = parsed.positional[0];
  if (!file) fail('validate needs a FILE (spillway validate mesh.yaml)');
  const result = loadMeshFile(file, {
    maxBytes: positiveInteger('mesh-max-bytes', parsed.flags.get('mesh-max-bytes') as string),
  });
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
  if (!LOG_LEVELS.includes(flag('log-level') as LogLevel))
    fail(`--log-level "${flag('log-level')}" is not one of ${LOG_LEVELS.join(', ')}`);
  if (!['auto', 'json', 'pretty'].includes(flag('log-format')))
    fail(`--log-format "${flag('log-format')}" is not json, pretty or auto`);
  const logger = createLogger(flag('log-level') as LogLevel, flag('log-format') as LogFormat);
  const certChain = readPem('xds-tls-cert', parsed.flags.get('xds-tls-cert'));
  const privateKey = readPem('xds-tls-key', parsed.flags.get('xds-tls-key'));
  const clientCa = readPem('xds-client-ca', parsed.flags.get('xds-client-ca'));
  if ((certChain === undefined) !== (privateKey === undefined)) fail('--xds-tls-cert and --xds-tls-key go together');
  if (clientCa && !certChain) fail('--xds-client-ca needs --xds-tls-cert and --xds-tls-key (mTLS is on top of TLS)');
  const maxRequestsPerSecond = positiveInteger('max-requests-per-second', flag('max-requests-per-second'));
  const scope = flag('scope') as ScopeMode;
  if (!SCOPE_MODES.includes(scope)) fail(`--scope "${flag('scope')}" is not one of ${SCOPE_MODES.join(', ')}`);
  const kubeClusters = parsed.flags.get('kube-clusters');
  const namespaces = parsed.flags.has('kube-namespaces') ? parseNamespaceList(flag('kube-namespaces')) : undefined;
  if (namespaces && !Array.isArray(namespaces)) fail(`--kube-namespaces: ${namespaces.error}`);
  const kube = kubeLimits((name) => positiveInteger(name, flag(name)), fail);
  const istioApply = parsed.flags.has('istio-apply') ? parseHostPort(flag('istio-apply')) : undefined;
  if (parsed.flags.has('istio-apply') && !istioApply)
    fail(`--istio-apply "${flag('istio-apply')}" is not HOST:PORT (Spillway's xDS address as the sidecars reach it)`);
  if (istioApply && !kubeClusters)
    fail('--istio-apply needs --kube-clusters: the EnvoyFilters are applied in the clusters it lists');
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(flag('istio-namespace')))
    fail(`--istio-namespace "${flag('istio-namespace').slice(0, 80)}" is not a namespace name`);
  const istioResyncMs = positiveInteger('istio-resync-ms', flag('istio-resync-ms'));
  if (istioResyncMs < MIN_ISTIO_RESYNC_MS)
    fail(
      `--istio-resync-ms must be at least ${MIN_ISTIO_RESYNC_MS}: every pass lists the EnvoyFilters of every cluster`,
    );
  const kubeStarter = kubeClusters
    ? kubernetesSourceStarter({
        clustersFile: kubeClusters,
        namespaces,
        ...kube,
        invalidConfig: (message) => new ServerStartError(message),
      })
    : undefined;
  let server: RunningSpillwayServer;
  try {
    server = await startSpillwayServer({
      logger,
      meshPath: parsed.flags.get('mesh'),
      meshFile: {
        settleMs: nonNegativeInteger('mesh-settle-ms', flag('mesh-settle-ms')),
        limits: { maxBytes: positiveInteger('mesh-max-bytes', flag('mesh-max-bytes')) },
      },
      xds,
      admin,
      extraSources: kubeStarter
        ? [
            istioApply
              ? withIstioApply(kubeStarter, {
                  xdsHost: istioApply.host,
                  xdsPort: istioApply.port,
                  namespace: flag('istio-namespace'),
                  resyncMs: istioResyncMs,
                })
              : kubeStarter,
          ]
        : [],
      debounce: { quietMs: Number(flag('debounce-ms')), maxDelayMs: Number(flag('max-delay-ms')) },
      serverOptions: {
        tls: certChain && privateKey ? { certChain, privateKey, clientCa } : undefined,
        identity: clientCa ? { trustDomain: flag('trust-domain') } : undefined,
        maxRequestBytes: positiveInteger('max-request-bytes', flag('max-request-bytes')),
        maxStreamsPerConnection: positiveInteger('max-streams-per-connection', flag('max-streams-per-connection')),
        maxRequestsPerSecond,
        requestBurst: maxRequestsPerSecond * 4,
        sendBudgetBytes: positiveInteger('send-budget-bytes', flag('send-budget-bytes')),
        clientLimits: xdsClientLimits((name) => positiveInteger(name, flag(name))),
      },
      lrsLimits: {
        maxReportBytes: positiveInteger('lrs-max-report-bytes', flag('lrs-max-report-bytes')),
        maxClustersPerReport: positiveInteger('lrs-max-clusters-per-report', flag('lrs-max-clusters-per-report')),
        maxLocalitiesPerReport: positiveInteger('lrs-max-localities-per-report', flag('lrs-max-localities-per-report')),
        maxSeries: positiveInteger('lrs-max-series', flag('lrs-max-series')),
      },
      adminAllowedHosts: adminAllowedHosts(parsed.flags.get('admin-allowed-hosts')),
      predict: predictOptions(
        (name) => parsed.flags.get(name),
        (name) => positiveInteger(name, flag(name)),
        fail,
      ),
      scope: { scope },
      maxObservedCalls: positiveInteger('scope-max-observed-calls', flag('scope-max-observed-calls')),
    });
  } catch (error) {
    if (error instanceof ServerStartError) fail(error.message);
    throw error;
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: closing streams (clients reconnect to another replica)');
    await server.stop(1_000);
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
    case 'scope':
      process.exitCode = await runScope(rest);
      return;
    case 'what-if':
      process.exitCode = await runWhatIf(rest);
      return;
    case 'drill':
      process.exitCode = await runDrill(rest);
      return;
    case 'istio': {
      const { runIstioCommand } = await import('../istio/render-command');
      process.exitCode = runIstioCommand(rest);
      return;
    }
    case 'demo': {
      // Loaded only for this command: `spillway serve` never loads the demo.
      const { runDemoCommand } = await import('../demo/demo-command');
      process.exitCode = await runDemoCommand(rest);
      return;
    }
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
