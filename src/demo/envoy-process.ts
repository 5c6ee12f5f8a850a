// Starts a real Envoy for the demo: writes its bootstrap, sends its log to a file, learns its admin port
// (Envoy picks one and writes it to --admin-address-path) and waits until it is LIVE.
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { describeExit, ManagedProcess, ProcessGroup } from './processes';
import { httpGet, pollUntil } from './http-get';

const ADMIN_ADDRESS_TIMEOUT_MS = 15_000;
const LIVE_TIMEOUT_MS = 30_000;
const LOG_TAIL_CHARS = 2_000;

/**
 * How Spillway runs a local Envoy (demo and tests alike): one worker, no hot-restart shared memory (so
 * several run side by side), a short drain, and the admin address written to a file (admin port 0).
 */
export function envoyArgs(
  bootstrapFile: string,
  adminAddressFile: string,
  logLevel = 'info',
  drainTimeS = 1,
): string[] {
  return [
    '-c',
    bootstrapFile,
    '--disable-hot-restart',
    '--concurrency',
    '1',
    '--log-level',
    logLevel,
    '--drain-time-s',
    String(drainTimeS),
    '--admin-address-path',
    adminAddressFile,
  ];
}

export interface DemoEnvoy {
  readonly name: string;
  readonly process: ManagedProcess;
  readonly adminUrl: string;
  readonly logFile: string;
}

/** ENVOY_BIN wins; else the copy scripts/setup.sh installs into <repo>/.cache/venv. */
export function envoyBinary(repoRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.ENVOY_BIN || path.join(repoRoot, '.cache', 'venv', 'bin', 'envoy');
}

/** A clear error when the binary is missing, before anything is started. */
export function checkEnvoyBinary(binary: string): string | undefined {
  try {
    fs.accessSync(binary, fs.constants.X_OK);
    return undefined;
  } catch {
    return `no Envoy binary at ${binary}: run \`make setup\` (scripts/setup.sh installs Envoy into .cache/venv) or set ENVOY_BIN to an envoy executable`;
  }
}

function logTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-LOG_TAIL_CHARS);
  } catch {
    return '(no log)';
  }
}

export interface StartEnvoyOptions {
  name: string;
  bootstrap: Record<string, unknown>;
  binary: string;
  workDir: string;
  group: ProcessGroup;
}

export async function startDemoEnvoy(options: StartEnvoyOptions): Promise<DemoEnvoy> {
  const base = path.join(options.workDir, `envoy-${options.name}`);
  const bootstrapFile = `${base}.yaml`;
  const logFile = `${base}.log`;
  const adminAddressFile = `${base}.admin-address`;
  fs.writeFileSync(bootstrapFile, YAML.stringify(options.bootstrap, { aliasDuplicateObjects: false }));
  fs.rmSync(adminAddressFile, { force: true });

  const logFd = fs.openSync(logFile, 'w');
  const args = envoyArgs(bootstrapFile, adminAddressFile);
  // The log goes straight to a file descriptor: Envoy never blocks on a pipe we forgot to read.
  const managed = options.group.spawn(`envoy ${options.name}`, options.binary, args, {
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  const giveUp = () => (managed.running ? undefined : `envoy exited early; see ${logFile}:\n${logTail(logFile)}`);
  try {
    const address = await pollUntil(
      `envoy ${options.name} binding its admin port`,
      async () =>
        fs.existsSync(adminAddressFile) ? fs.readFileSync(adminAddressFile, 'utf8').trim() || undefined : undefined,
      { timeoutMs: ADMIN_ADDRESS_TIMEOUT_MS, intervalMs: 50, giveUp },
    );
    const adminUrl = `http://${address}`;
    await pollUntil(
      `envoy ${options.name} getting its config from Spillway (/ready LIVE)`,
      async () => {
        const state = (await httpGet(`${adminUrl}/ready`)).body.trim();
        if (state !== 'LIVE') throw new Error(`server state ${state}`);
        return true;
      },
      { timeoutMs: LIVE_TIMEOUT_MS, intervalMs: 100, giveUp },
    );
    return { name: options.name, process: managed, adminUrl, logFile };
  } catch (error) {
    const exit = await managed.stop('SIGKILL');
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n(envoy ${options.name} ${describeExit(exit)}; its log: ${logFile})`);
  }
}
