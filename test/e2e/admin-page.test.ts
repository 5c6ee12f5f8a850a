// The admin live page in a real headless Chromium: a stub admin server serves the page and fixture
// JSON that the test changes between polls; the SAME page (no reload) must follow the changes.
// Needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium); fails loudly without it.
import * as fs from 'fs';
import * as path from 'path';
import { Browser, Page, chromium } from 'playwright-core';
import type {
  ClientInfoJson,
  ClientsReport,
  FailoverEntry,
  FailoverReport,
  IssuesReport,
  MeshReport,
} from '../../src/admin/page/api-types';
import { AdminServer, json } from '../../src/admin/admin-server';
import { PAGE_BYTES, pageHandler } from '../../src/admin/page/page';
import { createLogger } from '../../src/log';
import { testOutputDir } from '../harness';

const CHROMIUM = '/usr/bin/chromium';
const HOST = 'checkout.shop.svc.cluster.local';
const CART = 'cart.shop.svc.cluster.local';
const NACK_TEXT =
  'Proto constraint validation failed (ClusterValidationError.LoadAssignment): endpoint "x" has no port';
/** Data that would run script if the page ever used innerHTML. */
const HOSTILE_NODE_ID = '<img src=x onerror="window.spillwayPwned=1">';
/** Polls run every second; a change must show well within this. */
const UPDATE_TIMEOUT_MS = 5_000;

interface Fixtures {
  mesh: MeshReport;
  clients: ClientsReport;
  failover: Omit<FailoverReport, 'generatedAtMs'>;
  issues: IssuesReport;
}

function entry(clientCluster: string, service: string, subset: string, fields: Partial<FailoverEntry>): FailoverEntry {
  return {
    clientCluster,
    service,
    port: 8080,
    subset,
    priorities: [],
    expected: { state: 'local', shares: { [clientCluster]: 1 } },
    state: 'local',
    sinceMs: Date.now() - 95_000,
    ...fields,
  };
}

function client(streamId: number, nodeId: string, clusterId: string, fields: Partial<ClientInfoJson>): ClientInfoJson {
  const acked = (version: string) => ({
    sentVersion: version,
    sentAtMs: Date.now() - 2_000,
    responses: 1,
    ackedVersion: version,
    ackedAtMs: Date.now() - 1_900,
    nacks: 0,
  });
  return {
    streamId,
    nodeId,
    clusterId,
    role: 'sidecar',
    view: `sidecar|${clusterId}|127.0.0.1|15001`,
    userAgent: 'envoy/1.40.0',
    mode: 'sotw',
    service: 'envoy.service.discovery.v3.AggregatedDiscoveryService',
    peer: '127.0.0.1:5000',
    connectedAtMs: Date.now() - 360_000,
    types: { CDS: acked('c1'), EDS: acked('c1'), LDS: acked('c1'), RDS: acked('c1') },
    ...fields,
  };
}

function initialFixtures(): Fixtures {
  const now = Date.now();
  return {
    mesh: {
      clusters: [{ name: 'east' }, { name: 'west' }],
      services: [{ host: HOST, canary: { stable: 'v1', canary: 'v2', weight: 20 } }, { host: CART }],
    },
    clients: {
      totals: {},
      clients: [
        client(1, 'sidecar-east-1', 'east', {}),
        client(2, 'gateway-west', 'west', { role: 'gateway', mode: 'delta' }),
        client(3, 'sidecar-west-1', 'west', {
          types: {
            CDS: {
              sentVersion: 'c2',
              sentAtMs: now - 300,
              responses: 2,
              ackedVersion: 'c1',
              ackedAtMs: now - 60_000,
              nacks: 0,
            },
            LDS: {
              sentVersion: 'c2',
              sentAtMs: now - 500,
              responses: 2,
              ackedVersion: 'c1',
              ackedAtMs: now - 60_000,
              nacks: 1,
              lastNack: { version: 'c2', nonce: '4', message: NACK_TEXT, atMs: now - 400 },
            },
          },
        }),
        client(4, HOSTILE_NODE_ID, 'east', { userAgent: 'grpc-node-js/1.14.7', mode: 'delta' }),
      ],
    },
    failover: {
      entries: [
        entry('east', HOST, 'v1', {
          measured: { state: 'local', shares: { east: 1 }, requests: 380, windowMs: 10_000 },
        }),
        entry('east', HOST, 'v2', {
          measured: { state: 'local', shares: { east: 0.97, west: 0.03 }, requests: 96, windowMs: 10_000 },
        }),
        entry('west', HOST, 'v1', {}),
        entry('east', CART, '', {
          expected: { state: 'spilled', shares: { west: 1 } },
          measured: { state: 'partial', shares: { west: 0.6, east: 0.4 }, requests: 50, windowMs: 10_000 },
          state: 'partial',
        }),
        entry('west', CART, '', { expected: { state: 'unavailable', shares: {} }, state: 'unavailable' }),
      ],
    },
    issues: { sources: [], views: {} },
  };
}

