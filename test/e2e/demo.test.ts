// `spillway demo` as a user runs it: a child process on the example mesh's fixed loopback ports, real
// Envoys and backend processes. DEMO_ONCE=1 tells the whole story (kill, spill 2:1, recover, canary share,
// canary fallback) and exits 0 only when every step was observed; without the story, requests through the
// sidecar reach east and the admin server answers; a stop (SIGTERM, also mid-story) leaves nothing behind.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseMeshText } from '../../src/discovery/file/mesh-file';
import { EMBEDDED_MESH_YAML } from '../../src/discovery/embedded-mesh';
import { BACKEND_IDENTITY_HEADER, BackendIdentity, parseIdentity } from '../../src/demo/backend-identity';
import { planDemo } from '../../src/demo/demo-plan';
import { httpGet } from '../../src/demo/http-get';
import { findUnavailable, formatUnavailable } from '../../src/demo/port-check';
import { DEMO_READY_LINE } from '../../src/demo/demo-startup';
import { repoRoot, testOutputDir, waitFor } from '../harness';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const OUTPUT = testOutputDir('demo');
const SIDECAR_URL = 'http://127.0.0.1:15001/';
const ADMIN_URL = 'http://127.0.0.1:15014';
const HOST = 'checkout.shop.svc.cluster.local';
const READY_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 30_000;
/** Startup (~2 s) plus the story (~35 s: the 10 s drill and its outcome, Envoy's 10 s ejection), with room for a slow machine. */
const ONCE_TIMEOUT_MS = 100_000;
/** Every step's verdict line. */
const STORY_STEPS = [
  /PASS step 1\/8: every request answered in east/,
  /PASS step 2\/8: the prediction follows the replicas, read from the EDS east's sidecar would get/,
  /PASS step 3\/8: real traffic moved as predicted, without errors/,
  /PASS step 4\/8: east has its traffic back, and the drill's outcome counts no failed request/,
  /PASS step 5\/8: traffic spilled to west and south in proportion to their replicas/,
  /PASS step 6\/8: east answers every request again/,
  /PASS step 7\/8: about 10% of requests, and every x-canary: true request, reach the canary/,
  /PASS step 8\/8: canary traffic falls back to v1, without errors/,
];

interface RunningDemo {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(name: string, extraArgs: string[], env: NodeJS.ProcessEnv = {}): RunningDemo {
  const workDir = path.join(OUTPUT, name);
  const child = spawn(process.execPath, [CLI, 'demo', '--work-dir', workDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEMO_ONCE: '', ...env },
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  void exited.then(() => fs.writeFileSync(path.join(OUTPUT, `${name}.out`), text));
  return { child, output: () => text, exited };
}

async function waitReady(demo: RunningDemo): Promise<void> {
  await waitFor(
    async () => {
      if (demo.child.exitCode !== null)
        throw new Error(`the demo exited with ${demo.child.exitCode} before it was ready:\n${demo.output()}`);
      return demo.output().includes(DEMO_READY_LINE);
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 200, what: 'the demo to print its ready line' },
  ).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- demo output ---\n${demo.output()}`);
  });
}

/** The demo's exit, or 'timeout'; the timer never holds jest open. */
async function exitWithin(
  demo: RunningDemo,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'timeout'> {
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
    return (
      parseIdentity(response.headers[BACKEND_IDENTITY_HEADER] as string | undefined) ?? `status ${response.status}`
    );
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function expectNothingLeft(name: string, pids: number[]): Promise<void> {
  expect(pids.length).toBeGreaterThanOrEqual(10); // 6 backends + 3 gateways + 1 sidecar
  // Exit is immediate on SIGKILL of a child, but give the kernel a moment to reap.
  await waitFor(async () => pids.every((pid) => !isAlive(pid)), {
    timeoutMs: 5_000,
    what: `every process the demo started to be gone (${pids.join(' ')})`,
  });
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

  test(
    'DEMO_ONCE=1 tells the whole story, observes every step, exits 0 and leaves nothing behind',
    async () => {
      const demo = startDemo('once', [], { DEMO_ONCE: '1' });
      try {
        const exit = await exitWithin(demo, ONCE_TIMEOUT_MS);
        const output = demo.output();
        if (exit === 'timeout' || exit.code !== 0)
          throw new Error(`the story did not pass (${JSON.stringify(exit)}):\n${output}`);
        for (const step of STORY_STEPS) expect(output).toMatch(step);
        expect(output).toMatch(
          /east 0% \| west \d+% \| south \d+% of 60 requests, 0 failed \(expected 2:1 by replicas: west 67% south 33%\)/,
        );
        expect(output).toContain('story complete: every step observed (page: http://127.0.0.1:15014/)');
        expect(output).not.toContain('FAIL');
        expect(output).toContain('stopped; logs stay in');
        await expectNothingLeft('once', printedPids(output));
      } finally {
        demo.child.kill('SIGKILL');
      }
    },
    ONCE_TIMEOUT_MS + 20_000,
  );

  test('without the story: traffic reaches east and its canary, the admin page answers, SIGTERM stops everything', async () => {
    const demo = startDemo('no-story', ['--story', 'no', '--rps', '2']);
    try {
      await waitReady(demo);
      const first = await Promise.all(Array.from({ length: 20 }, () => callSidecar()));
      for (const answer of first) expect(answer).toMatchObject({ cluster: 'east', service: 'checkout.shop' });
      expect(await callSidecar({ 'x-canary': 'true' })).toMatchObject({ cluster: 'east', version: 'v2', port: 18085 });
      const failover = await httpGet(`${ADMIN_URL}/debug/failover`);
      expect(failover.status).toBe(200);
      const report = JSON.parse(failover.body) as { entries: { clientCluster: string; service: string }[] };
      expect(report.entries).toEqual(
        expect.arrayContaining([expect.objectContaining({ clientCluster: 'east', service: HOST })]),
      );
      const page = await httpGet(`${ADMIN_URL}/`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('<html');
      // The instructions name east's backends in a kill line: the user's way to trigger failover.
      await waitFor(async () => /^\s*kill [\d ]+$/m.test(demo.output()), {
        timeoutMs: 5_000,
        what: 'the printed kill line',
      });
      expect(demo.output()).not.toContain('[step 1/8]');
      const pids = printedPids(demo.output());
      demo.child.kill('SIGTERM');
      const exit = await exitWithin(demo, EXIT_TIMEOUT_MS);
      expect(exit).toEqual({ code: 0, signal: null });
      await expectNothingLeft('no-story', pids);
    } finally {
      demo.child.kill('SIGKILL');
    }
  }, 60_000);

  test('SIGTERM in the middle of the story stops every Envoy and backend, and a cut-short --once exits non-zero', async () => {
    const demo = startDemo('sigterm', ['--once', '--rps', '2']);
    try {
      await waitFor(async () => demo.output().includes('[step 6/8]'), {
        timeoutMs: READY_TIMEOUT_MS,
        what: 'the story to reach step 6 (east recovers)',
      });
      const pids = printedPids(demo.output());
      demo.child.kill('SIGTERM');
      const exit = await exitWithin(demo, EXIT_TIMEOUT_MS);
      expect(exit).toEqual({ code: 1, signal: null });
      expect(demo.output()).toContain('before every step of the story was observed');
      await expectNothingLeft('sigterm', pids);
    } finally {
      demo.child.kill('SIGKILL');
    }
  }, 90_000);
});
