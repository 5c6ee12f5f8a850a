// `spillway demo` as a user runs it: a child process on the example mesh's fixed loopback ports, real
// Envoys and backend processes. Requests through the sidecar reach east, fail over when east's backends
// die, the admin server answers, and after --duration-s or SIGTERM nothing the demo started is left.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseMeshText } from '../../src/discovery/file/mesh-file';
import { EMBEDDED_MESH_YAML } from '../../src/discovery/embedded-mesh';
import { BACKEND_IDENTITY_HEADER, BackendIdentity, parseIdentity } from '../../src/demo/backend-identity';
import { planDemo } from '../../src/demo/demo-plan';
import { httpGet } from '../../src/demo/http-get';
import { findUnavailable, formatUnavailable } from '../../src/demo/port-check';
import { DEMO_READY_LINE } from '../../src/demo/run-demo';
import { repoRoot, testOutputDir, waitFor } from '../harness';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const OUTPUT = testOutputDir('demo');
const SIDECAR_URL = 'http://127.0.0.1:15001/';
const ADMIN_URL = 'http://127.0.0.1:15014';
const HOST = 'checkout.shop.svc.cluster.local';
const READY_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 30_000;

/** `spillway demo` once main.ts has the command; until then the same function through a tiny script. */
function demoCommand(): string[] {
  const help = spawnSync(process.execPath, [CLI, 'demo', '--help'], { encoding: 'utf8', timeout: 10_000 });
  if (help.status === 0 && help.stdout.includes('spillway demo')) return [CLI, 'demo'];
  const script = path.join(OUTPUT, 'run-demo.js');
  const command = path.join(repoRoot(), 'dist', 'src', 'demo', 'demo-command.js');
  // Like main.ts: set the exit code and let the process end by itself, so a leaked handle shows as a hang.
  fs.writeFileSync(script, `require(${JSON.stringify(command)}).runDemoCommand(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n`);
  return [script];
}

interface RunningDemo {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(name: string, extraArgs: string[]): RunningDemo {
  const workDir = path.join(OUTPUT, name);
  const child = spawn(process.execPath, [...demoCommand(), '--work-dir', workDir, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  void exited.then(() => fs.writeFileSync(path.join(OUTPUT, `${name}.out`), text));
  return { child, output: () => text, exited };
}

async function waitReady(demo: RunningDemo): Promise<void> {
  await waitFor(
    async () => {
      if (demo.child.exitCode !== null) throw new Error(`the demo exited with ${demo.child.exitCode} before it was ready:\n${demo.output()}`);
      return demo.output().includes(DEMO_READY_LINE);
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 200, what: 'the demo to print its ready line' },
  ).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- demo output ---\n${demo.output()}`);
  });
}

/** The demo's exit, or 'timeout'; the timer never holds jest open. */
async function exitWithin(demo: RunningDemo, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([demo.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every pid the demo printed (backends and Envoys). */
function printedPids(output: string): number[] {
  return [...new Set([...output.matchAll(/\bpid (\d+)/g)].map((m) => Number(m[1])))];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of processes whose command line mentions `text` (the demo's work dir is in every Envoy's). */
function processesMentioning(text: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function callSidecar(headers: Record<string, string> = {}): Promise<BackendIdentity | string> {
  try {
    const response = await httpGet(SIDECAR_URL, { headers: { host: HOST, ...headers } });
    return parseIdentity(response.headers[BACKEND_IDENTITY_HEADER] as string | undefined) ?? `status ${response.status}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function expectNothingLeft(name: string, pids: number[]): Promise<void> {
  expect(pids.length).toBeGreaterThanOrEqual(10); // 6 backends + 3 gateways + 1 sidecar
  // Exit is immediate on SIGKILL of a child, but give the kernel a moment to reap.
  await waitFor(async () => pids.every((pid) => !isAlive(pid)), { timeoutMs: 5_000, what: `every process the demo started to be gone (${pids.join(' ')})` });
  expect(processesMentioning(path.join(OUTPUT, name))).toEqual([]);
  expect(await findUnavailable(planDemo(meshModel()).addresses)).toEqual([]);
}

function meshModel() {
  const parsed = parseMeshText(EMBEDDED_MESH_YAML);
  if (!parsed.ok) throw new Error('embedded mesh invalid');
  return parsed.model;
}

describe('spillway demo (real Envoys and backends on the example mesh ports)', () => {
  beforeAll(async () => {
    const busy = await findUnavailable(planDemo(meshModel()).addresses);
    if (busy.length > 0) throw new Error(`cannot run the demo test: ${formatUnavailable(busy)}`);
  });

  test('traffic reaches east through the sidecar, fails over when east dies, and --duration-s stops everything', async () => {
    const demo = startDemo('duration', ['--duration-s', '25']);
    try {
      await waitReady(demo);
      const first = await Promise.all(Array.from({ length: 20 }, () => callSidecar()));
      for (const answer of first) expect(answer).toMatchObject({ cluster: 'east', service: 'checkout.shop' });
      expect(await callSidecar({ 'x-canary': 'true' })).toMatchObject({ cluster: 'east', version: 'v2', port: 18085 });

      const failover = await httpGet(`${ADMIN_URL}/debug/failover`);
      expect(failover.status).toBe(200);
      const report = JSON.parse(failover.body) as { entries: { clientCluster: string; service: string }[] };
      expect(report.entries).toEqual(expect.arrayContaining([expect.objectContaining({ clientCluster: 'east', service: HOST })]));
      const page = await httpGet(`${ADMIN_URL}/`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('<html');

      // The printed `kill` line names east's backends: the user's way to trigger failover.
      const killLine = /^\s*kill ([\d ]+)$/m.exec(demo.output());
      expect(killLine).not.toBeNull();
      for (const pid of (killLine?.[1] ?? '').trim().split(/\s+/).map(Number)) process.kill(pid, 'SIGKILL');
      await waitFor(
        async () => {
          const answers = await Promise.all(Array.from({ length: 10 }, () => callSidecar()));
          return answers.every((a) => typeof a !== 'string' && a.cluster !== 'east') ? answers : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 300, what: 'requests through the sidecar to be answered by west or south after east died' },
      );
      await waitFor(async () => /failover: east -> checkout\.shop:8080 v1: \S+ -> (partial|spilled)/.test(demo.output()), {
        timeoutMs: 15_000,
        what: 'the demo to print the failover transition',
      });

      const exit = await exitWithin(demo, EXIT_TIMEOUT_MS + 25_000);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(demo.output()).toContain('stopped; logs stay in');
      await expectNothingLeft('duration', printedPids(demo.output()));
    } finally {
      demo.child.kill('SIGKILL');
    }
  }, 150_000);

  test('SIGTERM stops every Envoy and backend and exits 0', async () => {
    const demo = startDemo('sigterm', ['--rps', '2']);
    try {
      await waitReady(demo);
      expect(await callSidecar()).toMatchObject({ cluster: 'east' });
      const pids = printedPids(demo.output());
      demo.child.kill('SIGTERM');
      const exit = await exitWithin(demo, EXIT_TIMEOUT_MS);
      expect(exit).toEqual({ code: 0, signal: null });
      await expectNothingLeft('sigterm', pids);
    } finally {
      demo.child.kill('SIGKILL');
    }
  }, 120_000);
});
