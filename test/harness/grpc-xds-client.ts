// Runs the proxyless gRPC client fixture (grpc-js-xds, no Envoy) against the control plane under test.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CONFIG_ENV_VAR, GrpcXdsClientConfig, parseClientLine, STARTED_LINE } from '../fixtures/grpc-client-protocol';
import { StreamTail, onLines, terminate, trackChild, waitForLine } from './child-processes';
import { Locality, NODE_CLUSTER, XdsEndpoint } from './envoy-bootstrap';
import { fileSafe } from './output';
import { fixturePath } from './paths';
import { grpcGoBinary } from './grpc-go';
import { emptyTally, mergeTally, Tally } from './tally';

export interface GrpcBootstrapOptions {
  dir: string;
  xds: XdsEndpoint;
  nodeId: string;
  metadata?: Record<string, string>;
  /** Required in practice: grpc-js-xds rejects a bootstrap whose node has no locality. */
  locality: Locality;
  cluster?: string;
  /** Defaults to ['xds_v3']; grpc-js-xds only acts on 'ignore_resource_deletion'. */
  serverFeatures?: string[];
  /** file_watcher certificate providers by instance name (gRFC A29), e.g. {spillway: {certificate_file, ...}}. */
  certificateProviders?: Record<
    string,
    { certificate_file: string; private_key_file: string; ca_certificate_file: string }
  >;
}

/** Writes a grpc-js-xds bootstrap JSON file and returns its path (for GRPC_XDS_BOOTSTRAP). */
export function writeGrpcBootstrap(options: GrpcBootstrapOptions): string {
  const locality: Record<string, string> = {};
  if (options.locality.region !== undefined) locality.region = options.locality.region;
  if (options.locality.zone !== undefined) locality.zone = options.locality.zone;
  if (options.locality.subZone !== undefined) locality.sub_zone = options.locality.subZone;
  const bootstrap = {
    xds_servers: [
      {
        server_uri: `${options.xds.host}:${options.xds.port}`,
        channel_creds: [{ type: 'insecure' }],
        server_features: options.serverFeatures ?? ['xds_v3'],
      },
    ],
    ...(options.certificateProviders
      ? {
          certificate_providers: Object.fromEntries(
            Object.entries(options.certificateProviders).map(([name, config]) => [
              name,
              { plugin_name: 'file_watcher', config: { ...config, refresh_interval: '60s' } },
            ]),
          ),
        }
      : {}),
    node: {
      id: options.nodeId,
      cluster: options.cluster ?? NODE_CLUSTER,
      metadata: options.metadata ?? {},
      locality,
    },
  };
  fs.mkdirSync(options.dir, { recursive: true });
  const file = path.join(options.dir, `grpc-bootstrap-${fileSafe(options.nodeId)}.json`);
  fs.writeFileSync(file, JSON.stringify(bootstrap, null, 2));
  return file;
}

export interface GrpcXdsClientOptions extends Partial<Omit<GrpcXdsClientConfig, 'target'>> {
  bootstrapPath: string;
  target: string;
  /** Extra environment, e.g. {GRPC_TRACE: 'xds_client,xds_resolver', GRPC_VERBOSITY: 'DEBUG'}. */
  env?: NodeJS.ProcessEnv;
  /** grpc-js: the Node fixture (Echo service); grpc-go: test/grpc-go (TestService, grpc-go backends only). */
  implementation?: GrpcImplementation;
}

export type GrpcImplementation = 'grpc-js' | 'grpc-go';

export interface GrpcXdsClientHandle {
  readonly pid: number;
  /** Calls completed since start (as of the last PROGRESS line). */
  completed(): number;
  /** Outcomes since start or the last reset(), as of the last PROGRESS line. */
  snapshot(): Tally;
  reset(): void;
  /** Resolves with the whole run's tally once the client printed RESULT and exited. */
  readonly done: Promise<Tally>;
  /** Asks the client to finish early (SIGTERM) and resolves with its final tally. */
  stop(): Promise<Tally>;
  /** The end of the client's stderr (grpc-js traces land here). */
  stderrTail(): string;
}

const CLIENT_START_TIMEOUT_MS = 10_000;
/** Allowance beyond count × (interval + deadline) for process start and xDS resolution. */
const RUN_OVERHEAD_MS = 15_000;
const DEFAULT_CALL_DEADLINE_MS = 2000;
const DEFAULT_INTERVAL_MS = 0;

const runningClients = new Set<GrpcXdsClientHandle>();

