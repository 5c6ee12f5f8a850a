// Failover made visible, during a real-Envoy failover: /debug/failover (expected vs measured from load
// reports, state transitions with timestamps), /metrics, and the transition log line.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { Browser, Page, chromium } from 'playwright-core';
import { repoRoot } from '../harness/paths';
import { testOutputDir } from '../harness/output';
import { Backend, EnvoyProcess, sendRequests, startHttpBackend, stopEverything, waitFor } from '../harness';
import {
  ClusterSpec,
  MeshDocument,
  Topology,
  checkoutService,
  clustersYaml,
  startSidecar,
  startTopology,
} from '../harness/topology';

const HOST = 'checkout.shop.svc.cluster.local';
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
];
const EAST = CLUSTERS[0];
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = testOutputDir('visibility-page');
const ROW =
  '[data-testid="failover-row"][data-client-cluster="east"][data-service="checkout.shop.svc.cluster.local"][data-subset=""]';

function spillwayCli(...args: string[]) {
  const result = spawnSync(process.execPath, [path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Entry {
  clientCluster: string;
  service: string;
  port: number;
  subset: string;
  expected: { state: string; shares: Record<string, number> };
  measured?: { state: string; shares: Record<string, number>; requests: number };
  state: string;
  sinceMs: number;
}

function mesh(east: Backend[], west: Backend[], gatewayPort: number, eastReady = true): MeshDocument {
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [
      checkoutService([
        ...east.map((b) => ({ cluster: 'east', address: '127.0.0.1', port: b.port, ready: eastReady })),
        ...west.map((b) => ({ cluster: 'west', address: '127.0.0.1', port: b.port })),
      ]),
    ],
  };
}

function post(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST' }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end('x');
  });
}

