// Hostile and careless xDS clients against the real `spillway serve`: what one stream may hold, what a
// node or a NACK may put in logs and on /debug/clients, and a removal that must reach a client that does
// not subscribe to routes. A well-behaved client keeps receiving updates throughout each test.
import * as fs from 'fs';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/xds/resource-types';
import { AckingClient } from '../harness/acking-client';
import { RawAdsClient, RawResponse, StreamEnd } from '../harness/raw-ads-client';
import { deltaRequest, encodeNode, namesRegion, sotwRequest } from '../harness/hostile-requests';
import { MiB, RssSampler, rssOf } from '../harness/rss-sampler';
import { httpGet } from '../harness/http-get';
import { sleep, waitFor } from '../harness/ports';
import { testOutputDir } from '../harness/output';
import { SpillwayProcess, startSpillwayProcess } from '../harness/spillway-process';

const DIR = testOutputDir('xds-hostile-clients');
const clusterOf = (service: string, port = 8080) => `outbound|${port}||${service}.shop.svc.cluster.local`;

/** A mesh with these services, all in east, on `port` (a new port is a visible CDS change). */
function meshText(services: string[], port = 8080): string {
  const lines = [
    'clusters:',
    '  - { name: east, region: r1, zone: r1-a }',
    '  - { name: west, region: r1, zone: r1-b }',
    'services:',
  ];
  services.forEach((name, i) => {
    lines.push(
      `  - name: ${name}`,
      '    namespace: shop',
      `    ports: [{ name: http, port: ${port} }]`,
      '    endpoints:',
    );
    lines.push(`      - { cluster: east, address: 127.0.0.1, port: ${18000 + i} }`);
  });
  return lines.join('\n') + '\n';
}

/** Writes a new file and renames it over the old one, as an operator should. */
function save(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

const RESOURCE_EXHAUSTED = grpc.status.RESOURCE_EXHAUSTED;
/** Hostile clients take whatever the server sends (an EDS answer to thousands of made-up names is > 4 MiB). */
const UNLIMITED: grpc.ChannelOptions = { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 };

/**
 * The well-behaved client of a test: subscribes to every cluster and ACKs; meanwhile the mesh file changes
 * every second (a new port), and each change must reach it within a few seconds, whatever else goes on.
 */
class UpdatesThroughout {
  readonly client: AckingClient;
  readonly delaysMs: number[] = [];
  readonly missed: string[] = [];
  private port = 8080;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    spillway: SpillwayProcess,
    private readonly mesh: string,
  ) {
    this.client = new AckingClient(
      `127.0.0.1:${spillway.xdsPort}`,
      'sotw',
      { id: 'good-east', metadata: { CLUSTER_ID: 'east' } },
      [{ typeUrl: CLUSTER_TYPE }],
    );
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.client.close();
  }

  private async run(): Promise<void> {
    await this.client.waitForHeld(CLUSTER_TYPE, 'the first clusters', (held) => held.length > 0);
    while (this.running) {
      this.port++;
      const port = this.port;
      const startedMs = Date.now();
      save(this.mesh, meshText(['checkout', 'payments'], port));
      try {
        await this.client.waitForHeld(
          CLUSTER_TYPE,
          `port ${port}`,
          (held) => held.includes(clusterOf('checkout', port)),
          5_000,
        );
        this.delaysMs.push(Date.now() - startedMs);
      } catch (error) {
        this.missed.push(error instanceof Error ? error.message : String(error));
      }
      await sleep(700);
    }
  }
}

/** A stream's end, or "open" if it is still open after `timeoutMs`. */
function endOf(client: RawAdsClient, timeoutMs = 5_000): Promise<StreamEnd | 'open'> {
  return client.end(timeoutMs).catch(() => 'open' as const);
}

