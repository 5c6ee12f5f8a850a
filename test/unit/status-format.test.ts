// `spillway status|clients`: the pure text formatting, the sync-status rule, and the commands' exit
// codes against a stub admin server (and against nothing at all).
import * as http from 'http';
import {
  ClientInfoJson,
  ClientsReport,
  FailoverReport,
  IssuesReport,
  TypeStatusJson,
  syncStatus,
} from '../../src/admin/page/api-types';
import { adminBaseUrl } from '../../src/cli/admin-flags';
import { formatClientsTable, formatIssues, runClients, runStatus } from '../../src/cli/status';
import { formatFailoverTable, formatShares } from '../../src/format/failover-text';
import { formatAge, formatColumns } from '../../src/format/text-table';
import { freePort } from '../harness';

const NOW = 1_795_746_700_000;
const HOST = 'checkout.shop.svc.cluster.local';

const FAILOVER: FailoverReport = {
  generatedAtMs: NOW,
  entries: [
    {
      clientCluster: 'east',
      service: HOST,
      port: 8080,
      subset: 'v1',
      priorities: [],
      expected: { state: 'spilled', shares: { west: 1 } },
      measured: { state: 'spilled', shares: { west: 0.98, east: 0.02 }, requests: 412, windowMs: 10_000 },
      state: 'spilled',
      sinceMs: NOW - 42_000,
    },
    {
      clientCluster: 'east',
      service: HOST,
      port: 8080,
      subset: '',
      priorities: [],
      expected: { state: 'local', shares: { east: 1 } },
      state: 'local',
      sinceMs: NOW - 3 * 3_600_000,
    },
    {
      clientCluster: 'west',
      service: 'cart.shop.svc.cluster.local',
      port: 9090,
      subset: '',
      priorities: [],
      expected: { state: 'unavailable', shares: {} },
      state: 'unavailable',
      sinceMs: NOW - 5_000,
    },
  ],
};

function client(nodeId: string, clusterId: string, types: Record<string, TypeStatusJson>): ClientInfoJson {
  return {
    streamId: nodeId.length,
    nodeId,
    clusterId,
    role: 'sidecar',
    view: `sidecar|${clusterId}`,
    userAgent: 'envoy/1.40.0',
    mode: 'sotw',
    service: 'AggregatedDiscoveryService',
    peer: '127.0.0.1:5000',
    connectedAtMs: NOW - 125_000,
    types,
  };
}

const ACKED: TypeStatusJson = {
  sentVersion: 'a1',
  sentAtMs: NOW - 9,
  responses: 1,
  ackedVersion: 'a1',
  ackedAtMs: NOW - 5,
  nacks: 0,
};
const PENDING: TypeStatusJson = {
  sentVersion: 'b2',
  sentAtMs: NOW - 9,
  responses: 2,
  ackedVersion: 'a1',
  ackedAtMs: NOW - 50,
  nacks: 0,
};
const NACKED: TypeStatusJson = {
  sentVersion: 'c3',
  responses: 3,
  ackedVersion: 'a1',
  ackedAtMs: NOW - 50,
  nacks: 1,
  lastNack: {
    version: 'c3',
    nonce: '7',
    message: 'Proto constraint validation failed:\n  cluster "x" has no name',
    atMs: NOW - 10,
  },
};

const CLIENTS: ClientsReport = {
  totals: { streamsOpened: 2 },
  clients: [
    client('sidecar-west-1', 'west', { CDS: ACKED, EDS: PENDING }),
    client('sidecar-east-1', 'east', { CDS: ACKED, EDS: ACKED, LDS: NACKED, RDS: ACKED }),
  ],
};

