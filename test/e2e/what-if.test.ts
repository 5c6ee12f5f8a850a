// What-if with real Envoys: the prediction for "east fails" (from the translator's own EDS, and the load
// fit from real load reports) against what really happens when east's endpoints go not ready: shares
// counted by the backends that answered and by load reports, within a tolerance. Also the CLI and the
// request bounds of /debug/what-if.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { chromium } from 'playwright-core';
import { testOutputDir } from '../harness/output';
import { Backend, EnvoyProcess, Tally, sendRequests, startHttpBackend, stopEverything, waitFor } from '../harness';
import { httpGet } from '../harness/http-get';
import { repoRoot } from '../harness/paths';
import {
  ClusterSpec,
  MeshDocument,
  Topology,
  checkoutService,
  clustersYaml,
  startSidecar,
  startTopology,
} from '../harness/topology';
import type { WhatIfReport } from '../../src/predict/what-if';

const HOST = 'checkout.shop.svc.cluster.local';
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
  { name: 'south', region: 'us-east1', zone: 'us-east1-a', gatewayAddress: '127.0.0.4' },
];
const [EAST, , SOUTH] = CLUSTERS as [ClusterSpec, ClusterSpec, ClusterSpec];
/** Predicted and measured shares may differ by this much (weighted round robin over a few hundred requests). */
const SHARE_TOLERANCE = 0.07;

interface Backends {
  east: Backend[];
  west: Backend[];
  south: Backend[];
  ledger: Backend;
}

function meshDocument(b: Backends, gatewayPort: number, eastReady = true): MeshDocument {
  const endpoints = (cluster: string, list: Backend[], ready = true) =>
    list.map((x) => ({ cluster, address: '127.0.0.1', port: x.port, ready }));
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [
      checkoutService([
        ...endpoints('east', b.east, eastReady),
        ...endpoints('west', b.west),
        ...endpoints('south', b.south),
      ]),
      {
        name: 'ledger',
        namespace: 'shop',
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [{ cluster: 'west', address: '127.0.0.1', port: b.ledger.port }],
      },
    ],
  };
}

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function clusterShares(tally: Tally): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [id, n] of Object.entries(tally.byId)) {
    const cluster = id.split('-')[0];
    counts[cluster] = (counts[cluster] ?? 0) + n;
  }
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries(counts).map(([c, n]) => [c, n / total]));
}