describe('a cluster removal reaches every client once nothing it subscribed refers to the cluster', () => {
  const mesh = path.join(DIR, 'removal-mesh.yaml');
  let spillway: SpillwayProcess;
  const clients: AckingClient[] = [];

  beforeAll(async () => {
    save(mesh, meshText(['checkout', 'payments']));
    spillway = await startSpillwayProcess({ name: 'xds-hostile-removal', meshPath: mesh });
  });
  afterAll(async () => {
    for (const client of clients.splice(0)) await client.close();
    await spillway.stop();
  });

  /** Connects a client holding both clusters, removes payments, waits for it; returns what came after the removal. */
  async function removalReaches(mode: 'sotw' | 'delta', types: string[]): Promise<RawResponse[]> {
    save(mesh, meshText(['checkout', 'payments']));
    const node = { id: `${mode}-${types.length}`, metadata: { CLUSTER_ID: 'east' } };
    const names: Record<string, string[]> = { [ROUTE_TYPE]: ['outbound'] };
    const client = new AckingClient(
      `127.0.0.1:${spillway.xdsPort}`,
      mode,
      node,
      types.map((typeUrl) => ({ typeUrl, names: names[typeUrl] })),
    );
    clients.push(client);
    await client.waitForHeld(CLUSTER_TYPE, 'both clusters', (held) => held.length === 2);
    await client.waitForHeld(LISTENER_TYPE, 'the listener', (held) => held.length === 1);
    if (types.includes(ROUTE_TYPE)) await client.waitForHeld(ROUTE_TYPE, 'the route', (held) => held.length === 1);
    const from = client.responses.length;
    save(mesh, meshText(['checkout']));
    await client.waitForHeld(
      CLUSTER_TYPE,
      'CDS without payments',
      (held) => held.length === 1 && held[0] === clusterOf('checkout'),
      4_000,
    );
    return client.responses.slice(from);
  }

  /** Routes change first; the cluster goes only after: its index comes later. */
  function expectRouteBeforeClusterRemoval(mode: 'sotw' | 'delta', after: RawResponse[]): void {
    const payments = clusterOf('payments');
    const routeWithoutPayments = after.findIndex(
      (r) => r.typeUrl === ROUTE_TYPE && r.resources.length > 0 && !JSON.stringify(r.resources).includes('payments'),
    );
    // SotW removes by omission from the complete set; delta names what is removed.
    const removes = (r: RawResponse) =>
      mode === 'sotw' ? !r.resources.some((x) => x.name === payments) : r.removed.includes(payments);
    const clusterRemoval = after.findIndex((r) => r.typeUrl === CLUSTER_TYPE && removes(r));
    expect(routeWithoutPayments).toBeGreaterThanOrEqual(0);
    expect(clusterRemoval).toBeGreaterThan(routeWithoutPayments);
  }

  test('SotW, CDS and LDS without RDS', async () => {
    await removalReaches('sotw', [CLUSTER_TYPE, LISTENER_TYPE]);
  });

  test('delta, CDS and LDS without RDS', async () => {
    await removalReaches('delta', [CLUSTER_TYPE, LISTENER_TYPE]);
  });

  test('SotW with RDS: still make before break (the route goes first, then the cluster)', async () => {
    expectRouteBeforeClusterRemoval('sotw', await removalReaches('sotw', [CLUSTER_TYPE, LISTENER_TYPE, ROUTE_TYPE]));
  });

  test('delta with RDS: still make before break', async () => {
    expectRouteBeforeClusterRemoval('delta', await removalReaches('delta', [CLUSTER_TYPE, LISTENER_TYPE, ROUTE_TYPE]));
  });
});

