// Learned suggestions end to end: a real Envoy sidecar of workload web.shop (node metadata SERVICE) that
// declares nothing calls checkout through its sidecar; its load reports reach Spillway, and `spillway
// scope` (the real CLI), /debug/scope and the page's panel suggest `calls: [checkout.shop]`. The
// sidecar's configuration is never trimmed: it still holds every service.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { Backend, EnvoyProcess, sendRequests, startEnvoy, startHttpBackend, stopEverything, waitFor } from '../harness';
import { chromium } from 'playwright-core';
import { SpillwayProcess, startSpillwayProcess } from '../harness/spillway-process';
import { freePort } from '../harness/ports';
import { testOutputDir } from '../harness/output';
import { repoRoot } from '../harness/paths';
import type { ScopeReport } from '../../src/visibility/scope-report';

const CHECKOUT = 'checkout.shop.svc.cluster.local';

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), ...args],
      { timeout: 10_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('spillway scope suggests what a workload was seen calling (real Envoy, load reports)', () => {
  const dir = testOutputDir(`scope-suggestions-${process.pid}`);
  let checkout: Backend;
  let spillway: SpillwayProcess;
  let envoy: EnvoyProcess;
  let url: string;

  beforeAll(async () => {
    checkout = await startHttpBackend({ id: 'checkout-1' });
    const unused = await freePort();
    const meshPath = path.join(dir, 'mesh.yaml');
    const service = (name: string, port: number) => ({
      name,
      namespace: 'shop',
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ cluster: 'east', address: '127.0.0.1', port }],
    });
    fs.writeFileSync(
      meshPath,
      YAML.stringify({
        clusters: [{ name: 'east', region: 'europe-west1', zone: 'europe-west1-b' }],
        services: [service('checkout', checkout.port), service('ledger', unused), service('web', unused)],
      }),
    );
    spillway = await startSpillwayProcess({ name: `scope-suggestions-${process.pid}`, meshPath });
    const outboundPort = await freePort();
    envoy = await startEnvoy({
      nodeId: 'sidecar~127.0.0.1~web-1.shop',
      metadata: { CLUSTER_ID: 'east', OUTBOUND_PORT: String(outboundPort), SERVICE: 'web.shop' },
      locality: { region: 'europe-west1', zone: 'europe-west1-b' },
      xds: { host: '127.0.0.1', port: spillway.xdsPort },
      mode: 'sotw',
      logDir: dir,
    });
    await envoy.waitReady();
    url = `http://127.0.0.1:${outboundPort}/`;
  });
  afterAll(async () => {
    await envoy?.stop();
    await spillway?.stop();
    await stopEverything();
  });

  test('web.shop calls checkout: /debug/scope, the CLI and the page suggest calls: [checkout.shop]; nothing is trimmed', async () => {
    // Envoy counts loads from its first load report period on (once Spillway answered the LRS stream):
    // keep calling until a report carries some.
    let sent = 0;
    const report = await waitFor(
      async () => {
        const calls = await sendRequests({ url, hostHeader: CHECKOUT, count: 5 });
        expect(calls.failures).toBe(0);
        sent += 5;
        const answer = await spillway.adminJson<ScopeReport>('/debug/scope');
        return answer.workloads.find((w) => w.workload === 'web.shop' && w.observed.length > 0) ? answer : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'load reports to show web.shop calling checkout' },
    );
    const web = report.workloads.find((w) => w.workload === 'web.shop');
    expect(web?.declared).toBeUndefined();
    expect(web?.observed.map((o) => o.service)).toEqual(['checkout.shop']);
    expect(web?.observed[0]?.requests).toBeGreaterThan(0);
    expect(web?.observed[0]?.requests).toBeLessThanOrEqual(sent);
    expect(web?.suggestion).toEqual({
      calls: ['checkout.shop'],
      meshFile: 'calls: [checkout.shop]',
      annotation: 'spillway.io/calls: "checkout.shop"',
    });

    const cli = await runCli(['scope', '--admin', spillway.adminUrl]);
    console.log(cli.stdout);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('web.shop\n  declared:    (no calls declared');
    expect(cli.stdout).toContain(
      '  mesh file:   calls: [checkout.shop]\n  annotation:  spillway.io/calls: "checkout.shop"',
    );

    // The page's panel, in a real Chromium (Debian's, as the admin page test uses).
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${spillway.adminUrl}/`);
      const row = page.locator('[data-testid="scope-table"] tr[data-workload="web.shop"]');
      await row.waitFor({ timeout: 10_000 });
      expect(await row.locator('[data-testid="scope-suggestion"]').textContent()).toBe('calls: [checkout.shop]');
    } finally {
      await browser.close();
    }

    // A suggestion only: the sidecar still holds every service it can see.
    const clusters = (await envoy.dynamicClusterNames()).filter((name) => name.startsWith('outbound|')).sort();
    expect(clusters).toEqual([
      `outbound|8080||${CHECKOUT}`,
      'outbound|8080||ledger.shop.svc.cluster.local',
      'outbound|8080||web.shop.svc.cluster.local',
    ]);
  });
});