describe('failover visibility (admin API, metrics, load reports)', () => {
  let east: Backend[];
  let west: Backend[];
  let topology: Topology;
  let sidecar: { envoy: EnvoyProcess; url: string };
  let browser: Browser;
  let page: Page;
  const rowState = () => page.getAttribute(ROW, 'data-state');
  const send = (count: number) => sendRequests({ url: sidecar.url, hostHeader: HOST, count, concurrency: 4 });
  const entry = async (): Promise<Entry> => {
    const body = await topology.spillway.adminJson<{ entries: Entry[] }>('/debug/failover');
    const found = body.entries.find((e) => e.clientCluster === 'east' && e.service === HOST && e.subset === '');
    if (!found) throw new Error('no failover entry for east/checkout');
    return found;
  };
  const metrics = async () =>
    await new Promise<string>((resolve, reject) => {
      http
        .get(`${topology.spillway.adminUrl}/metrics`, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve(text));
        })
        .on('error', reject);
    });

  beforeAll(async () => {
    east = await Promise.all(['east-1', 'east-2'].map((id) => startHttpBackend({ id })));
    west = await Promise.all(['west-1'].map((id) => startHttpBackend({ id })));
    topology = await startTopology({
      name: 'visibility',
      clusters: CLUSTERS,
      gatewaysFor: ['west'],
      mesh: (port) => mesh(east, west, port),
    });
    sidecar = await startSidecar(topology, EAST, 'sidecar-east-visible');
    if (!fs.existsSync(CHROMIUM))
      throw new Error(
        `no Chromium at ${CHROMIUM}: install Debian's with "apt-get install -y chromium" (scripts/setup.sh does)`,
      );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${topology.spillway.adminUrl}/`);
  });
  afterAll(async () => {
    await browser?.close();
    await topology?.stop();
    await stopEverything();
  });

  test('local: expected and measured agree, and load reports count the requests the test sent', async () => {
    const tally = await send(100);
    expect(tally.failures).toBe(0);
    const local = await waitFor(
      async () => {
        const e = await entry();
        return e.measured && e.measured.requests >= 100 ? e : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 300, what: 'load reports for 100 requests' },
    );
    expect(local.expected.state).toBe('local');
    expect(local.measured?.state).toBe('local');
    expect(local.state).toBe('local');
    // Exactly what was sent, within 5% (a report may straddle the window edge).
    expect(local.measured?.requests).toBeGreaterThanOrEqual(100);
    expect(local.measured?.requests).toBeLessThanOrEqual(105);
    expect(local.measured?.shares.east).toBe(1);
    await waitFor(async () => (await rowState()) === 'local', {
      timeoutMs: 5_000,
      intervalMs: 200,
      what: 'page shows local',
    });
    await page.screenshot({ path: path.join(SHOTS, '1-local.png'), fullPage: true });
  });

  test('outlier ejection: measured spill shows what the model cannot; state goes spilled, then local, with timestamps', async () => {
    const before = (await entry()).sinceMs;
    const killedAt = Date.now();
    await Promise.all(east.map((b) => b.kill('SIGKILL')));
    const spilled = await waitFor(
      async () => {
        await send(20);
        const e = await entry();
        if (process.env.DEBUG_VISIBILITY)
          console.log(JSON.stringify({ state: e.state, measured: e.measured, expected: e.expected }));
        return e.state === 'spilled' ? e : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 300, what: 'state spilled after east died' },
    );
    expect(spilled.expected.state).toBe('local'); // the model still thinks east is fine
    // The state is decided on the newest reports; the 10 s shares catch up over the window.
    expect(
      (spilled.measured as { recent?: { shares: Record<string, number> } }).recent?.shares.west ?? 0,
    ).toBeGreaterThan(0.95);
    expect(spilled.sinceMs).toBeGreaterThanOrEqual(killedAt);
    expect(spilled.sinceMs).toBeGreaterThan(before);
    // The live page (never reloaded) shows it too.
    await waitFor(async () => (await rowState()) === 'spilled', {
      timeoutMs: 5_000,
      intervalMs: 200,
      what: 'page shows spilled',
    });
    await page.screenshot({ path: path.join(SHOTS, '2-spilled.png'), fullPage: true });
    const status = spillwayCli('status', '--admin', topology.spillway.adminUrl);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/east.*checkout.*spilled/);
    await waitFor(
      async () => {
        await send(20);
        return ((await entry()).measured?.shares.west ?? 0) > 0.95;
      },
      { timeoutMs: 15_000, intervalMs: 300, what: '10 s shares mostly west' },
    );
    const text = await metrics();
    expect(text).toMatch(
      /spillway_failover_state\{client_cluster="east",service="checkout.shop.svc.cluster.local",port="8080",subset="",state="spilled"\} 1/,
    );
    expect(text).toMatch(
      /spillway_failover_remote_share\{client_cluster="east",service="checkout.shop.svc.cluster.local",port="8080",subset=""\} (0\.9\d*|1)/,
    );

    const restartedAt = Date.now();
    await Promise.all(east.map((b) => b.restart()));
    const back = await waitFor(
      async () => {
        await send(20);
        const e = await entry();
        return e.state === 'local' ? e : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'state local after east recovered' },
    );
    expect(back.sinceMs).toBeGreaterThanOrEqual(restartedAt);
    await waitFor(async () => (await rowState()) === 'local', {
      timeoutMs: 5_000,
      intervalMs: 200,
      what: 'page shows local again',
    });
    await page.screenshot({ path: path.join(SHOTS, '3-local-again.png'), fullPage: true });
    await waitFor(async () => topology.spillway.logTail(200_000).includes('"msg":"failover state changed"'), {
      timeoutMs: 5_000,
      what: 'transition logged',
    });
  });

  test('not ready in the mesh: the expected state is spilled at once', async () => {
    topology.meshFile.write(mesh(east, west, topology.gatewayPort, false));
    const spilled = await waitFor(
      async () => {
        const e = await entry();
        return e.expected.state === 'spilled' ? e : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'expected spilled' },
    );
    expect(spilled.expected.shares).toEqual({ west: 1 });
    topology.meshFile.write(mesh(east, west, topology.gatewayPort, true));
    await waitFor(async () => (await entry()).expected.state === 'local', {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: 'expected local again',
    });
  });

  test('metrics: clients, pushes and their latency, ACKs, reloads', async () => {
    const text = await metrics();
    expect(text).toMatch(/spillway_xds_clients\{cluster="east",role="sidecar",mode="sotw"\} 1/);
    expect(text).toMatch(/spillway_xds_clients\{cluster="west",role="gateway",mode="sotw"\} 1/);
    expect(text).toMatch(/spillway_xds_push_latency_seconds_count\{type="EDS"\} [1-9]/);
    expect(text).toMatch(/spillway_xds_ack_latency_seconds_count\{type="CDS"\} [1-9]/);
    expect(text).toMatch(/spillway_mesh_reloads\{source="file"\} [2-9]/);
    expect(text).toMatch(/spillway_source_staleness_seconds\{source="file"\} \d/);
    expect(text).toMatch(/spillway_lrs_requests [1-9]/);
  });

  test('the admin server refuses anything but GET/HEAD', async () => {
    expect(await post(`${topology.spillway.adminUrl}/debug/clients`)).toBe(405);
  });

  test('spillway clients lists the proxies; status fails clearly when the admin server is unreachable', async () => {
    const clients = spillwayCli('clients', '--admin', topology.spillway.adminUrl);
    expect(clients.code).toBe(0);
    expect(clients.stdout).toContain('sidecar-east-visible');
    const unreachable = spillwayCli('status', '--admin', 'http://127.0.0.1:9');
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('cannot reach the admin server at http://127.0.0.1:9');
  });
});