function fullConfig(options: GrpcXdsClientOptions): GrpcXdsClientConfig {
  return {
    target: options.target,
    count: options.count ?? 10,
    intervalMs: options.intervalMs ?? DEFAULT_INTERVAL_MS,
    deadlineMs: options.deadlineMs ?? DEFAULT_CALL_DEADLINE_MS,
    progressEvery: options.progressEvery ?? 10,
    payload: options.payload ?? 'ping',
    lingerMs: options.lingerMs ?? 0,
    xdsCredentials: options.xdsCredentials ?? false,
    concurrency: options.concurrency ?? 1,
    holdMs: options.holdMs ?? 0,
  };
}

/** The same run as flags of the grpc-go client (it prints the same lines). */
function grpcGoCommand(config: GrpcXdsClientConfig): [string, string[]] {
  if (config.xdsCredentials) throw new Error('the grpc-go test client has no xDS credentials mode');
  const flags: Record<string, number | string> = {
    target: config.target,
    count: config.count,
    'interval-ms': config.intervalMs,
    'deadline-ms': config.deadlineMs,
    'progress-every': config.progressEvery,
    concurrency: config.concurrency,
    'hold-ms': config.holdMs,
  };
  return [
    grpcGoBinary(),
    ['client', ...Object.entries(flags).flatMap(([name, value]) => [`--${name}`, String(value)])],
  ];
}

/** Starts a long-running client whose tallies can be read while it runs (for failover tests). */
export async function startGrpcXdsClient(options: GrpcXdsClientOptions): Promise<GrpcXdsClientHandle> {
  const config = fullConfig(options);
  const [command, args] =
    options.implementation === 'grpc-go' ? grpcGoCommand(config) : [process.execPath, [fixturePath('grpc-xds-client')]];
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      GRPC_XDS_BOOTSTRAP: options.bootstrapPath,
      [CONFIG_ENV_VAR]: JSON.stringify(config),
      ...options.env,
    },
  });
  const exited = trackChild(child);
  const stderr = new StreamTail(child.stderr);
  const describe = (): string =>
    `${options.implementation ?? 'grpc-js'} xds client for ${config.target}, stderr tail:\n${stderr.toString()}`;

  let live = emptyTally();
  let completed = 0;
  let result: Tally | undefined;
  let lineError: string | undefined;
  onLines(child.stdout, (line) => {
    try {
      const parsed = parseClientLine(line);
      if (parsed.kind === 'progress') {
        completed = parsed.progress.completed;
        mergeTally(live, parsed.progress.batch);
      } else if (parsed.kind === 'result') {
        result = parsed.tally;
      }
    } catch (err) {
      lineError ??= String(err);
    }
  });

  // setTimeout takes at most 2^31-1 ms; a longer run is stopped by its test anyway.
  const maxRunMs = Math.min(config.count * (config.intervalMs + config.deadlineMs) + RUN_OVERHEAD_MS, 2 ** 31 - 1);
  const done = (async (): Promise<Tally> => {
    const timer = setTimeout(() => void terminate(child, 'SIGKILL'), maxRunMs);
    const exit = await exited;
    clearTimeout(timer);
    if (result && exit.code === 0) return result;
    const why = lineError ?? `exit ${JSON.stringify(exit)}${result ? '' : ', no RESULT line'}`;
    throw new Error(`${describe()}\n(${why}; allowed ${maxRunMs}ms)`);
  })();
  // Callers may only use snapshot(); a failed run must not become an unhandled rejection.
  done.catch(() => undefined);

  const handle: GrpcXdsClientHandle = {
    pid: child.pid ?? -1,
    completed: () => completed,
    snapshot: () => {
      const copy = emptyTally();
      mergeTally(copy, live);
      return copy;
    },
    reset: () => {
      live = emptyTally();
    },
    done,
    stop: async () => {
      child.kill('SIGTERM');
      return done;
    },
    stderrTail: () => stderr.toString(),
  };
  runningClients.add(handle);
  void exited.then(() => runningClients.delete(handle));

  try {
    await waitForLine(child, new RegExp(`^${STARTED_LINE}$`), CLIENT_START_TIMEOUT_MS, describe);
  } catch (err) {
    await terminate(child, 'SIGKILL');
    throw err;
  }
  return handle;
}

/** Runs `count` calls to completion and resolves with the tally (rejects with the stderr tail on failure). */
export async function runGrpcXdsClient(options: GrpcXdsClientOptions): Promise<Tally> {
  return (await startGrpcXdsClient(options)).done;
}

/** Stops every client still running (use in afterAll). */
export async function stopAllGrpcXdsClients(): Promise<void> {
  await Promise.all([...runningClients].map((client) => client.stop().catch(() => undefined)));
}
