// Command-line options of `npm run bench`.
import { ClientKind, StreamMode } from './load/protocol';
import { ServerName } from './servers/server-under-test';

export interface BenchOptions {
  quick: boolean;
  services: number[];
  clients: number[];
  /** Client counts at which gRPC-like (proxyless) clients are measured too, besides Envoy-like ones. */
  grpcClients: number[];
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
}

/** The (clients, kind) pairs of a run, Envoy-like first. */
export function clientSets(options: BenchOptions): { clients: number; kind: ClientKind }[] {
  return [...options.clients.map((clients) => ({ clients, kind: 'envoy' as ClientKind })), ...options.grpcClients.map((clients) => ({ clients, kind: 'grpc' as ClientKind }))];
}

const ALL_SERVERS: readonly ServerName[] = ['spillway', 'go-control-plane', 'istiod'];

export const USAGE = `npm run bench -- [--quick] [--services 100,1000] [--clients 1000,5000,10000] [--grpc-clients 1000]
  [--clusters 3] [--endpoints 10] [--reps 2] [--flips 4] [--servers spillway,go-control-plane,istiod]
  [--mode sotw|delta] [--out docs/BENCHMARKS.md] [--cached-peers]
--quick: one small mesh, 100 Envoy-like and 50 gRPC-like clients, one repetition, only peers already
  built (a smoke check of the harness that CI runs; < 1 min; exits non-zero only if Spillway's run fails).
--grpc-clients: client counts at which gRPC-like (proxyless) clients are measured as well ("0" for none).`;

function numbers(text: string, flag: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v <= 0)) throw new Error(`${flag} wants positive integers, got "${text}"`);
  return values;
}

function positive(text: string, flag: string): number {
  return numbers(text, flag)[0] as number;
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const options: BenchOptions = {
    quick,
    services: quick ? [50] : [100, 1000],
    // The workload: 1k, 5k and 10k clients (a server that would not fit in memory is not run).
    clients: quick ? [100] : [1000, 5000, 10000],
    grpcClients: quick ? [50] : [1000],
    clusters: 3,
    endpointsPerCluster: quick ? 3 : 10,
    repetitions: quick ? 1 : 2,
    flips: quick ? 3 : 4,
    servers: [...ALL_SERVERS],
    mode: 'sotw',
    output: quick ? 'dist/bench/BENCHMARKS-quick.md' : 'docs/BENCHMARKS.md',
    cachedPeersOnly: quick,
    plot: quick ? 'dist/bench/bench-push-p99-quick.svg' : 'docs/images/bench-push-p99.svg',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === '--quick') continue;
    if (flag === '--cached-peers') {
      options.cachedPeersOnly = true;
      continue;
    }
    if (flag === '--help' || flag === '-h') throw new Error(USAGE);
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    i++;
    switch (flag) {
      case '--services':
        options.services = numbers(value, flag);
        break;
      case '--clients':
        options.clients = numbers(value, flag);
        break;
      case '--grpc-clients':
        options.grpcClients = value.trim() === '0' ? [] : numbers(value, flag);
        break;
      case '--clusters':
        options.clusters = positive(value, flag);
        break;
      case '--endpoints':
        options.endpointsPerCluster = positive(value, flag);
        break;
      case '--reps':
        options.repetitions = positive(value, flag);
        break;
      case '--flips':
        options.flips = positive(value, flag);
        break;
      case '--servers': {
        const names = value.split(',').map((name) => name.trim());
        const unknown = names.filter((name) => !ALL_SERVERS.includes(name as ServerName));
        if (unknown.length > 0) throw new Error(`unknown server(s) ${unknown.join(', ')}; known: ${ALL_SERVERS.join(', ')}`);
        options.servers = names as ServerName[];
        break;
      }
      case '--mode':
        if (value !== 'sotw' && value !== 'delta') throw new Error('--mode is sotw or delta');
        options.mode = value;
        break;
      case '--out':
        // The plot goes beside a report written elsewhere, never over the published one.
        options.output = value;
        options.plot = `${value.replace(/\.md$/, '')}-push-p99.svg`;
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return options;
}
