// Load reports and the admin server under hostile input, against the real `spillway serve` process:
// oversized and overfull load reports are refused and do not grow memory, reports are attributed only to
// the reporting proxy's own cluster and to the clusters it was sent, LRS under mTLS checks the
// certificate like ADS, and the admin server answers only loopback or configured Host names (probes and
// scrapes excepted) with security headers. A well-behaved proxy keeps counting throughout.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as YAML from 'yaml';
import { Browser, chromium } from 'playwright-core';
import { CLUSTER_TYPE } from '../../src/xds/resource-types';
import { repoRoot, sleep, stopEverything, testOutputDir, waitFor } from '../harness';
import { createCa, issue, read } from '../harness/certs';
import { MiB, rssBytes } from '../harness/process-rss';
import { RawAdsClient, RawNode } from '../harness/raw-ads-client';
import { RawClusterLoad, RawLrsClient, encodeLoadReport } from '../harness/raw-lrs-client';
import { SpillwayProcess, startSpillwayProcess } from '../harness/spillway-process';

jest.setTimeout(60_000);

const CHECKOUT = 'outbound|8080||checkout.shop.svc.cluster.local';
/** Not exported from west, so never sent to a proxy in east. */
const LEDGER = 'outbound|8080||ledger.shop.svc.cluster.local';
const HOST = 'checkout.shop.svc.cluster.local';
const PERMISSION_DENIED = 7;
const RESOURCE_EXHAUSTED = 8;
const CHROMIUM = '/usr/bin/chromium';
const node = (cluster: string, id: string): RawNode => ({ id, metadata: { CLUSTER_ID: cluster } });

interface FailoverEntry {
  clientCluster: string;
  service: string;
  subset: string;
  state: string;
  measured?: { state: string; shares: Record<string, number>; requests: number };
}

/** A GET with the Host header a browser on another origin (or the kubelet, or Prometheus) would send. */
function getWithHost(
  url: string,
  host: string | undefined,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const headers: http.OutgoingHttpHeaders = host === undefined ? {} : { host };
    const request = http.get(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        headers,
        agent: false,
        setHost: host === undefined,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    request.on('error', reject);
  });
}

/** `count` cluster stats with traffic, padded with long names to reach about `bytes` in total. */
function junkClusters(count: number, bytes: number, subZone = 'west'): RawClusterLoad[] {
  const pad = 'x'.repeat(Math.max(1, Math.floor(bytes / count) - 50));
  return Array.from({ length: count }, (_, i) => ({
    name: `outbound|${i}||${pad}.junk`,
    localities: [{ subZone, successful: 1_000 }],
  }));
}

async function ads(
  spillway: SpillwayProcess,
  reporter: RawNode,
  credentials?: grpc.ChannelCredentials,
): Promise<RawAdsClient> {
  const client = new RawAdsClient(`127.0.0.1:${spillway.xdsPort}`, 'sotw', 'ads', credentials);
  client.sendSotw({ typeUrl: CLUSTER_TYPE, node: reporter });
  client.ackSotw(await client.next(5_000), reporter);
  return client;
}

async function metricValue(spillway: SpillwayProcess, pattern: RegExp): Promise<number> {
  const text = (await getWithHost(`${spillway.adminUrl}/metrics`, undefined)).body;
  const match = pattern.exec(text);
  return match ? Number(match[1]) : 0;
}

afterAll(async () => {
  await stopEverything();
});

test('serve --help lists every new limit with its default', () => {
  const help = spawnSync(
    process.execPath,
    [path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), 'serve', '--help'],
    { encoding: 'utf8' },
  ).stdout;
  expect(help).toMatch(/--admin-allowed-hosts NAME,NAME +\S/);
  for (const [flag, value] of [
    ['lrs-max-report-bytes', '1048576'],
    ['lrs-max-clusters-per-report', '10000'],
    ['lrs-max-localities-per-report', '20000'],
    ['lrs-max-series', '100000'],
  ]) {
    expect(help).toMatch(new RegExp(`--${flag} \\S+ +\\S.*\\(default ${value}\\)`));
  }
});