const ISSUES: IssuesReport = {
  sources: [
    {
      source: 'file',
      severity: 'error',
      summary: 'mesh file /m.yaml rejected: the last good version keeps being served',
      details: ['/m.yaml:3: clusters[1].gateway: "x\u001b[31m" is not HOST:PORT'],
      sinceMs: NOW - 125_000,
      lastSeenMs: NOW - 5_000,
      serving: { version: '0123456789ab', acceptedAtMs: NOW - 7_200_000, clusters: 2, services: 9, endpoints: 31 },
    },
    {
      source: 'file',
      severity: 'warning',
      summary: 'the new mesh file removed 3 of 4 services (75%)',
      details: ['removed a.shop.svc.cluster.local'],
      sinceMs: NOW - 60_000,
      lastSeenMs: NOW - 60_000,
    },
  ],
  views: {
    'sidecar|east|127.0.0.1|15001': [
      { service: 'a', message: 'no port' },
      { service: 'b', message: 'no port' },
    ],
    'gateway|west': [],
  },
};

const ISSUES_TEXT = [
  'MESH FILE REJECTED (first rejected 2m ago): mesh file /m.yaml rejected: the last good version keeps being served',
  '  /m.yaml:3: clusters[1].gateway: "x [31m" is not HOST:PORT',
  '  serving instead the last good version 0123456789ab, accepted 2h ago (2 clusters, 9 services, 31 endpoints)',
  'WARNING (1m ago): the new mesh file removed 3 of 4 services (75%)',
  '  removed a.shop.svc.cluster.local',
  'TRANSLATION: 2 service problems in 1 view (those services are skipped; see /debug/issues)',
].join('\n');

describe('formatting', () => {
  test('source issues: what, where, since when, what is served instead; then translation problems', () => {
    expect(formatIssues(ISSUES, NOW)).toBe(ISSUES_TEXT);
    expect(formatIssues({ sources: [], views: { v: [] } }, NOW)).toBe('');
    // An older server's /debug/issues (views at the top level) says nothing rather than failing.
    expect(formatIssues({}, NOW)).toBe('');
  });

  test('columns are padded to the widest cell, without trailing blanks', () => {
    expect(
      formatColumns(
        ['A', 'LONGER'],
        [
          ['wide cell', 'x'],
          ['b', ''],
        ],
      ),
    ).toBe(['A          LONGER', 'wide cell  x', 'b'].join('\n'));
  });

  test('control characters and newlines in remote text cannot break a row', () => {
    expect(formatColumns(['X'], [['one\ntwo\u001b[31m']])).toBe('X\none two [31m');
    // C1 controls too: 0x9b alone is a CSI to many terminals.
    expect(formatColumns(['X'], [['a\u009b31m\u0085b\u007f']])).toBe('X\na 31m b');
  });

  test('ages are short', () => {
    expect([0, 59_999, 60_000, 3_599_999, 3_600_000, 86_400_000 * 2, -5].map(formatAge)).toEqual([
      '0s',
      '59s',
      '1m',
      '59m',
      '1h',
      '2d',
      '0s',
    ]);
  });

  test('shares list the biggest first and show tiny ones as <1%', () => {
    expect(formatShares({ east: 0.02, west: 0.98 })).toBe('west 98% east 2%');
    expect(formatShares({ east: 0.996, west: 0.004 })).toBe('east 100% west <1%');
    expect(formatShares({ east: 0 })).toBe('-');
  });

  test('the failover table, sorted by service, port, subset and client cluster', () => {
    expect(formatFailoverTable(FAILOVER)).toBe(
      [
        'CLIENT  SERVICE             SUBSET  STATE        SINCE  EXPECTED   MEASURED',
        'west    cart.shop:9090      all     unavailable  5s     -          no traffic',
        'east    checkout.shop:8080  all     local        3h     east 100%  no traffic',
        'east    checkout.shop:8080  v1      spilled      42s    west 100%  west 98% east 2% (412 req/10s)',
      ].join('\n'),
    );
  });

  test('an empty failover report says so', () => {
    expect(formatFailoverTable({ generatedAtMs: NOW, entries: [] })).toMatch(/^no failover entries yet/);
  });

  test('the clients table shows per-type sync status and lists NACK texts below', () => {
    expect(formatClientsTable(CLIENTS, NOW)).toBe(
      [
        'NODE            CLUSTER  ROLE     MODE  USER AGENT    CONNECTED  CDS      EDS      LDS   RDS',
        'sidecar-east-1  east     sidecar  sotw  envoy/1.40.0  2m         in sync  in sync  NACK  in sync',
        'sidecar-west-1  west     sidecar  sotw  envoy/1.40.0  2m         in sync  pending  -     -',
        '',
        'NACKs:',
        '  sidecar-east-1 LDS (version c3): Proto constraint validation failed: cluster "x" has no name',
      ].join('\n'),
    );
    expect(formatClientsTable({ totals: {}, clients: [] }, NOW)).toBe('no proxies connected');
  });
});