describe('what-if (real Envoy, real load reports)', () => {
  let backends: Backends;
  let topology: Topology;
  let eastSidecar: { envoy: EnvoyProcess; url: string };
  let southSidecar: { envoy: EnvoyProcess; url: string };
  const whatIf = (query: string) => httpGet(`${topology.spillway.adminUrl}/debug/what-if?${query}`);

  beforeAll(async () => {
    const start = (ids: string[]) => Promise.all(ids.map((id) => startHttpBackend({ id })));
    backends = {
      east: await start(['east-1', 'east-2']),
      west: await start(['west-1', 'west-2']),
      south: await start(['south-1']),
      ledger: await startHttpBackend({ id: 'ledger-1' }),
    };
    topology = await startTopology({
      name: 'what-if',
      clusters: CLUSTERS,
      gatewaysFor: ['west', 'south'],
      mesh: (port) => meshDocument(backends, port),
    });
    eastSidecar = await startSidecar(topology, EAST, 'sidecar-east-what-if');
    southSidecar = await startSidecar(topology, SOUTH, 'sidecar-south-what-if');
  });
  afterAll(async () => {
    await topology?.stop();
    await stopEverything();
  });

  test('the prediction for "east fails" matches what happens when it does: shares within 7 points, load fit from load reports', async () => {
    // Today's load: east's clients 3x as busy as south's, all served locally.
    await Promise.all([
      sendRequests({ url: eastSidecar.url, hostHeader: HOST, count: 300, concurrency: 4 }),
      sendRequests({ url: southSidecar.url, hostHeader: HOST, count: 100, concurrency: 2 }),
    ]);
    const report = await waitFor(
      async () => {
        const r = JSON.parse((await whatIf('fail=east')).body) as WhatIfReport;
        const east = r.routes.find((x) => x.clientCluster === 'east' && x.subset === '');
        const south = r.routes.find((x) => x.clientCluster === 'south' && x.subset === '');
        if (process.env.DEBUG_WHAT_IF) console.log(JSON.stringify(r));
        return (east?.requestsPerSecond ?? 0) > 0 && (south?.requestsPerSecond ?? 0) > 0 ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 300, what: 'what-if with load reports of both sidecars' },
    );
    const eastRoute = report.routes.find((x) => x.clientCluster === 'east' && x.subset === '');
    expect(eastRoute?.before).toEqual({ east: 1 });
    // West's gateway fronts 2 ready endpoints, south's 1: the translator weights them 2:1.
    expect(eastRoute?.after.west).toBeCloseTo(2 / 3, 5);
    expect(eastRoute?.after.south).toBeCloseTo(1 / 3, 5);
    // South's own clients stay local; the fit adds east's traffic to what south serves today.
    const southFit = report.fit.find((f) => f.cluster === 'south' && f.service === HOST);
    const eastRps = eastRoute?.requestsPerSecond ?? 0;
    expect(southFit?.readyEndpoints).toBe(1);
    expect(southFit?.todayRps).toBeGreaterThan(0);
    expect(southFit?.predictedRps).toBeCloseTo((southFit?.todayRps ?? 0) + eastRps / 3, 0);
    const westFit = report.fit.find((f) => f.cluster === 'west' && f.service === HOST);
    expect(westFit?.todayRps).toBe(0);
    expect(westFit?.overload).toMatch(
      /^west would receive [\d.]+ req\/s of checkout\.shop:8080 on 2 endpoints, none today$/,
    );
    if ((southFit?.factor ?? 0) >= 2) expect(report.warnings).toContain(southFit?.overload);

    // Now east really fails (its endpoints not ready): count where the requests land.
    topology.meshFile.write(meshDocument(backends, topology.gatewayPort, false));
    await waitFor(
      async () =>
        (clusterShares(await sendRequests({ url: eastSidecar.url, hostHeader: HOST, count: 12 })).east ?? 0) === 0,
      { timeoutMs: 10_000, intervalMs: 200, what: 'east traffic moved' },
    );
    const measuredAt = Date.now();
    const tally = await sendRequests({ url: eastSidecar.url, hostHeader: HOST, count: 600, concurrency: 4 });
    expect(tally.failures).toBe(0);
    const measured = clusterShares(tally);
    expect(Math.abs((measured.west ?? 0) - (eastRoute?.after.west ?? 0))).toBeLessThan(SHARE_TOLERANCE);
    expect(Math.abs((measured.south ?? 0) - (eastRoute?.after.south ?? 0))).toBeLessThan(SHARE_TOLERANCE);
    // Load reports agree too (the shares the page shows).
    const reported = await waitFor(
      async () => {
        const body = await topology.spillway.adminJson<{
          entries: {
            clientCluster: string;
            service: string;
            subset: string;
            measured?: { shares: Record<string, number>; requests: number };
          }[];
        }>('/debug/failover');
        const e = body.entries.find((x) => x.clientCluster === 'east' && x.service === HOST && x.subset === '');
        return e?.measured && (e.measured.shares.east ?? 0) === 0 && Date.now() - measuredAt > 2_000
          ? e.measured
          : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 300, what: 'load reports of the failed-over traffic' },
    );
    expect(Math.abs((reported.shares.west ?? 0) - 2 / 3)).toBeLessThan(SHARE_TOLERANCE);
    console.log(
      JSON.stringify({
        predicted: eastRoute?.after,
        measuredByBackends: measured,
        measuredByLoadReports: reported.shares,
      }),
    );
    topology.meshFile.write(meshDocument(backends, topology.gatewayPort, true));
    await waitFor(
      async () =>
        (clusterShares(await sendRequests({ url: eastSidecar.url, hostHeader: HOST, count: 12 })).east ?? 0) === 1,
      { timeoutMs: 10_000, intervalMs: 200, what: 'east traffic back' },
    );
  });

  test('dead ends are named: ledger exists only in west and is not exported', async () => {
    const report = JSON.parse((await whatIf('fail=west')).body) as WhatIfReport;
    const ledger = report.routes.find((r) => r.service === 'ledger.shop.svc.cluster.local');
    expect(ledger?.clientCluster).toBe('west');
    expect(ledger?.deadEnd).toBe(
      'ledger.shop: it is not exported, so no other cluster serves it — calls from west fail',
    );
    expect(report.warnings).toContain(ledger?.deadEnd);
    // Two failures at once: only one remote cluster is left for east.
    const both = JSON.parse((await whatIf('fail=east&fail=west/checkout.shop')).body) as WhatIfReport;
    expect(both.routes.find((r) => r.clientCluster === 'east' && r.subset === '')?.after).toEqual({ south: 1 });
  });

  test('spillway what-if prints the table and the warnings', () => {
    const out = cli('what-if', '--admin', topology.spillway.adminUrl, '--fail', 'east');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('If east failed:');
    expect(out.stdout).toMatch(/east\s+checkout\.shop:8080\s+all\s+east 100%\s+west 67% south 33%/);
    const bad = cli('what-if', '--admin', topology.spillway.adminUrl, '--fail', 'mars');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('no cluster "mars" in the mesh; clusters: east, south, west');
  });

  test('the live page: the what-if panel predicts, and a running drill shows as a banner', async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(`${topology.spillway.adminUrl}/`);
      await page.fill('[data-testid="what-if-input"]', 'east');
      await page.click('[data-testid="what-if-button"]');
      const after = page.locator(
        '[data-testid="what-if-row"][data-client-cluster="east"][data-subset=""] [data-testid="what-if-after"]',
      );
      await after.waitFor({ timeout: 10_000 });
      expect(await after.textContent()).toBe('west 67% south 33%');
      await page.fill('[data-testid="what-if-input"]', 'west');
      await page.click('[data-testid="what-if-button"]');
      await waitFor(
        async () =>
          ((await page.textContent('[data-testid="what-if-warnings"]')) ?? '').includes('calls from west fail'),
        { timeoutMs: 10_000, intervalMs: 100, what: 'dead end on the page' },
      );
      await page.screenshot({ path: path.join(testOutputDir('what-if-page'), 'what-if.png'), fullPage: true });
      expect(await page.isHidden('[data-testid="drill-banner"]')).toBe(true);
      expect(
        cli('drill', 'start', '--admin', topology.spillway.adminUrl, '--cluster', 'south', '--for', '30s').code,
      ).toBe(0);
      await page.waitForSelector('[data-testid="drill-banner"]:not([hidden])', { timeout: 10_000 });
      expect(await page.textContent('[data-testid="drill-banner"]')).toMatch(
        /^Drill: south is served as not ready for \d+ s more \(started by 127\.0\.0\.1\)$/,
      );
      await page.screenshot({ path: path.join(testOutputDir('what-if-page'), 'drill-banner.png'), fullPage: true });
      expect(cli('drill', 'stop', '--admin', topology.spillway.adminUrl).code).toBe(0);
    } finally {
      await browser.close();
    }
  });

  test('bounds: at most 8 failures per what-if, each a known cluster or service, nothing without fail=', async () => {
    const nine = Array.from({ length: 9 }, () => 'fail=east').join('&');
    const tooMany = await whatIf(nine);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toContain('at most 8 failures at once (--what-if-max-failures)');
    expect((await whatIf('fail=east/nothing.here')).status).toBe(400);
    expect((await whatIf('fail=' + 'x'.repeat(400))).body).toContain('at most 300 characters');
    expect((await whatIf('')).status).toBe(400);
  });
});
