// Careless and hostile mesh files against the real `spillway serve`: half-written saves, a mesh without
// clusters, a FIFO, bytes that are not UTF-8, a YAML alias bomb, an oversize file. Each must leave the
// last good mesh served, say what is wrong where an operator looks (/debug/issues, the live page,
// `spillway status`), and never stop the well-behaved client below from receiving updates.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { Browser, chromium } from 'playwright-core';
import { IssuesReport, SourceIssueJson } from '../../src/admin/page/api-types';
import { CdsUpdate, CdsWatcher } from '../harness/cds-watcher';
import { httpGet } from '../harness/http-get';
import { testOutputDir } from '../harness/output';
import { repoRoot } from '../harness/paths';
import { sleep, waitFor } from '../harness/ports';
import { SpillwayProcess, startSpillwayProcess } from '../harness/spillway-process';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const CHROMIUM = '/usr/bin/chromium';
const DIR = testOutputDir('mesh-file-hardening');
const MESH = path.join(DIR, 'mesh.yaml');
/**
 * Twice the default of --mesh-settle-ms, so that the half-written save below (pausing for half of it)
 * stays inside the settle period even when this test process stalls for a moment.
 */
const SETTLE_MS = 600;
/** Small, so an oversize file is quick to write; the alias bomb (about 165 KB) stays under it. */
const MAX_BYTES = 1_000_000;
const SERVICES = 5;
const NODE = { id: 'hardening-east', metadata: { CLUSTER_ID: 'east' } };
const run = promisify(execFile);

/** A mesh whose every service port is 8000 + generation, so each generation is a visible CDS change. */
function meshText(generation: number, services = SERVICES): string {
  const lines = [
    'clusters:',
    '  - { name: east, region: r1, zone: r1-a }',
    '  - { name: west, region: r1, zone: r1-b }',
    'services:',
  ];
  for (let i = 0; i < services; i++) {
    lines.push(
      `  - name: s${i}`,
      '    namespace: shop',
      `    ports: [{ name: http, port: ${8000 + generation} }]`,
      '    endpoints:',
    );
    lines.push(`      - { cluster: east, address: 127.0.0.1, port: ${18000 + i} }`);
  }
  return lines.join('\n') + '\n';
}

/** The services of generation `generation` a CDS update carries. */
const servicesOf = (update: CdsUpdate, generation: number) =>
  update.names.filter((name) => name.startsWith(`outbound|${8000 + generation}||`)).length;

/** Saves like a careful operator: write a new file, then rename it over the old one. */
function saveAtomically(text: string | Buffer): void {
  fs.writeFileSync(`${MESH}.tmp`, text);
  fs.renameSync(`${MESH}.tmp`, MESH);
}

