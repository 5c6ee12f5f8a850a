// /debug/clients stays small however many proxies are connected: at most `limit` entries (NACKing proxies
// first) with the total, and `spillway clients` says when it shows only some.
import { ClientInfo, ClientRegistry } from '../../src/xds/server/client-registry';
import { NameSetBudget } from '../../src/xds/server/name-budget';
import { DEFAULT_CLIENTS_LIMIT, clientsReport } from '../../src/admin/clients-report';
import { formatClientsTable } from '../../src/cli/status';
import { ClientsReport } from '../../src/admin/page/api-types';
import { ViewKey } from '../../src/xds/node/view-key';

function client(streamId: number): ClientInfo {
  return {
    streamId,
    nodeId: `node-${streamId}`,
    clusterId: 'east',
    role: 'sidecar',
    view: ViewKey.of({ clusterId: 'east', role: 'sidecar', outboundAddress: '127.0.0.1', outboundPort: 15001 }),
    userAgent: 'envoy',
    mode: 'sotw',
    service: 'ads',
    peer: '127.0.0.1:1',
    connectedAtMs: 0,
    types: {},
  };
}

describe('/debug/clients', () => {
  const registry = new ClientRegistry();
  const server = { registry, nameBudget: new NameSetBudget() };
  const clients = Array.from({ length: DEFAULT_CLIENTS_LIMIT + 100 }, (_, i) => client(i + 1));
  for (const c of clients) registry.add(c);
  const nacking = clients[DEFAULT_CLIENTS_LIMIT + 50];
  registry.recordSent(nacking, 'CDS', 'v1', 'n1');
  registry.recordNack(nacking, 'CDS', { version: 'v1', nonce: 'n1', message: 'bad', atMs: Date.now() });
  const report = (query = '') => {
    const answer = clientsReport(server, new URL(`http://admin/debug/clients${query}`));
    return { status: answer.status, body: JSON.parse(answer.body) as ClientsReport & { error?: string } };
  };

  test('lists at most the default limit, NACKing proxies first, with the total', () => {
    const { body } = report();
    expect(body.total).toBe(DEFAULT_CLIENTS_LIMIT + 100);
    expect(body.limit).toBe(DEFAULT_CLIENTS_LIMIT);
    expect(body.clients).toHaveLength(DEFAULT_CLIENTS_LIMIT);
    expect(body.clients[0]?.nodeId).toBe(nacking.nodeId);
    expect(body.totals.subscribedNameBytes).toBe(0);
  });

  test('?limit=N shows N (0: only the counts); a bad limit says what is expected', () => {
    expect(report('?limit=3').body.clients.map((c) => c.nodeId)).toEqual([nacking.nodeId, 'node-1', 'node-2']);
    expect(report('?limit=0').body.clients).toEqual([]);
    expect(report(`?limit=${DEFAULT_CLIENTS_LIMIT + 100}`).body.clients).toHaveLength(DEFAULT_CLIENTS_LIMIT + 100);
    const bad = report('?limit=lots');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('not a whole number');
  });

  test('spillway clients says when it shows only some', () => {
    const text = formatClientsTable(report('?limit=2').body, 0);
    expect(text).toContain(`showing 2 of ${DEFAULT_CLIENTS_LIMIT + 100} proxies (those with a NACK first)`);
    expect(formatClientsTable(report().body, 0)).toContain('showing');
    expect(formatClientsTable(report(`?limit=${DEFAULT_CLIENTS_LIMIT + 100}`).body, 0)).not.toContain('showing');
  });
});
