// Command-line options of `npm run bench:calibrate`.
import { ServerName } from '../servers/server-under-test';

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
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = argv[i + 1];
    switch (flag) {
      case '--help':
        throw new Error(CALIBRATE_USAGE);
      case '--services':
        options.services = positiveInteger(value, flag);
        break;
      case '--clusters':
        options.clusters = positiveInteger(value, flag);
        break;
      case '--endpoints':
        options.endpointsPerCluster = positiveInteger(value, flag);
        break;
      case '--clients':
        options.clients = positiveInteger(value, flag);
        break;
      case '--max-clients':
        options.maxClients = positiveInteger(value, flag);
        break;
      case '--memory-share': {
        const share = Number(value);
        if (!(share > 0 && share <= 0.9)) throw new Error(`${flag} wants a number in (0, 0.9], got "${value}"`);
        options.memoryShare = share;
        break;
      }
      case '--flips':
        options.flips = positiveInteger(value, flag);
        break;
      case '--reps':
        options.repetitions = positiveInteger(value, flag);
        break;
      case '--servers': {
        const names = (value ?? '').split(',').map((s) => s.trim());
        const unknown = names.filter((name) => !SERVERS.includes(name as ServerName));
        if (names.length === 0 || unknown.length > 0) throw new Error(`${flag}: unknown server(s) ${unknown.join(', ')} (known: ${SERVERS.join(', ')})`);
        options.servers = names as ServerName[];
        break;
      }
      case '--pin':
        options.pin = true;
        continue;
      case '--steady-ms':
        options.steadyIdleMs = positiveInteger(value, flag);
        break;
      case '--out':
        if (!value) throw new Error(`${flag} wants a path`);
        options.output = value;
        break;
      default:
        throw new Error(`unknown option ${flag}\n${CALIBRATE_USAGE}`);
    }
    i++;
  }
  return options;
}
