// Bad input gets a clear gRPC status on that stream only; every other client keeps being served.
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../src/xds/resource-types';
import { CLIENT_LIMIT_FLAGS, DEFAULT_CLIENT_LIMITS } from '../../src/xds/server/client-limits';
import { waitFor } from '../harness/ports';
import { MAX_NAME_LENGTH_CHARS } from '../../src/xds/server/subscription';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { RawAdsClient, RawNode } from '../harness/raw-ads-client';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const EAST: RawNode = { id: 'good-client', metadata: { CLUSTER_ID: 'east' } };
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
const FAILED_PRECONDITION = 9;

describe('bad input', () => {
  let server: InProcessSpillway;
  let good: RawAdsClient;
  const clients: RawAdsClient[] = [];
  const connect = (mode: 'sotw' | 'delta' = 'sotw') => {
    const client = new RawAdsClient(server.address, mode);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    server = await startInProcess(sampleMesh());
    good = connect();
    good.sendSotw({ typeUrl: CLUSTER_TYPE, node: EAST });
    good.ackSotw(await good.next(), EAST);
  });
  afterEach(async () => {
    // The well-behaved client still gets updates after each kind of bad input.
    server.setModel(
      sampleMesh({
        extraServices: [{ service: httpService('extra', 'shop', 7070), endpoints: [endpoint('east', 17070)] }],
      }),
    );
    const update = await good.next();
    expect(update.resources.map((r) => r.name)).toContain('outbound|7070||extra.shop.svc.cluster.local');
    for (const client of clients.splice(0)) client.close();
    await server.stop();
  });

  test.each(['sotw', 'delta'] as const)(
    '%s: a first request with no node is refused with INVALID_ARGUMENT',
    async (mode) => {
      const client = connect(mode);
      if (mode === 'sotw') client.sendSotw({ typeUrl: CLUSTER_TYPE });
      else client.sendDelta({ typeUrl: CLUSTER_TYPE });
      const end = await client.end();
      expect(end.code).toBe(INVALID_ARGUMENT);
      expect(end.details).toMatch(/node/);
    },
  );

  test('an unknown CLUSTER_ID is refused with FAILED_PRECONDITION naming the known clusters', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: { id: 'lost', metadata: { CLUSTER_ID: 'nort' } } });
    const end = await client.end();
    expect(end.code).toBe(FAILED_PRECONDITION);
    expect(end.details).toContain('unknown CLUSTER_ID "nort"; known clusters: east, west');
    expect(server.spillway.server.registry.totals.rejectedStreams).toBe(1);
  });

  test('a missing CLUSTER_ID says what to set', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: { id: 'bare' } });
    const end = await client.end();
    expect(end.code).toBe(FAILED_PRECONDITION);
    expect(end.details).toContain('set node.metadata.CLUSTER_ID to one of: east, west');
  });

  test('an unknown type URL ends the stream with a clear error', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', node: EAST });
    const end = await client.end();
    expect(end.code).toBe(INVALID_ARGUMENT);
    expect(end.details).toContain('unsupported type_url');
    expect(end.details).toContain('CDS, EDS, LDS and RDS');
  });

  test('garbage resource names: unknown names are harmless, absurd ones end that stream', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: EAST, resourceNames: ['\u0000\u00ff garbage', 'outbound|x||y'] });
    expect((await client.next()).resources).toEqual([]);
    const abuser = connect();
    abuser.sendSotw({ typeUrl: CLUSTER_TYPE, node: EAST, resourceNames: ['x'.repeat(MAX_NAME_LENGTH_CHARS + 1)] });
    const end = await abuser.end();
    expect(end.code).toBe(RESOURCE_EXHAUSTED);
  });

  test('an oversize node is refused with a short status naming the flag, never echoing the node', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: { id: 'i'.repeat(2_000_000), metadata: { CLUSTER_ID: 'east' } } });
    const end = await client.end();
    expect(end.code).toBe(RESOURCE_EXHAUSTED);
    expect(end.details).toBe(
      `node id of 2000000 bytes is over the limit of ${DEFAULT_CLIENT_LIMITS.maxNodeFieldBytes} (--${CLIENT_LIMIT_FLAGS.maxNodeFieldBytes})`,
    );
    expect(server.spillway.server.registry.totals.rejectedStreams).toBe(1);
  });

  test('a long NACK text is kept cut to its bound, saying how long it was', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: { id: 'nacker', metadata: { CLUSTER_ID: 'east' } } });
    const response = await client.next();
    client.sendSotw({ typeUrl: CLUSTER_TYPE, responseNonce: response.nonce, errorMessage: 'e'.repeat(100_000) });
    const nack = await waitFor(
      async () => server.spillway.server.registry.list().find((c) => c.nodeId === 'nacker')?.types.CDS?.lastNack,
      { timeoutMs: 3_000, what: 'the NACK' },
    );
    expect(nack.message).toBe(
      `${'e'.repeat(DEFAULT_CLIENT_LIMITS.maxNackMessageChars)}... [truncated: 100000 characters]`,
    );
  });

  test('what a stream subscribed stops counting against the server the moment it closes', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: ENDPOINT_TYPE, node: EAST, resourceNames: ['made-up-1', 'made-up-2'] });
    await client.next();
    const budget = server.spillway.server.nameBudget;
    expect(budget.bytes).toBe(18);
    client.close();
    await waitFor(async () => budget.bytes === 0, { timeoutMs: 3_000, what: 'the names to be released' });
    expect(budget.distinctSets).toBe(0);
  });
});