describe('sync status', () => {
  test('in sync, pending, never sent', () => {
    expect(syncStatus(ACKED)).toBe('in sync');
    expect(syncStatus(PENDING)).toBe('pending');
    expect(syncStatus(undefined)).toBe('-');
    expect(syncStatus({ responses: 0, nacks: 0 })).toBe('-');
  });

  test('a NACK shows until a later ACK', () => {
    expect(syncStatus(NACKED)).toBe('NACK');
    expect(syncStatus({ ...NACKED, ackedVersion: 'd4', sentVersion: 'd4', ackedAtMs: NOW })).toBe('in sync');
    expect(syncStatus({ ...NACKED, ackedVersion: undefined, ackedAtMs: undefined })).toBe('NACK');
  });
});

describe('--admin', () => {
  test('takes a URL or HOST:PORT, http only', () => {
    expect(adminBaseUrl('127.0.0.1:15014')?.href).toBe('http://127.0.0.1:15014/');
    expect(adminBaseUrl('http://localhost:9/prefix')?.href).toBe('http://localhost:9/prefix/');
    expect(adminBaseUrl('https://example.test/')).toBeUndefined();
    expect(adminBaseUrl('http://')).toBeUndefined();
  });
});

describe('the commands', () => {
  let stdout: string;
  let stderr: string;
  let server: http.Server;
  let admin: string;
  let issues: IssuesReport | undefined;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const body =
        req.url === '/debug/failover'
          ? FAILOVER
          : req.url === '/debug/clients'
            ? CLIENTS
            : req.url === '/debug/issues'
              ? issues
              : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      res.end(body ? JSON.stringify(body, null, 2) + '\n' : '{"error":"no such path"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('stub admin server has no port');
    admin = `http://127.0.0.1:${address.port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    stdout = '';
    stderr = '';
    jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
    jest
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  });

  afterEach(() => jest.restoreAllMocks());

  test('status prints the failover table', async () => {
    expect(await runStatus(['--admin', admin])).toBe(0);
    expect(stdout).toBe(formatFailoverTable(FAILOVER) + '\n');
    expect(stderr).toBe('');
  });

  test('status shows source problems above the table, and --json adds them as "issues"', async () => {
    issues = ISSUES;
    try {
      expect(await runStatus(['--admin', admin])).toBe(0);
      expect(stdout).toMatch(/^MESH FILE REJECTED \(first rejected \d+[smhd] ago\)/);
      expect(stdout).toContain(`\n\n${formatFailoverTable(FAILOVER)}\n`);
      stdout = '';
      expect(await runStatus(['--admin', admin, '--json'])).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ ...FAILOVER, issues: ISSUES });
    } finally {
      issues = undefined;
    }
  });

  test('clients --json prints the raw JSON', async () => {
    expect(await runClients([`--admin=${admin}`, '--json'])).toBe(0);
    expect(JSON.parse(stdout)).toEqual(CLIENTS);
  });

  test('an unreachable admin server is exit code 1 with a hint', async () => {
    const closedPort = await freePort();
    expect(await runStatus(['--admin', `127.0.0.1:${closedPort}`])).toBe(1);
    expect(stderr).toBe(
      `spillway: cannot reach the admin server at http://127.0.0.1:${closedPort} (is spillway serve running? pass --admin URL)\n`,
    );
    expect(stdout).toBe('');
  });

  test('an admin server without the endpoint is exit code 1 naming the URL and status', async () => {
    expect(await runStatus(['--admin', `${admin}/elsewhere`])).toBe(1);
    expect(stderr).toContain(`${admin}/elsewhere/debug/failover answered 404`);
  });

  test('an unknown flag is exit code 2', async () => {
    expect(await runClients(['--nope'])).toBe(2);
    expect(stderr).toContain('unknown flag --nope');
  });
});
