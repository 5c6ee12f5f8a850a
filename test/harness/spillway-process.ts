// Runs the real `spillway serve` command as a child process, for tests of the product as shipped.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { terminate, trackChild } from './child-processes';
import { httpGet } from './http-get';
import { fileSafe, testOutputDir } from './output';
import { repoRoot } from './paths';
import { freePort, waitFor } from './ports';

export interface SpillwayProcess {
  xdsPort: number;
  adminUrl: string;
  logFile: string;
  pid: number;
  adminJson<T>(pathAndQuery: string): Promise<T>;
  stop(): Promise<void>;
  logTail(chars?: number): string;
}

export interface SpillwayProcessOptions {
  name: string;
  meshPath?: string;
  xdsPort?: number;
  extraArgs?: string[];
}

const SPILLWAY_READY_TIMEOUT_MS = 15_000;

export async function startSpillwayProcess(options: SpillwayProcessOptions): Promise<SpillwayProcess> {
  const xdsPort = options.xdsPort ?? (await freePort());
  const adminPort = await freePort();
  const logFile = path.join(testOutputDir('spillway'), `${fileSafe(options.name)}.log`);
  const out = fs.openSync(logFile, 'a');
  const args = [
    path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'),
    'serve',
    '--xds',
    `127.0.0.1:${xdsPort}`,
    '--admin',
    `127.0.0.1:${adminPort}`,
    '--log-level',
    'debug',
  ];
  if (options.meshPath) args.push('--mesh', options.meshPath);
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, args, { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  void trackChild(child);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const logTail = (chars = 3000) => fs.readFileSync(logFile, 'utf8').slice(-chars);
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`spillway exited with ${child.exitCode}: ${logTail()}`);
      try {
        return (await httpGet(`${adminUrl}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs: SPILLWAY_READY_TIMEOUT_MS, what: `spillway ${options.name} ready` },
  );
  return {
    xdsPort,
    adminUrl,
    logFile,
    pid: child.pid as number,
    async adminJson<T>(pathAndQuery: string): Promise<T> {
      const response = await httpGet(`${adminUrl}${pathAndQuery}`);
      return JSON.parse(response.body) as T;
    },
    stop: async () => {
      await terminate(child);
    },
    logTail,
  };
}
