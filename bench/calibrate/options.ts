// Command-line options of `npm run bench:calibrate`.
import { ServerName } from '../servers/server-under-test';
import { FlagSpec, parseFlags } from '../../src/flags/flags';

export interface CalibrateOptions {
  services: number;
  clusters: number;
  endpointsPerCluster: number;
  /** K, or undefined: as many Envoys as fit (one Envoy's private memory measured first), at most `maxClients`. */
  clients?: number;
  maxClients: number;
  /** Share of the memory available at start that the K Envoys may take. */
  memoryShare: number;
  flips: number;
  repetitions: number;
  servers: ServerName[];
  steadyIdleMs: number;
  /** Server and hop on half the cores, clients on the other half. */
  pin: boolean;
  /** Where the markdown table and the raw figures (JSON beside it) go. */
  output: string;
}

export const CALIBRATE_USAGE = `npm run bench:calibrate -- [--services 100] [--clusters 3] [--endpoints 10] [--clients K] [--max-clients 300]
  [--memory-share 0.4] [--flips 20] [--reps 2] [--servers spillway,go-control-plane] [--pin] [--out dist/bench/CALIBRATION.md]
K real Envoys, then K load-generator clients (or the other way round, alternating by repetition), each on a
fresh server, each run through a recording hop that times change -> ACK the same way for both.
--clients: K; by default as many as fit: one Envoy's private memory (RssAnon) on this mesh is measured first, and K is what
  --memory-share of the memory available now holds, at most --max-clients.
--pin: the server and the hop on half of the cores, all clients on the other half (taskset), so the
  clients' own CPU competes neither with the server nor with the hop's timestamps; the same for both kinds.`;

const SERVERS: readonly ServerName[] = ['spillway', 'go-control-plane', 'go-control-plane-snapshot', 'istiod'];

function positiveInteger(text: string | undefined, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} wants a positive integer, got "${text}"`);
  return value;
}

/** Read by the shared flag parser; what each means is in CALIBRATE_USAGE. */
const CALIBRATE_FLAGS: FlagSpec[] = [
  { name: 'pin', switch: true, help: 'server and hop on half the cores, clients on the other half' },
  ...[
    'services',
    'clusters',
    'endpoints',
    'clients',
    'max-clients',
    'memory-share',
    'flips',
    'reps',
    'servers',
    'steady-ms',
    'out',
  ].map((name): FlagSpec => ({ name, value: 'VALUE', help: '' })),
];

export function parseCalibrateOptions(argv: readonly string[]): CalibrateOptions {
  const options: CalibrateOptions = {
    services: 100,
    clusters: 3,
    endpointsPerCluster: 10,
    maxClients: 300,
    memoryShare: 0.4,
    flips: 20,
    repetitions: 2,
    servers: ['spillway'],
    steadyIdleMs: 3_000,
    pin: false,
    output: 'dist/bench/CALIBRATION.md',
  };
  const parsed = parseFlags(argv, CALIBRATE_FLAGS);
  if (!parsed.ok) throw new Error(`${parsed.error.replace(/ \(see --help\)$/, '')}\n${CALIBRATE_USAGE}`);
  if (parsed.flags.has('help')) throw new Error(CALIBRATE_USAGE);
  if (parsed.positional.length > 0) throw new Error(`unexpected argument ${parsed.positional[0]}\n${CALIBRATE_USAGE}`);
  const flag = (name: string): string | undefined => parsed.flags.get(name);
  const count = (name: string): number | undefined =>
    flag(name) === undefined ? undefined : positiveInteger(flag(name), `--${name}`);
  options.services = count('services') ?? options.services;
  options.clusters = count('clusters') ?? options.clusters;
  options.endpointsPerCluster = count('endpoints') ?? options.endpointsPerCluster;
  const clients = count('clients');
  if (clients !== undefined) options.clients = clients;
  options.maxClients = count('max-clients') ?? options.maxClients;
  options.flips = count('flips') ?? options.flips;
  options.repetitions = count('reps') ?? options.repetitions;
  options.steadyIdleMs = count('steady-ms') ?? options.steadyIdleMs;
  const shareText = flag('memory-share');
  if (shareText !== undefined) {
    const share = Number(shareText);
    if (!(share > 0 && share <= 0.9)) throw new Error(`--memory-share wants a number in (0, 0.9], got "${shareText}"`);
    options.memoryShare = share;
  }
  const servers = flag('servers');
  if (servers !== undefined) {
    const names = servers.split(',').map((s) => s.trim());
    const unknown = names.filter((name) => !SERVERS.includes(name as ServerName));
    if (names.length === 0 || unknown.length > 0)
      throw new Error(`--servers: unknown server(s) ${unknown.join(', ')} (known: ${SERVERS.join(', ')})`);
    options.servers = names as ServerName[];
  }
  if (parsed.flags.has('pin')) options.pin = true;
  const out = flag('out');
  if (out !== undefined) {
    if (!out) throw new Error('--out wants a path');
    options.output = out;
  }
  return options;
}
