// Command-line options of `npm run bench`.
import { ClientKind, StreamMode } from './load/protocol';
import { ServerName } from './servers/server-under-test';
import { FlagSpec, parseFlags } from '../src/flags/flags';

export interface BenchOptions {
  quick: boolean;
  services: number[];
  clients: number[];
  /** Client counts at which gRPC-like (proxyless) clients are measured too, besides Envoy-like ones. */
  grpcClients: number[];
  /**
   * Client counts of the mTLS workload: N sidecars that are each a pod of their own next to N sharing one
   * view, on the same mesh made mTLS (Spillway only: the peers have no per-pod node inputs).
   */
  podClients: number[];
  /**
   * Client counts of the scoped workload: every service declares the services it calls
   * (`callsPerWorkload` of them) and each sidecar names its workload, so it holds only those.
   */
  scopedClients: number[];
  callsPerWorkload: number;
  /** `pods`: the mTLS workload alone (Spillway only, its own report file). */
  workload: 'all' | 'pods';
  clusters: number;
  endpointsPerCluster: number;
  repetitions: number;
  flips: number;
  servers: ServerName[];
  mode: StreamMode;
  /** Where the report goes; the quick check writes beside the build output, never over the real figures. */
  output: string;
  /** Use only peers already built (never start a build): the quick check in CI stays bounded. */
  cachedPeersOnly: boolean;
  /** Where the plot goes (an SVG next to the report). */
  plot: string;
  /** Idle time before each memory reading (steady state), the same for every server. */
  steadyIdleMs: number;
}

/**
 * The (clients, kind) pairs of a run, Envoy-like first. The two mTLS kinds run back to back at each N, in
 * turns by repetition (`rep`), so drift in machine load does not always favour the same one.
 */
export function clientSets(options: BenchOptions, rep = 0): { clients: number; kind: ClientKind }[] {
  const pair: ClientKind[] = rep % 2 === 0 ? ['mtls-pods', 'mtls-shared'] : ['mtls-shared', 'mtls-pods'];
  const of = (kind: ClientKind) => (clients: number) => ({ clients, kind });
  return [
    ...options.clients.map(of('envoy')),
    ...options.grpcClients.map(of('grpc')),
    ...options.podClients.flatMap((clients) => pair.map((kind) => ({ clients, kind }))),
    ...options.scopedClients.map(of('scoped')),
  ];
}

// The best configuration of a peer comes first; its reference configuration after it.
const ALL_SERVERS: readonly ServerName[] = [
  'spillway',
  'go-control-plane',
  'go-control-plane-snapshot',
  'istiod',
  'istiod-default',
];

export const USAGE = `npm run bench -- [--quick] [--services 100,1000] [--clients 1000,5000,10000] [--grpc-clients 1000]
  [--pod-clients 1000,5000] [--scoped-clients 1000,5000,10000] [--calls 10] [--workload all|pods] [--clusters 3] [--endpoints 10] [--reps 2] [--flips 20]
  [--servers spillway,go-control-plane,go-control-plane-snapshot,istiod,istiod-default] [--mode sotw|delta] [--out docs/BENCHMARKS.md] [--cached-peers]
--quick: one small mesh, 100 Envoy-like, 50 gRPC-like and 2 x 50 mTLS workload clients, one repetition,
  only peers already built (a smoke check of the harness that CI runs; < 1 min; exits non-zero only if
  Spillway's run fails).
--grpc-clients: client counts at which gRPC-like (proxyless) clients are measured as well ("0" for none).
--pod-clients: client counts of the mTLS workload (the mesh made mTLS; N sidecars each a pod of its own
  next to N sharing one view; Spillway only) ("0" for none).
--scoped-clients: client counts of the scoped workload (every service declares the --calls services it
  calls, 4 of them the ones the endpoint changes touch; each sidecar names its workload in node metadata
  SERVICE and holds only those services) ("0" for none).
--workload pods: only the mTLS workload (no plain Envoy-like or gRPC-like clients, Spillway only); the
  report goes to dist/bench/BENCHMARKS-pods.md unless --out says otherwise.`;

function numbers(text: string, flag: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v <= 0))
    throw new Error(`${flag} wants positive integers, got "${text}"`);
  return values;
}

function positive(text: string, flag: string): number {
  return numbers(text, flag)[0];
}

/** Read by the shared flag parser; what each means is in USAGE. */
const BENCH_FLAGS: FlagSpec[] = [
  { name: 'quick', switch: true, help: 'a smoke check of the harness' },
  { name: 'cached-peers', switch: true, help: 'only peers already built' },
  ...[
    'services',
    'clients',
    'grpc-clients',
    'pod-clients',
    'scoped-clients',
    'calls',
    'workload',
    'clusters',
    'endpoints',
    'reps',
    'flips',
    'servers',
    'mode',
    'out',
  ].map((name): FlagSpec => ({ name, value: 'VALUE', help: '' })),
];