describe('mesh files written carelessly or with hostile intent', () => {
  let spillway: SpillwayProcess;
  let client: CdsWatcher;
  let generation = 1;

  const issues = () => spillway.adminJson<IssuesReport>('/debug/issues');
  const sourceIssues = async (): Promise<SourceIssueJson[]> => (await issues()).sources ?? [];
  const rejection = (match: RegExp) =>
    waitFor(
      async () =>
        (await sourceIssues()).find((issue) => issue.severity === 'error' && match.test(issue.details.join('\n'))),
      {
        timeoutMs: 10_000,
        what: `a rejection matching ${match} on /debug/issues`,
      },
    );

  /** Serves the next generation and waits for the client to receive it: it kept receiving updates. */
  async function recover(): Promise<void> {
    generation++;
    const from = client.updates.length;
    saveAtomically(meshText(generation));
    await client.waitFor(
      `all ${SERVICES} services of generation ${generation}`,
      (u) => servicesOf(u, generation) === SERVICES,
      from,
    );
    await waitFor(async () => (await sourceIssues()).every((issue) => issue.severity !== 'error'), {
      timeoutMs: 5_000,
      what: 'the rejection to clear',
    });
  }

  /** Asserts the client got nothing since `from`: the last good mesh is still what it has. */
  function expectStillServed(from: number): void {
    expect(client.updates.slice(from)).toEqual([]);
    expect(servicesOf(client.latest() as CdsUpdate, generation)).toBe(SERVICES);
  }

  beforeAll(async () => {
    fs.rmSync(MESH, { force: true });
    saveAtomically(meshText(generation));
    spillway = await startSpillwayProcess({
      name: 'mesh-file-hardening',
      meshPath: MESH,
      extraArgs: ['--mesh-max-bytes', String(MAX_BYTES), '--mesh-settle-ms', String(SETTLE_MS)],
    });
    client = new CdsWatcher(`127.0.0.1:${spillway.xdsPort}`, NODE);
    await client.waitFor('the first mesh', (u) => servicesOf(u, generation) === SERVICES);
  });

  afterAll(async () => {
    await client?.close();
    await spillway?.stop();
  });

  test('a file written in two parts, pausing for less than the settle period, is never served half-written', async () => {
    generation++;
    const text = meshText(generation);
    const cut = text.indexOf(`  - name: s${SERVICES - 1}\n`);
    const from = client.updates.length;
    // Part one alone is a valid mesh of four services: the careless save the issue describes.
    const handle = fs.openSync(MESH, 'w');
    fs.writeSync(handle, text.slice(0, cut));
    await sleep(SETTLE_MS / 2);
    fs.writeSync(handle, text.slice(cut));
    fs.closeSync(handle);
    await client.waitFor(
      `all ${SERVICES} services of generation ${generation}`,
      (u) => servicesOf(u, generation) === SERVICES,
      from,
    );
    await sleep(SETTLE_MS);
    expect(client.updates.slice(from).map((u) => u.names.length)).toEqual([SERVICES]);
  });

  test('a mesh with no clusters is refused, by serve and by validate; the last good mesh stays', async () => {
    const from = client.updates.length;
    saveAtomically('clusters: []\nservices: []\n');
    const issue = await rejection(/at least one cluster/);
    expect(issue.details[0]).toMatch(new RegExp(`^${MESH}:1: clusters: `));
    const validate = await run(process.execPath, [CLI, 'validate', MESH]).catch((error: unknown) => error);
    expect(validate).toMatchObject({ code: 1 });
    expect((validate as { stderr: string }).stderr).toContain('at least one cluster');
    expectStillServed(from);
    await recover();
  });

  test('a reload that removes more than half of the services is served, with a loud warning', async () => {
    generation++;
    const from = client.updates.length;
    saveAtomically(meshText(generation, 2));
    await client.waitFor('the shrunken mesh', (u) => servicesOf(u, generation) === 2, from);
    const warning = (await sourceIssues()).find((issue) => issue.severity === 'warning');
    expect(warning?.summary).toMatch(/removed 3 of 5 services/);
    expect(spillway.logTail(20_000)).toMatch(/"level":40[^\n]*removed 3 of 5 services/);
    await recover();
    expect((await sourceIssues()).filter((issue) => issue.severity === 'warning')).toEqual([]);
  });

  test('a FIFO at the mesh path is refused without blocking: /healthz answers and updates keep flowing', async () => {
    const from = client.updates.length;
    const fifo = `${MESH}.fifo`;
    fs.rmSync(fifo, { force: true });
    await run('mkfifo', [fifo]);
    fs.renameSync(fifo, MESH);
    let slowestHealthMs = 0;
    const startedAt = Date.now();
    let refused: SourceIssueJson | undefined;
    // Until it is refused, and for a second more: the process must stay responsive, not just once.
    while (!refused || Date.now() - startedAt < SETTLE_MS + 1_000) {
      if (Date.now() - startedAt > 10_000) throw new Error('the FIFO was not refused within 10 s');
      const started = Date.now();
      expect((await httpGet(`${spillway.adminUrl}/healthz`, 1_000)).status).toBe(200);
      slowestHealthMs = Math.max(slowestHealthMs, Date.now() - started);
      refused ??= (await sourceIssues()).find((issue) => issue.details.join('\n').includes('not a regular file'));
      await sleep(50);
    }
    process.stdout.write(`FIFO refused; slowest /healthz meanwhile: ${slowestHealthMs} ms\n`);
    expect(refused?.details[0]).toMatch(/FIFO/);
    expect(slowestHealthMs).toBeLessThan(500);
    expectStillServed(from);
    await recover();
  });

  test('bytes that are not UTF-8 are an error with their line, never silently replaced', async () => {
    const from = client.updates.length;
    const good = meshText(generation + 1);
    const zone = good.indexOf('r1-b');
    const column = zone - good.lastIndexOf('\n', zone) + 2;
    saveAtomically(
      Buffer.concat([
        Buffer.from(good.slice(0, zone)),
        Buffer.from([0x72, 0x31, 0xff, 0x62]),
        Buffer.from(good.slice(zone + 4)),
      ]),
    );
    const issue = await rejection(/UTF-8/);
    expect(issue.details[0]).toMatch(new RegExp(`^${MESH}:3: .*byte 0xff at column ${column} is not valid UTF-8`));
    expectStillServed(from);
    await recover();
  });

  test('a YAML alias bomb is refused in about a second, not minutes; an oversize file names the flag to raise', async () => {
    const from = client.updates.length;
    // 2,500 services sharing one anchored list of 400 endpoints: 1,000,000 endpoints from about 200 KB.
    const lines = [
      'clusters:',
      '  - { name: east, region: r1, zone: r1-a }',
      'services:',
      '  - name: s0',
      '    namespace: shop',
      '    ports: &ports [{ name: http, port: 8080 }]',
      '    endpoints: &endpoints',
    ];
    for (let i = 0; i < 400; i++) lines.push(`      - { cluster: east, address: 10.0.${i >> 8}.${i & 255}, port: 80 }`);
    for (let i = 1; i < 2_500; i++)
      lines.push(`  - { name: s${i}, namespace: shop, ports: *ports, endpoints: *endpoints }`);
    const bomb = lines.join('\n') + '\n';
    expect(bomb.length).toBeGreaterThan(150_000);
    const written = Date.now();
    saveAtomically(bomb);
    const issue = await rejection(/aliases/);
    const refusedAfterMs = Date.now() - written;
    process.stdout.write(
      `alias bomb (${bomb.length} bytes, 1,000,000 endpoints) refused ${refusedAfterMs} ms after it was written (settle period included)\n`,
    );
    expect(issue.details.join('\n')).toMatch(/&endpoints/);
    expect(refusedAfterMs).toBeLessThan(SETTLE_MS + 2_000);

    saveAtomically(meshText(generation) + `# ${'x'.repeat(MAX_BYTES)}\n`);
    const oversize = await rejection(/--mesh-max-bytes/);
    expect(oversize.details[0]).toMatch(/over the 1000000-byte limit/);
    expectStillServed(from);
    await recover();
  });

  test('a rejection is shown on /debug/issues, the live page and spillway status (text and --json)', async () => {
    const from = client.updates.length;
    saveAtomically(meshText(generation + 1).replace('zone: r1-b', 'zone: r1-b, gateway: nowhere'));
    const issue = await rejection(/gateway/);
    const line = `${MESH}:3: clusters[1].gateway: "nowhere" is not HOST:PORT`;
    expect(issue.details[0]).toContain(line);
    expect(issue.sinceMs).toBeLessThanOrEqual(Date.now());
    expect(issue.serving).toMatchObject({ services: SERVICES, clusters: 2 });
    expect(issue.serving?.version).toMatch(/^[0-9a-f]{12}$/);

    const text = await run(process.execPath, [CLI, 'status', '--admin', spillway.adminUrl]);
    expect(text.stdout).toContain('MESH FILE REJECTED');
    expect(text.stdout).toContain(line);
    expect(text.stdout).toMatch(new RegExp(`serving instead the last good version ${issue.serving?.version}`));
    const json = JSON.parse(
      (await run(process.execPath, [CLI, 'status', '--admin', spillway.adminUrl, '--json'])).stdout,
    ) as { entries: unknown[]; issues: IssuesReport };
    expect(Array.isArray(json.entries)).toBe(true);
    expect(json.issues.sources?.[0]?.details[0]).toContain(line);

    const html = (await httpGet(`${spillway.adminUrl}/`)).body;
    expect(html).toContain('data-testid="source-issues"');
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      const page = await browser.newPage();
      await page.goto(`${spillway.adminUrl}/`);
      const banner = page.locator('[data-testid="source-issue"][data-severity="error"]');
      await banner.waitFor({ timeout: 5_000 });
      const shown = await banner.textContent();
      expect(shown).toContain(line);
      expect(shown).toMatch(/serving instead/i);
      expect(shown).toContain(issue.serving?.version as string);
      await page.screenshot({ path: path.join(DIR, 'page-rejected.png'), fullPage: true });
    } finally {
      await browser?.close();
    }
    expectStillServed(from);
    await recover();
  });

  test('serve --help documents the mesh file flags and their defaults', async () => {
    const help = (await run(process.execPath, [CLI, 'serve', '--help'])).stdout;
    expect(help).toMatch(/--mesh-settle-ms MS.*\(default 300\)/);
    expect(help).toMatch(/--mesh-max-bytes BYTES.*\(default 33554432\)/);
  });
});