describe('what one client may make the server hold is bounded, and released when it goes', () => {
  const mesh = path.join(DIR, 'memory-mesh.yaml');
  let spillway: SpillwayProcess;
  let good: UpdatesThroughout;
  const attackers: RawAdsClient[] = [];
  const attacker = (mode: 'sotw' | 'delta') => {
    const client = new RawAdsClient(`127.0.0.1:${spillway.xdsPort}`, mode, 'ads', undefined, UNLIMITED);
    attackers.push(client);
    return client;
  };
  const node = (id: string) => ({ id, metadata: { CLUSTER_ID: 'east' } });
  const nameBytes = async () =>
    (await spillway.adminJson<{ totals: { subscribedNameBytes: number } }>('/debug/clients')).totals
      .subscribedNameBytes;

  beforeAll(async () => {
    save(mesh, meshText(['checkout', 'payments']));
    spillway = await startSpillwayProcess({ name: 'xds-hostile-memory', meshPath: mesh });
    good = new UpdatesThroughout(spillway, mesh);
  });
  afterAll(async () => {
    for (const client of attackers.splice(0)) client.close();
    await good.stop();
    await spillway.stop();
  });

  test('EDS and RDS lists of 20,000 names of 2,048 characters, as filed and shaped to fit each limit: peak under 1 GiB, back near the baseline after', async () => {
    await sleep(1_000);
    const baseline = rssOf(spillway.pid);
    const rss = new RssSampler(spillway.pid);

    // As filed: each list is one 41 MB request, refused from its length prefix (--max-request-bytes) before it
    // is read. Two streams show it; the names are the same bytes on each, since they are never decoded.
    const fullSize = namesRegion(3, 'filed', 20_000, 2_048);
    const filed = [attacker('sotw'), attacker('sotw')];
    for (const [i, client] of filed.entries()) {
      client.sendRaw(sotwRequest(ENDPOINT_TYPE, fullSize, node(`filed-${i}`)));
      client.sendRaw(sotwRequest(ROUTE_TYPE, fullSize));
    }
    for (const end of await Promise.all(filed.map((client) => endOf(client)))) {
      expect(end).toMatchObject({ code: RESOURCE_EXHAUSTED, details: expect.stringContaining('larger than max') });
    }

    // Split over requests (delta), one type grows until --xds-max-names-bytes-per-type stops it.
    const grower = attacker('delta');
    for (let chunk = 0; chunk < 10; chunk++)
      grower.sendRaw(
        deltaRequest(
          ENDPOINT_TYPE,
          namesRegion(3, `grow-${chunk}`, 1_000, 2_048),
          chunk === 0 ? node('grower') : undefined,
        ),
      );
    expect(await endOf(grower)).toMatchObject({
      code: RESOURCE_EXHAUSTED,
      details: expect.stringContaining('--xds-max-names-bytes-per-type'),
    });
    // Over types, one stream stops at --xds-max-names-bytes-per-stream.
    const wide = attacker('delta');
    [ENDPOINT_TYPE, ROUTE_TYPE, CLUSTER_TYPE].forEach((typeUrl, i) =>
      wide.sendRaw(
        deltaRequest(typeUrl, namesRegion(3, `wide-${i}`, 1_900, 2_048), i === 0 ? node('wide') : undefined),
      ),
    );
    expect(await endOf(wide)).toMatchObject({
      code: RESOURCE_EXHAUSTED,
      details: expect.stringContaining('--xds-max-names-bytes-per-stream'),
    });

    // Shaped to fit every per-stream limit: 1,990 distinct names of 2,048 characters per type (4 MB), ACKed
    // like Envoy does (repeating the names). Four such streams fill the server-wide budget (32 MiB); the
    // other four are refused. One after the other, so which ones fit is certain.
    const holdUntilFull = async (round: string): Promise<void> => {
      const holders = Array.from({ length: 8 }, () => attacker('sotw'));
      for (const [i, client] of holders.entries()) {
        const eds = namesRegion(3, `${round}-eds-${i}`, 1_990, 2_048);
        client.sendRaw(sotwRequest(ENDPOINT_TYPE, eds, node(`${round}-holder-${i}`)));
        client.sendRaw(sotwRequest(ROUTE_TYPE, namesRegion(3, `${round}-rds-${i}`, 1_990, 2_048)));
        const outcome = await client.next(10_000, ENDPOINT_TYPE).catch(() => endOf(client));
        if (i >= 4) {
          expect(outcome).toMatchObject({
            code: RESOURCE_EXHAUSTED,
            details: expect.stringContaining('--xds-max-names-bytes-total'),
          });
          continue;
        }
        if (outcome === 'open' || !('nonce' in outcome))
          throw new Error(`holder ${i} was not served: ${JSON.stringify(outcome)}`);
        expect(outcome.resources).toHaveLength(1_990); // an empty assignment for each made-up name
        client.sendRaw(
          sotwRequest(ENDPOINT_TYPE, eds, undefined, { versionInfo: outcome.versionInfo, nonce: outcome.nonce }),
        );
        await client.next(10_000, ROUTE_TYPE);
      }
      const held = await nameBytes();
      expect(held).toBeGreaterThan(30 * MiB);
      expect(held).toBeLessThanOrEqual(32 * MiB);
      for (const client of attackers.splice(0)) client.close();
      // Released at once, not when garbage collection gets to it: the budget is free for others again.
      await waitFor(async () => (await nameBytes()) === 0, {
        timeoutMs: 5_000,
        what: 'subscribed names to be released',
      });
    };
    await holdUntilFull('first');
    const peak = Math.max(rss.peak, rss.sample());
    let after = rssOf(spillway.pid);
    const deadline = Date.now() + 10_000;
    while (after > baseline + 256 * MiB && Date.now() < deadline) {
      await sleep(500);
      after = rssOf(spillway.pid);
    }
    // A second round reuses the first one's memory (garbage not yet collected is all that is added).
    await holdUntilFull('second');
    const secondPeak = rss.sample();
    rss.stop();
    process.stdout.write(
      `memory attack: baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, second round ${(secondPeak / MiB).toFixed(0)} MiB, after ${(after / MiB).toFixed(0)} MiB\n`,
    );
    expect(peak).toBeLessThan(1024 * MiB);
    expect(secondPeak).toBeLessThan(Math.min(1024 * MiB, peak + 128 * MiB));
    expect(after).toBeLessThan(baseline + 256 * MiB);
    expect(good.missed).toEqual([]);
    expect(good.delaysMs.length).toBeGreaterThanOrEqual(2);
  });
});