describe('load reports: limits, attribution, memory', () => {
  let spillway: SpillwayProcess;
  let goodAds: RawAdsClient;
  let good: RawLrsClient;
  const goodNode = node('east', 'sidecar~good-east');
  const closers: { close(): void }[] = [];
  const entry = async (): Promise<FailoverEntry> => {
    const body = await spillway.adminJson<{ entries: FailoverEntry[] }>('/debug/failover');
    const found = body.entries.find((e) => e.clientCluster === 'east' && e.service === HOST && e.subset === '');
    if (!found) throw new Error('no failover entry for east/checkout');
    return found;
  };
  /** The well-behaved east proxy reports 50 requests served in east; the window must show them. */
  const goodReports = async (): Promise<FailoverEntry> => {
    good.report(goodNode, [{ name: CHECKOUT, localities: [{ subZone: 'east', successful: 50 }] }]);
    return waitFor(
      async () => {
        const e = await entry();
        return e.measured && e.measured.requests >= 50 ? e : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 100, what: 'the well-behaved reporter to count' },
    );
  };

  beforeAll(async () => {
    spillway = await startSpillwayProcess({ name: 'lrs-hardening' });
    goodAds = await ads(spillway, goodNode);
    good = new RawLrsClient(`127.0.0.1:${spillway.xdsPort}`);
    good.report(goodNode, []);
    await good.accepted();
    closers.push(goodAds, good);
  });
  afterAll(async () => {
    for (const closer of closers) closer.close();
    await spillway?.stop();
  });

  test('50 reports of 1.16 MB, twice: each refused with RESOURCE_EXHAUSTED, RSS bounded and not growing, the good reporter counts', async () => {
    const report = encodeLoadReport(node('east', 'flooder'), junkClusters(8_000, 1.16 * 1_000_000));
    expect(report.length).toBeGreaterThan(1_150_000);
    /** 50 reports on 50 connections in about a second; resolves with every stream's final status. */
    const flood = async () => {
      const floods = Array.from({ length: 50 }, () => new RawLrsClient(`127.0.0.1:${spillway.xdsPort}`));
      closers.push(...floods);
      for (const [i, stream] of floods.entries()) {
        stream.sendRaw(report);
        if (i % 5 === 4) await sleep(100);
      }
      const ends = await Promise.all(floods.map((stream) => stream.end(10_000)));
      for (const stream of floods) stream.close();
      await sleep(500);
      return ends;
    };
    const before = rssBytes(spillway.pid);
    const ends = await flood();
    const afterFirst = rssBytes(spillway.pid);
    ends.push(...(await flood()));
    const afterSecond = rssBytes(spillway.pid);
    console.log(
      `RSS before ${(before / MiB).toFixed(1)} MiB, after 50 x ${(report.length / 1e6).toFixed(2)} MB reports ${(afterFirst / MiB).toFixed(1)} MiB, after 50 more ${(afterSecond / MiB).toFixed(1)} MiB`,
    );
    for (const end of ends) {
      expect(end?.code).toBe(RESOURCE_EXHAUSTED);
      expect(end?.details).toContain('--lrs-max-report-bytes');
      expect(end?.details.length).toBeLessThan(200);
    }
    // Before the limits, the first 50 alone added 257 MiB and it kept growing. What is left is gRPC's
    // transport buffers for messages in flight (refused once whole), not anything kept.
    expect(afterFirst - before).toBeLessThan(96 * MiB);
    expect(afterSecond - afterFirst).toBeLessThan(32 * MiB);
    expect((await goodReports()).measured?.shares.east).toBe(1);
    expect(await metricValue(spillway, /spillway_lrs_refused_reports\{reason="too_large"\} (\d+)/)).toBe(100);
  });

  test('too many cluster stats or localities in one report: RESOURCE_EXHAUSTED naming the flag', async () => {
    const manyClusters = new RawLrsClient(`127.0.0.1:${spillway.xdsPort}`);
    const manyLocalities = new RawLrsClient(`127.0.0.1:${spillway.xdsPort}`);
    closers.push(manyClusters, manyLocalities);
    manyClusters.report(
      node('east', 'many-clusters'),
      Array.from({ length: 20_001 }, (_, i) => ({ name: `c${i}`, localities: [] })),
    );
    manyLocalities.report(node('east', 'many-localities'), [
      { name: CHECKOUT, localities: Array.from({ length: 20_001 }, () => ({ subZone: 'west', successful: 1 })) },
    ]);
    const clustersEnd = await manyClusters.end(5_000);
    expect(clustersEnd?.code).toBe(RESOURCE_EXHAUSTED);
    expect(clustersEnd?.details).toContain('--lrs-max-clusters-per-report');
    const localitiesEnd = await manyLocalities.end(5_000);
    expect(localitiesEnd?.code).toBe(RESOURCE_EXHAUSTED);
    expect(localitiesEnd?.details).toContain('--lrs-max-localities-per-report');
  });

  test('reports within the limits but naming clusters the proxy was not sent: dropped, counted, memory bounded', async () => {
    const noisyNode = node('east', 'sidecar~noisy-east');
    closers.push(await ads(spillway, noisyNode));
    const before = rssBytes(spillway.pid);
    const report = encodeLoadReport(noisyNode, junkClusters(6_000, 900_000));
    const noisy = Array.from({ length: 10 }, () => new RawLrsClient(`127.0.0.1:${spillway.xdsPort}`));
    closers.push(...noisy);
    for (let round = 0; round < 5; round++) {
      for (const stream of noisy) stream.sendRaw(report);
      await sleep(200);
    }
    await sleep(1_000);
    const after = rssBytes(spillway.pid);
    console.log(
      `RSS before ${(before / MiB).toFixed(1)} MiB, after 50 x ${(report.length / 1e6).toFixed(2)} MB reports of unsent clusters ${(after / MiB).toFixed(1)} MiB`,
    );
    for (const stream of noisy) expect(await stream.end(10)).toBeUndefined(); // within limits: the stream stays
    expect(after - before).toBeLessThan(64 * MiB);
    expect(
      await metricValue(spillway, /spillway_lrs_dropped_loads\{reason="cluster_not_sent"\} (\d+)/),
    ).toBeGreaterThanOrEqual(50 * 6_000);
    expect((await goodReports()).measured?.shares.east).toBe(1);
  });

  test('a rogue process reporting east traffic spilled to west does not flip east: no xDS stream, or another cluster', async () => {
    // A west proxy with a live xDS stream, claiming east on LRS; and a process with no xDS stream at all.
    const westNode = node('west', 'sidecar~west-proxy');
    closers.push(await ads(spillway, westNode));
    const claimingEast = new RawLrsClient(`127.0.0.1:${spillway.xdsPort}`);
    const rogue = new RawLrsClient(`127.0.0.1:${spillway.xdsPort}`);
    closers.push(claimingEast, rogue);
    const spill: RawClusterLoad[] = [
      { name: CHECKOUT, localities: [{ subZone: 'west', successful: 5_000, priority: 1 }] },
    ];
    // An east proxy reporting a cluster it was never sent is dropped too.
    const eastUnsent: RawClusterLoad[] = [{ name: LEDGER, localities: [{ subZone: 'west', successful: 5_000 }] }];
    for (let i = 0; i < 3; i++) {
      claimingEast.report(node('east', 'sidecar~west-proxy'), spill);
      rogue.report(node('east', 'sidecar~rogue'), spill);
      good.report(goodNode, eastUnsent);
      await sleep(300);
    }
    const measured = await goodReports();
    expect(measured.state).toBe('local');
    expect(measured.measured?.shares).toEqual({ east: 1 });
    const failover = (await getWithHost(`${spillway.adminUrl}/metrics`, undefined)).body;
    expect(failover).toMatch(
      /spillway_failover_state\{client_cluster="east",service="checkout.shop.svc.cluster.local",port="8080",subset="",state="spilled"\} 0/,
    );
    expect(
      await metricValue(spillway, /spillway_lrs_dropped_loads\{reason="no_xds_stream"\} (\d+)/),
    ).toBeGreaterThanOrEqual(6);
    expect(spillway.logTail(200_000)).toMatch(/load report dropped/);
  });
});