export function parseOptions(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const options: BenchOptions = {
    quick,
    services: quick ? [50] : [100, 1000],
    // The workload: 1k, 5k and 10k clients (a server that would not fit in memory is not run).
    clients: quick ? [100] : [1000, 5000, 10000],
    grpcClients: quick ? [50] : [1000],
    // The mTLS mesh where every sidecar is a pod of its own (issue 14), against one shared view.
    podClients: quick ? [50] : [1000, 5000],
    // Sidecars that get only what their workload calls (declared dependencies): the shape real meshes have.
    scopedClients: quick ? [50] : [1000, 5000, 10000],
    callsPerWorkload: 10,
    workload: 'all',
    clusters: 3,
    endpointsPerCluster: quick ? 3 : 10,
    repetitions: quick ? 1 : 2,
    // At least 20 changes per run, so a p99 over flips is not just their maximum.
    flips: quick ? 3 : 20,
    servers: [...ALL_SERVERS],
    mode: 'sotw',
    output: quick ? 'dist/bench/BENCHMARKS-quick.md' : 'docs/BENCHMARKS.md',
    cachedPeersOnly: quick,
    plot: quick ? 'dist/bench/bench-push-p99-quick.svg' : 'docs/images/bench-push-p99.svg',
    // No collection is forced before RSS is read: what a process still holds after this long idle is what
    // it would hold in service. Waited twice per run, so it stays short.
    steadyIdleMs: quick ? 1_000 : 5_000,
  };
  if (argv.includes('-h')) throw new Error(USAGE);
  const parsed = parseFlags(argv, BENCH_FLAGS);
  if (!parsed.ok) throw new Error(`${parsed.error.replace(/ \(see --help\)$/, '')}\n${USAGE}`);
  if (parsed.flags.has('help')) throw new Error(USAGE);
  if (parsed.positional.length > 0) throw new Error(`unexpected argument ${parsed.positional[0]}\n${USAGE}`);
  const flag = (name: string): string | undefined => parsed.flags.get(name);
  const counts = (name: string): number[] | undefined => {
    const value = flag(name);
    if (value === undefined) return undefined;
    return value.trim() === '0' ? [] : numbers(value, `--${name}`);
  };
  const count = (name: string): number | undefined => {
    const value = flag(name);
    return value === undefined ? undefined : positive(value, `--${name}`);
  };
  if (parsed.flags.has('cached-peers')) options.cachedPeersOnly = true;
  const services = flag('services');
  if (services !== undefined) options.services = numbers(services, '--services');
  options.clients = counts('clients') ?? options.clients;
  options.grpcClients = counts('grpc-clients') ?? options.grpcClients;
  options.scopedClients = counts('scoped-clients') ?? options.scopedClients;
  options.podClients = counts('pod-clients') ?? options.podClients;
  options.callsPerWorkload = count('calls') ?? options.callsPerWorkload;
  options.clusters = count('clusters') ?? options.clusters;
  options.endpointsPerCluster = count('endpoints') ?? options.endpointsPerCluster;
  options.repetitions = count('reps') ?? options.repetitions;
  options.flips = count('flips') ?? options.flips;
  const workload = flag('workload');
  if (workload !== undefined) {
    if (workload !== 'all' && workload !== 'pods') throw new Error('--workload is all or pods');
    options.workload = workload;
  }
  const servers = flag('servers');
  if (servers !== undefined) {
    const names = servers.split(',').map((name) => name.trim());
    const unknown = names.filter((name) => !ALL_SERVERS.includes(name as ServerName));
    if (unknown.length > 0)
      throw new Error(`unknown server(s) ${unknown.join(', ')}; known: ${ALL_SERVERS.join(', ')}`);
    options.servers = names as ServerName[];
  }
  const mode = flag('mode');
  if (mode !== undefined) {
    if (mode !== 'sotw' && mode !== 'delta') throw new Error('--mode is sotw or delta');
    options.mode = mode;
  }
  const out = flag('out');
  if (out !== undefined) {
    // The plot goes beside a report written elsewhere, never over the published one.
    options.output = out;
    options.plot = `${out.replace(/\.md$/, '')}-push-p99.svg`;
  }
  const outGiven = out !== undefined;
  if (options.workload === 'pods') {
    options.clients = [];
    options.grpcClients = [];
    options.scopedClients = [];
    options.servers = ['spillway'];
    if (options.podClients.length === 0) throw new Error('--workload pods needs --pod-clients');
    // A partial run must never replace the full report (nor its plot).
    if (!outGiven) {
      options.output = 'dist/bench/BENCHMARKS-pods.md';
      options.plot = 'dist/bench/BENCHMARKS-pods-push-p99.svg';
    }
  }
  return options;
}
