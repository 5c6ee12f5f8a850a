// Starts a real Envoy for end-to-end tests and reads its state through the admin API.
import { envoyArgs } from '../../src/demo/envoy-process';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { ExitInfo, hasExited, terminate, trackChild } from './child-processes';
import { BootstrapFragment, buildBootstrap, Locality, XdsEndpoint, XdsMode } from './envoy-bootstrap';
import {
  activeListenerNames,
  ClusterStatus,
  dynamicActiveClusterNames,
  parseClusters,
  parseStats,
} from './envoy-admin-parsers';
import { httpGet, httpGetJson } from './http-get';
import { fileSafe, testOutputDir } from './output';
import { envoyBinaryPath } from './paths';
import { GiveUpWaiting, waitFor } from './ports';

interface EnvoyCommonOptions {
  nodeId: string;
  /** node.metadata, e.g. {CLUSTER_ID: 'east', ROLE: 'gateway', OUTBOUND_PORT: '15001'}. */
  metadata?: Record<string, string>;
  locality?: Locality;
  /** Fixed admin port; by default the kernel picks one and Envoy reports it via --admin-address-path. */
  adminPort?: number;
  /** Bootstrap, admin-address and log files go here; defaults to test-output/envoy. */
  logDir?: string;
  /** Envoy --log-level; "debug" helps when chasing xDS problems. */
  logLevel?: string;
}

/** Envoy fed over ADS by the control plane under test. */
interface DynamicConfigOptions {
  xds: XdsEndpoint;
  mode: XdsMode;
  staticBootstrap?: undefined;
}

/** Envoy with a fixed config, no xDS at all (for exercising the harness itself). */
interface StaticConfigOptions {
  staticBootstrap: BootstrapFragment;
  xds?: undefined;
  mode?: undefined;
}

export type EnvoyOptions = EnvoyCommonOptions & (DynamicConfigOptions | StaticConfigOptions);

export interface EnvoyProcess {
  readonly nodeId: string;
  /** e.g. http://127.0.0.1:40123 */
  readonly adminUrl: string;
  readonly pid: number;
  /** Envoy's stdout+stderr (its whole log). */
  readonly logFile: string;
  readonly bootstrapFile: string;
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after 3s; safe to call more than once. */
  stop(): Promise<void>;
  /** GET /config_dump?include_eds as parsed JSON. */
  configDump(): Promise<unknown>;
  clusters(): Promise<ClusterStatus[]>;
  cluster(name: string): Promise<ClusterStatus | undefined>;
  /** Every counter and gauge by name. */
  stats(): Promise<Map<string, number>>;
  stat(name: string): Promise<number | undefined>;
  /** Waits until the stat exists and satisfies predicate; returns its value. */
  waitForStat(name: string, predicate: (value: number) => boolean, timeoutMs?: number): Promise<number>;
  listenerNames(): Promise<string[]>;
  dynamicClusterNames(): Promise<string[]>;
  /** Waits for /ready to say LIVE (with ADS this needs the control plane to have sent LDS and CDS). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Waits only until the admin endpoint answers at all (Envoy may still be PRE_INITIALIZING). */
  waitAdmin(timeoutMs?: number): Promise<void>;
  /** The end of the log file, for failure messages. */
  logTail(maxChars?: number): string;
}

const ENVOY_STARTUP_TIMEOUT_MS = 15_000;
const ENVOY_READY_TIMEOUT_MS = 20_000;
const STAT_WAIT_TIMEOUT_MS = 10_000;
const ADMIN_POLL_INTERVAL_MS = 100;
const DRAIN_TIME_S = 1;
const LOG_TAIL_CHARS = 3000;
const ADMIN_HOST = '127.0.0.1';

const runningEnvoys = new Set<EnvoyInstance>();

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

class EnvoyInstance implements EnvoyProcess {
  private stopping: Promise<void> | undefined;
  adminUrl = '';