describe('LRS over mTLS checks the certificate like ADS; the admin server', () => {
  let spillway: SpillwayProcess;
  let credentials: (name: string) => grpc.ChannelCredentials;
  const closers: { close(): void }[] = [];

  beforeAll(async () => {
    const dir = testOutputDir('lrs-admin-hardening');
    const ca = createCa(`${dir}/mesh`, 'mesh');
    const serverCert = issue(ca, 'spillway-server', ['IP:127.0.0.1', 'DNS:localhost']);
    const clients: Record<string, { cert: Buffer; key: Buffer }> = {
      west: read(issue(ca, 'west-proxy', ['URI:spiffe://spillway/cluster/west'])),
      east: read(issue(ca, 'east-proxy', ['URI:spiffe://spillway/cluster/east'])),
    };
    const caPem = fs.readFileSync(ca.cert);
    credentials = (name) => grpc.credentials.createSsl(caPem, clients[name]?.key, clients[name]?.cert);
    spillway = await startSpillwayProcess({
      name: 'lrs-admin-mtls',
      extraArgs: [
        '--xds-tls-cert',
        serverCert.cert,
        '--xds-tls-key',
        serverCert.key,
        '--xds-client-ca',
        ca.cert,
        '--admin-allowed-hosts',
        'spillway.example,Admin.Example:9999',
      ],
    });
  });
  afterAll(async () => {
    for (const closer of closers) closer.close();
    await spillway?.stop();
  });

  test('a west certificate claiming east on LRS gets PERMISSION_DENIED; an east one is served', async () => {
    const impostor = new RawLrsClient(`127.0.0.1:${spillway.xdsPort}`, credentials('west'));
    const east = new RawLrsClient(`127.0.0.1:${spillway.xdsPort}`, credentials('east'));
    closers.push(impostor, east);
    impostor.report(node('east', 'impostor'), []);
    east.report(node('east', 'east-proxy'), []);
    const end = await impostor.end(5_000);
    expect(end?.code).toBe(PERMISSION_DENIED);
    expect(end?.details).toContain('does not match CLUSTER_ID "east"');
    await east.accepted(5_000);
  });

  test('a foreign Host (DNS rebinding) gets 403 naming --admin-allowed-hosts; loopback and configured names are served', async () => {
    for (const pathname of ['/', '/debug/config', '/debug/clients', '/debug/failover']) {
      const refused = await getWithHost(`${spillway.adminUrl}${pathname}`, 'rebind.attacker.example');
      expect(refused.status).toBe(403);
      expect(refused.body).toContain('--admin-allowed-hosts');
      expect(refused.body.length).toBeLessThan(400);
    }
    const port = new URL(spillway.adminUrl).port;
    for (const host of [
      `127.0.0.1:${port}`,
      'localhost',
      `localhost:${port}`,
      `[::1]:${port}`,
      'spillway.example',
      `SPILLWAY.example:${port}`,
      'admin.example:9999',
      undefined,
    ]) {
      const served = await getWithHost(`${spillway.adminUrl}/debug/failover`, host);
      expect({ host, status: served.status }).toEqual({ host, status: 200 });
    }
  });

  test('probes and scrapes with the Pod IP as Host still work (every probe path of the Deployment)', async () => {
    const deployment = YAML.parseAllDocuments(
      fs.readFileSync(path.join(repoRoot(), 'deploy', 'kubernetes', 'deployment.yaml'), 'utf8'),
    )
      .map((doc) => doc.toJS() as Record<string, unknown>)
      .find((object) => object.kind === 'Deployment');
    const text = JSON.stringify(deployment);
    const probePaths = [...text.matchAll(/"httpGet":\{"path":"([^"]+)"/g)].map((match) => match[1]);
    const scrapePath = /"prometheus.io\/path":"([^"]+)"/.exec(text)?.[1];
    expect(probePaths.length).toBeGreaterThanOrEqual(3);
    for (const pathname of [...new Set([...probePaths, scrapePath ?? '/metrics'])]) {
      const response = await getWithHost(`${spillway.adminUrl}${pathname}`, '10.244.1.17:15014');
      expect({ pathname, status: response.status }).toEqual({ pathname, status: 200 });
    }
  });

  test('every answer carries the security headers; JSON is not cached', async () => {
    for (const pathname of ['/', '/debug/failover', '/healthz', '/metrics', '/no-such-path']) {
      const response = await getWithHost(`${spillway.adminUrl}${pathname}`, undefined);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['content-security-policy']).toContain("default-src 'none'");
      expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
    expect((await getWithHost(`${spillway.adminUrl}/debug/failover`, undefined)).headers['cache-control']).toBe(
      'no-store',
    );
    const refused = await getWithHost(`${spillway.adminUrl}/debug/config`, 'evil.example');
    expect(refused.headers['x-content-type-options']).toBe('nosniff');
  });

  test('the live page still runs under the Content-Security-Policy', async () => {
    if (!fs.existsSync(CHROMIUM))
      throw new Error(
        `no Chromium at ${CHROMIUM}: install Debian's with "apt-get install -y chromium" (scripts/setup.sh does)`,
      );
    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/Content.Security.Policy|Refused to/i.test(message.text())) violations.push(message.text());
      });
      await page.goto(`${spillway.adminUrl}/`);
      await page.waitForSelector('[data-testid="failover-row"]', { timeout: 10_000 });
      expect(await page.textContent('[data-testid="summary-clusters"]')).toBe('3');
      expect(violations).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