describe('what a client says is bounded in the status it gets, the log and /debug/clients', () => {
  const mesh = path.join(DIR, 'text-mesh.yaml');
  let spillway: SpillwayProcess;
  let good: UpdatesThroughout;
  const clients: RawAdsClient[] = [];
  const connect = (mode: 'sotw' | 'delta' = 'sotw') => {
    const client = new RawAdsClient(`127.0.0.1:${spillway.xdsPort}`, mode, 'ads', undefined, UNLIMITED);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    save(mesh, meshText(['checkout', 'payments']));
    spillway = await startSpillwayProcess({ name: 'xds-hostile-text', meshPath: mesh });
    good = new UpdatesThroughout(spillway, mesh);
  });
  afterAll(async () => {
    for (const client of clients.splice(0)) client.close();
    await good.stop();
    await spillway.stop();
  });

  test('10 MB node ids and NACK texts: short refusals, a small log, a small /debug/clients', async () => {
    const logBefore = fs.statSync(spillway.logFile).size;
    const rss = new RssSampler(spillway.pid);
    const ends: Promise<StreamEnd | 'open'>[] = [];
    const refuse = (request: Buffer, mode: 'sotw' | 'delta' = 'sotw') => {
      const client = connect(mode);
      client.sendRaw(request);
      ends.push(endOf(client));
    };
    const east = (id: string, extra: Record<string, string> = {}) => ({
      id,
      metadata: { CLUSTER_ID: 'east', ...extra },
    });
    // As filed: 10 MB node ids (over --max-request-bytes), and 3 MB ones that fit in a request.
    for (let i = 0; i < 10; i++)
      refuse(sotwRequest(CLUSTER_TYPE, Buffer.alloc(0), east(`${i}`.padEnd(10_000_000, 'n'))));
    for (let i = 0; i < 10; i++) {
      const who = east(`${i}`.padEnd(3_000_000, 'n'));
      if (i % 2) refuse(sotwRequest(CLUSTER_TYPE, Buffer.alloc(0), who));
      else refuse(deltaRequest(CLUSTER_TYPE, Buffer.alloc(0), who), 'delta');
    }
    refuse(sotwRequest(CLUSTER_TYPE, Buffer.alloc(0), east('fat-metadata', { LABELS: 'l'.repeat(100_000) })));
    // Metadata split over three Node messages (protobuf merges them): each part fits, the whole node does not.
    const part = (i: number) => encodeNode(east(`split-${i}`, { [`PART_${i}`]: 'p'.repeat(50_000) }));
    refuse(sotwRequest(CLUSTER_TYPE, Buffer.alloc(0), Buffer.concat([part(0), part(1), part(2)])));
    refuse(sotwRequest('type.googleapis.com/'.padEnd(3_000_000, 't'), Buffer.alloc(0), east('long-type')));
    const refusals = await Promise.all(ends);
    for (const end of refusals) {
      expect(end).not.toBe('open');
      if (end === 'open') continue;
      expect(end.details.length).toBeLessThan(400); // short, and never the node itself
    }
    const details = refusals.map((end) => (end === 'open' ? '' : end.details));
    expect(details.slice(0, 10).every((text) => text.includes('larger than max'))).toBe(true);
    expect(details.slice(10, 20)).toEqual(Array(10).fill(expect.stringContaining('--xds-max-node-field-bytes')));
    expect(details[20]).toContain('--xds-max-node-metadata-bytes');
    expect(details[21]).toContain('--xds-max-node-bytes');
    expect(details[22]).toContain('unsupported type_url');

    // Ten well-formed clients answer every response with two 3 MB NACK texts, a 3 MB stale nonce and an ACK
    // with a 3 MB version_info (the mesh keeps changing, so they go on until the test has seen it all).
    const text = 'the listener is broken because '.padEnd(3_000_000, 'x');
    let nacking = true;
    const nackers = Array.from({ length: 10 }, async (_, i) => {
      const client = connect();
      const who = east(`nacker-${i}`);
      client.sendSotw({ typeUrl: CLUSTER_TYPE, node: who });
      while (nacking) {
        const response = await client.next(1_000, CLUSTER_TYPE).catch(() => undefined);
        if (!response) continue;
        for (let n = 0; n < 2; n++)
          client.sendSotw({
            typeUrl: CLUSTER_TYPE,
            versionInfo: 'v',
            responseNonce: response.nonce,
            errorMessage: text,
          });
        client.sendSotw({ typeUrl: CLUSTER_TYPE, responseNonce: 'n'.repeat(3_000_000) });
        client.sendSotw({ typeUrl: CLUSTER_TYPE, versionInfo: 'v'.repeat(3_000_000), responseNonce: response.nonce });
      }
    });
    const huge = connect();
    huge.sendSotw({ typeUrl: CLUSTER_TYPE, node: east('huge-nack') });
    const first = await huge.next(5_000, CLUSTER_TYPE);
    huge.sendSotw({
      typeUrl: CLUSTER_TYPE,
      node: east('huge-nack'),
      responseNonce: first.nonce,
      errorMessage: 'x'.repeat(10_000_000),
    });
    expect(await endOf(huge)).toMatchObject({ code: RESOURCE_EXHAUSTED });

    interface Report {
      total: number;
      clients: {
        nodeId: string;
        types: Record<string, { lastNack?: { message: string }; nacks: number; ackedVersion?: string }>;
      }[];
    }
    let report: Report | undefined;
    await waitFor(
      async () => {
        report = JSON.parse((await httpGet(`${spillway.adminUrl}/debug/clients`)).body) as Report;
        return (
          report.clients.filter(
            (c) =>
              c.nodeId.startsWith('nacker-') &&
              (c.types.CDS?.nacks ?? 0) >= 2 &&
              c.types.CDS?.ackedVersion?.includes('truncated'),
          ).length === 10
        );
      },
      { timeoutMs: 10_000, what: 'both NACKs and the ACK of every client on /debug/clients' },
    );
    nacking = false;
    await Promise.all(nackers);
    const startedMs = Date.now();
    const answer = await httpGet(`${spillway.adminUrl}/debug/clients`);
    const answerMs = Date.now() - startedMs;
    const nacked = (report as Report).clients.find((c) => c.nodeId === 'nacker-0');
    expect(nacked?.types.CDS?.lastNack?.message).toMatch(
      /^the listener is broken because x+\.\.\. \[truncated: 3000000 characters\]$/,
    );
    expect(nacked?.types.CDS?.ackedVersion).toContain('[truncated: 3000000 characters]');

    const log = fs.readFileSync(spillway.logFile, 'utf8').slice(logBefore);
    const longest = Math.max(...log.split('\n').map((line) => line.length));
    rss.stop();
    process.stdout.write(
      `client text: log +${(log.length / MiB).toFixed(2)} MiB (longest line ${longest} chars), /debug/clients ${(answer.body.length / 1024).toFixed(0)} KiB in ${answerMs} ms, peak RSS ${(rss.peak / MiB).toFixed(0)} MiB\n`,
    );
    expect(log.length).toBeLessThan(20 * MiB);
    expect(longest).toBeLessThan(16 * 1024);
    expect(log).toContain('[truncated: 3000000 characters]');
    expect(answer.body.length).toBeLessThan(5 * MiB);
    expect(rss.peak).toBeLessThan(512 * MiB);
    expect(good.missed).toEqual([]);
  });
});