  constructor(
    readonly nodeId: string,
    private readonly child: ReturnType<typeof spawn>,
    readonly exited: Promise<ExitInfo>,
    readonly logFile: string,
    readonly bootstrapFile: string,
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  stop(): Promise<void> {
    this.stopping ??= terminate(this.child).then(() => {
      runningEnvoys.delete(this);
    });
    return this.stopping;
  }

  logTail(maxChars = LOG_TAIL_CHARS): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').slice(-maxChars);
    } catch {
      return '(no log)';
    }
  }

  private admin(pathAndQuery: string): Promise<unknown> {
    return httpGetJson(this.adminUrl + pathAndQuery);
  }

  configDump(): Promise<unknown> {
    return this.admin('/config_dump?include_eds');
  }

  async clusters(): Promise<ClusterStatus[]> {
    return parseClusters(await this.admin('/clusters?format=json'));
  }

  async cluster(name: string): Promise<ClusterStatus | undefined> {
    return (await this.clusters()).find((cluster) => cluster.name === name);
  }

  async stats(): Promise<Map<string, number>> {
    return parseStats(await this.admin('/stats?format=json'));
  }

  async stat(name: string): Promise<number | undefined> {
    const filter = encodeURIComponent(`^${escapeRegex(name)}$`);
    return parseStats(await this.admin(`/stats?format=json&filter=${filter}`)).get(name);
  }

  waitForStat(name: string, predicate: (value: number) => boolean, timeoutMs = STAT_WAIT_TIMEOUT_MS): Promise<number> {
    return waitFor(
      async () => {
        const value = await this.stat(name);
        return value !== undefined && predicate(value) ? value : undefined;
      },
      { timeoutMs, what: `stat ${name} on envoy ${this.nodeId} to satisfy ${predicate.toString()}` },
    );
  }

  async listenerNames(): Promise<string[]> {
    return activeListenerNames(await this.configDump());
  }

  async dynamicClusterNames(): Promise<string[]> {
    return dynamicActiveClusterNames(await this.configDump());
  }

  async waitReady(timeoutMs = ENVOY_READY_TIMEOUT_MS): Promise<void> {
    await this.pollAdmin(timeoutMs, 'to report LIVE on /ready', async () => {
      const state = (await httpGet(`${this.adminUrl}/ready`)).body.trim();
      if (state !== 'LIVE') throw new Error(`server state ${state}`);
    });
  }

  async waitAdmin(timeoutMs = ENVOY_STARTUP_TIMEOUT_MS): Promise<void> {
    await this.pollAdmin(timeoutMs, 'admin to answer', async () => {
      await httpGet(`${this.adminUrl}/ready`);
    });
  }

  /** Polls `check` (throwing = not yet, and why) and gives up early if Envoy died. */
  private async pollAdmin(timeoutMs: number, what: string, check: () => Promise<void>): Promise<void> {
    try {
      await waitFor(
        async () => {
          if (hasExited(this.child)) throw new GiveUpWaiting(`envoy exited: ${JSON.stringify(await this.exited)}`);
          await check();
          return true;
        },
        { timeoutMs, intervalMs: ADMIN_POLL_INTERVAL_MS, what: `envoy ${this.nodeId} ${what}` },
      );
    } catch (err) {
      throw this.withLog(err);
    }
  }

  withLog(err: unknown): Error {
    const message = err instanceof Error ? err.message : String(err);
    return new Error(`${message}\n--- ${this.logFile} (tail) ---\n${this.logTail()}`);
  }

  /** Envoy writes "host:port" to the admin address file once the admin listener is bound. */
  async learnAdminAddress(adminAddressFile: string): Promise<void> {
    try {
      const address = await waitFor(
        async () => {
          if (hasExited(this.child)) throw new GiveUpWaiting(`envoy exited: ${JSON.stringify(await this.exited)}`);
          const text = fs.existsSync(adminAddressFile) ? fs.readFileSync(adminAddressFile, 'utf8').trim() : '';
          return text !== '' ? text : undefined;
        },
        { timeoutMs: ENVOY_STARTUP_TIMEOUT_MS, intervalMs: 50, what: `envoy ${this.nodeId} to bind its admin port` },
      );
      this.adminUrl = `http://${address}`;
    } catch (err) {
      throw this.withLog(err);
    }
  }
}

/** Writes a bootstrap, spawns Envoy and resolves once its admin API answers. */
export async function startEnvoy(options: EnvoyOptions): Promise<EnvoyProcess> {
  const logDir = options.logDir ?? testOutputDir('envoy');
  fs.mkdirSync(logDir, { recursive: true });
  const base = path.join(logDir, `envoy-${fileSafe(options.nodeId)}`);
  const bootstrapFile = `${base}.yaml`;
  const logFile = `${base}.log`;
  const adminAddressFile = `${base}.admin-address`;

  const bootstrap = buildBootstrap({
    ...options,
    metadata: options.metadata ?? {},
    adminHost: ADMIN_HOST,
    adminPort: options.adminPort ?? 0,
  });
  fs.writeFileSync(bootstrapFile, YAML.stringify(bootstrap, { aliasDuplicateObjects: false }));
  fs.rmSync(adminAddressFile, { force: true });

  const logFd = fs.openSync(logFile, 'w');
  const args = envoyArgs(bootstrapFile, adminAddressFile, options.logLevel ?? 'info', DRAIN_TIME_S);
  // The log file descriptor goes straight to Envoy so its log keeps flowing even if this process stalls.
  const child = spawn(envoyBinaryPath(), args, { stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  const exited = trackChild(child);
  const envoy = new EnvoyInstance(options.nodeId, child, exited, logFile, bootstrapFile);
  runningEnvoys.add(envoy);
  try {
    await envoy.learnAdminAddress(adminAddressFile);
    await envoy.waitAdmin();
  } catch (err) {
    await envoy.stop();
    throw err;
  }
  return envoy;
}

/** Stops every Envoy started by this process (use in afterAll). */
export async function stopAllEnvoys(): Promise<void> {
  await Promise.all([...runningEnvoys].map((envoy) => envoy.stop()));
}