const row = (clientCluster: string, service: string, subset: string) =>
  `[data-testid="failover-row"][data-client-cluster="${clientCluster}"][data-service="${service}"][data-subset="${subset}"]`;

describe('admin live page in headless Chromium', () => {
  let fixtures: Fixtures;
  let server: AdminServer;
  let browser: Browser;
  let page: Page;
  let pageUrl: string;
  /** Script errors in the page: any one fails the test that was running. */
  const pageErrors: string[] = [];
  const shots = testOutputDir('admin-page');
  const screenshot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `no Chromium at ${CHROMIUM}: this test needs a real browser; install Debian's with "apt-get update && apt-get install -y chromium" (scripts/setup.sh)`,
      );
    }
    fixtures = initialFixtures();
    server = new AdminServer({
      logger: createLogger('silent'),
      handlers: new Map([
        ['/', pageHandler],
        ['/debug/mesh', () => json(fixtures.mesh)],
        ['/debug/clients', () => json(fixtures.clients)],
        ['/debug/failover', () => json({ generatedAtMs: Date.now(), ...fixtures.failover })],
        ['/debug/issues', () => json(fixtures.issues)],
      ]),
    });
    const port = await server.listen('127.0.0.1', 0);
    pageUrl = `http://127.0.0.1:${port}/`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(pageUrl);
  });

  afterEach(() => expect(pageErrors).toEqual([]));

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the page is one small self-contained document', async () => {
    // 27 KiB with the what-if panel and the drill banner.
    expect(PAGE_BYTES).toBeLessThan(27 * 1024);
    const html = await (await fetch(pageUrl)).text();
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
  });

  test('shows the mesh summary, every failover row and the canary split', async () => {
    await page.waitForSelector(`${row('east', HOST, 'v1')}[data-state="local"]`, { timeout: UPDATE_TIMEOUT_MS });
    expect(await page.textContent(`${row('east', HOST, 'v1')} [data-testid="state"]`)).toBe('local');
    expect(await page.locator('[data-testid="failover-row"]').count()).toBe(5);
    expect(await page.textContent('[data-testid="summary-clusters"]')).toBe('2');
    expect(await page.textContent('[data-testid="summary-services"]')).toBe('2');
    expect(await page.textContent('[data-testid="summary-proxies"]')).toBe('4');
    expect(await page.getAttribute(row('east', CART, ''), 'data-state')).toBe('partial');
    expect(await page.textContent(`${row('east', CART, '')} [data-testid="measured-requests"]`)).toContain('50 req');
    const since = await page.textContent(`${row('east', HOST, 'v1')} .since`);
    expect(since).toMatch(/^1m ago$/);

    const canary = page.locator(`[data-testid="canary-row"][data-client-cluster="east"][data-service="${HOST}"]`);
    expect(await canary.getAttribute('data-canary-requests')).toBe('96');
    expect(await canary.getAttribute('data-stable-requests')).toBe('380');
    expect(await canary.locator('[data-testid="canary-requests"]').textContent()).toBe('96');
    expect(await canary.locator('[data-testid="stable-requests"]').textContent()).toBe('380');
    await screenshot('1-local');
  });

  test('the same page follows a flip from local to spilled without reloading', async () => {
    await page.evaluate('window.spillwayNoReload = "still here"');
    const v1 = fixtures.failover.entries[0];
    Object.assign(v1, {
      expected: { state: 'spilled', shares: { west: 1 } },
      measured: { state: 'spilled', shares: { west: 0.98, east: 0.02 }, requests: 412, windowMs: 10_000 },
      state: 'spilled',
      sinceMs: Date.now(),
    });
    const flippedAt = Date.now();
    await page.waitForSelector(`${row('east', HOST, 'v1')}[data-state="spilled"]`, { timeout: UPDATE_TIMEOUT_MS });
    expect(Date.now() - flippedAt).toBeLessThan(UPDATE_TIMEOUT_MS);
    expect(await page.evaluate('window.spillwayNoReload')).toBe('still here');
    expect(await page.textContent(`${row('east', HOST, 'v1')} [data-testid="state"]`)).toBe('spilled');
    const measured = page.locator(`${row('east', HOST, 'v1')} [data-testid="measured-shares"] .seg`);
    const segments = await Promise.all(
      (await measured.all()).map(
        async (seg) => `${await seg.getAttribute('data-cluster')}=${await seg.getAttribute('data-share')}`,
      ),
    );
    expect(segments).toEqual(['west=0.98', 'east=0.02']);
    expect(await page.textContent(`${row('east', HOST, 'v1')} [data-testid="measured-requests"]`)).toBe(
      '412 req in 10 s',
    );
    expect(await page.textContent('[data-testid="summary-failing-over"]')).toBe('3');
    await screenshot('2-spilled');
  });

  test('the clients table shows sync status per type and a NACK with its text', async () => {
    const west = '[data-testid="client-row"][data-node-id="sidecar-west-1"]';
    await page.waitForSelector(west);
    const sync = (type: string) => page.getAttribute(`${west} [data-testid="sync"][data-type="${type}"]`, 'data-sync');
    expect(await sync('CDS')).toBe('pending');
    expect(await sync('EDS')).toBe('none');
    expect(await sync('LDS')).toBe('nack');
    expect(
      await page.getAttribute(
        '[data-testid="client-row"][data-node-id="sidecar-east-1"] [data-type="RDS"]',
        'data-sync',
      ),
    ).toBe('in-sync');

    const nack = `${west} [data-type="LDS"] summary`;
    expect(await page.textContent(nack)).toBe('NACK');
    expect(await page.getAttribute(nack, 'title')).toBe(NACK_TEXT);
    await page.click(nack);
    expect(await page.isVisible(`${west} [data-testid="nack-message"]`)).toBe(true);
    expect(await page.textContent(`${west} [data-testid="nack-message"]`)).toContain(NACK_TEXT);
    // Opened details stay open across polls while the row's data is unchanged.
    await page.waitForTimeout(2_500);
    expect(await page.isVisible(`${west} [data-testid="nack-message"]`)).toBe(true);
    await screenshot('3-nack-open');
  });

  test('hostile text is shown as text, never run or parsed as markup', async () => {
    const rowOfHostile = page.locator('[data-testid="client-row"]', { hasText: HOSTILE_NODE_ID });
    expect(await rowOfHostile.count()).toBe(1);
    expect(await page.locator('[data-testid="clients-table"] img').count()).toBe(0);
    expect(await page.evaluate('window.spillwayPwned')).toBeUndefined();
  });

  test('a rejected mesh file fills the banner (where, since when, what is served instead) until it is fixed', async () => {
    const banner = '[data-testid="source-issues"]';
    expect(await page.isHidden(banner)).toBe(true);
    const now = Date.now();
    fixtures.issues.sources = [
      {
        source: 'file',
        severity: 'error',
        summary: 'mesh file /etc/spillway/mesh.yaml rejected: the last good version keeps being served',
        details: [`/etc/spillway/mesh.yaml:7: clusters[0].zone: ${HOSTILE_NODE_ID}`],
        sinceMs: now - 125_000,
        lastSeenMs: now - 5_000,
        serving: { version: '0123456789ab', acceptedAtMs: now - 3_600_000, clusters: 2, services: 9, endpoints: 31 },
      },
      {
        source: 'file',
        severity: 'warning',
        summary: 'the new mesh file removed 3 of 5 services (60%)',
        details: [],
        sinceMs: now - 3_600_000,
        lastSeenMs: now - 3_600_000,
      },
    ];
    const error = `${banner} [data-testid="source-issue"][data-severity="error"]`;
    await page.waitForSelector(error, { timeout: UPDATE_TIMEOUT_MS });
    const text = await page.textContent(error);
    expect(text).toContain('/etc/spillway/mesh.yaml:7: clusters[0].zone:');
    expect(text).toContain('(first rejected 2m ago)');
    expect(await page.textContent(`${error} [data-testid="issue-serving"]`)).toBe(
      'Serving instead: version 0123456789ab, accepted 1h ago (2 clusters, 9 services, 31 endpoints)',
    );
    expect(await page.textContent(`${banner} [data-severity="warning"]`)).toContain('removed 3 of 5 services');
    expect(await page.locator(`${banner} img`).count()).toBe(0);
    await screenshot('4-mesh-rejected');
    fixtures.issues.sources = [];
    await page.waitForSelector(banner, { state: 'hidden', timeout: UPDATE_TIMEOUT_MS });
  });

  test('a proxy that goes away leaves the table on the next poll', async () => {
    fixtures.clients.clients = fixtures.clients.clients.filter((c) => c.nodeId !== 'gateway-west');
    await page.waitForSelector('[data-testid="client-row"][data-node-id="gateway-west"]', {
      state: 'detached',
      timeout: UPDATE_TIMEOUT_MS,
    });
    expect(await page.textContent('[data-testid="summary-proxies"]')).toBe('3');
  });
});
