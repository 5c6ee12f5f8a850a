// Incremental (delta) protocol rules with a raw client.
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE } from '../../src/xds/resource-types';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { RawAdsClient, RawNode } from '../harness/raw-ads-client';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const CHECKOUT = 'outbound|8080||checkout.shop.svc.cluster.local';
const PAYMENTS = 'outbound|9090||payments.shop.svc.cluster.local';
const EAST: RawNode = { id: 'delta-east-1', metadata: { CLUSTER_ID: 'east' } };

function withPayments() {
  return sampleMesh({
    extraServices: [{ service: httpService('payments', 'shop', 9090), endpoints: [endpoint('east', 19091)] }],
  });
}

describe('delta ADS protocol', () => {
  let server: InProcessSpillway;
  const clients: RawAdsClient[] = [];
  const connect = () => {
    const client = new RawAdsClient(server.address, 'delta');
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    server = await startInProcess(sampleMesh());
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await server.stop();
  });

  test('legacy wildcard: everything, then only what changed, and removed_resources for what is gone', async () => {
    const client = connect();
    client.sendDelta({ typeUrl: CLUSTER_TYPE, node: EAST });
    const first = await client.next();
    expect(first.resources.map((r) => r.name)).toEqual([CHECKOUT]);
    expect(first.resources[0]?.version).toMatch(/^[0-9a-f]{16}$/);
    client.ackDelta(first);
    await client.expectNothing();
    server.setModel(withPayments());
    const second = await client.next();
    expect(second.resources.map((r) => r.name)).toEqual([PAYMENTS]); // checkout unchanged: not resent
    expect(second.removed).toEqual([]);
    client.ackDelta(second);
    server.setModel(sampleMesh());
    const third = await client.next();
    expect(third.resources).toEqual([]);
    expect(third.removed).toEqual([PAYMENTS]);
  });

  test('reconnect with initial_resource_versions: nothing already held is resent; stale names are removed', async () => {
    const client = connect();
    client.sendDelta({ typeUrl: CLUSTER_TYPE, node: EAST });
    const first = await client.next();
    const held = Object.fromEntries(first.resources.map((r) => [r.name, r.version as string]));
    client.close();
    const again = connect();
    again.sendDelta({ typeUrl: CLUSTER_TYPE, node: EAST, initialVersions: { ...held, 'outbound|1||gone.svc': 'abc' } });
    const resync = await again.next();
    expect(resync.resources).toEqual([]);
    expect(resync.removed).toEqual(['outbound|1||gone.svc']);
    const changedVersion = connect();
    changedVersion.sendDelta({ typeUrl: CLUSTER_TYPE, node: EAST, initialVersions: { [CHECKOUT]: 'old-version' } });
    expect((await changedVersion.next()).resources.map((r) => r.name)).toEqual([CHECKOUT]);
  });

  test('named subscribe, unsubscribe and resubscribe; a missing EDS name gets an empty assignment', async () => {
    const client = connect();
    client.sendDelta({ typeUrl: ENDPOINT_TYPE, node: EAST, subscribe: [CHECKOUT, PAYMENTS] });
    const first = await client.next();
    expect(first.resources.map((r) => r.name)).toEqual([CHECKOUT, PAYMENTS]);
    expect(first.resources[1]?.message).toMatchObject({ cluster_name: PAYMENTS, endpoints: [] });
    client.ackDelta(first);
    client.sendDelta({ typeUrl: ENDPOINT_TYPE, unsubscribe: [CHECKOUT] });
    await client.expectNothing();
    client.sendDelta({ typeUrl: ENDPOINT_TYPE, subscribe: [CHECKOUT] });
    const again = await client.next();
    expect(again.resources.map((r) => r.name)).toEqual([CHECKOUT]);
  });

  test('clients of a view that hold the same set get the same difference; one that left the shared form comes back to it', async () => {
    const one = connect();
    const two = connect();
    one.sendDelta({ typeUrl: ENDPOINT_TYPE, node: EAST, subscribe: [CHECKOUT, PAYMENTS] });
    two.sendDelta({ typeUrl: ENDPOINT_TYPE, node: { ...EAST, id: 'delta-east-2' }, subscribe: [CHECKOUT, PAYMENTS] });
    one.ackDelta(await one.next());
    two.ackDelta(await two.next());
    // Two unsubscribes from payments and comes back: it holds its own map meanwhile.
    two.sendDelta({ typeUrl: ENDPOINT_TYPE, unsubscribe: [PAYMENTS] });
    await two.expectNothing(100);
    two.sendDelta({ typeUrl: ENDPOINT_TYPE, subscribe: [PAYMENTS] });
    const back = await two.next();
    expect(back.resources.map((r) => r.name)).toEqual([PAYMENTS]);
    two.ackDelta(back);
    server.setModel(withPayments());
    const [a, b] = [await one.next(), await two.next()];
    expect(a.resources.map((r) => r.name)).toEqual([PAYMENTS]);
    expect(b.resources.map((r) => r.name)).toEqual([PAYMENTS]);
    expect(b.resources[0]?.version).toBe(a.resources[0]?.version);
    one.ackDelta(a);
    two.ackDelta(b);
    server.setModel(sampleMesh());
    const [c, d] = [await one.next(), await two.next()];
    // Payments is gone from the mesh: an empty assignment for the name both still watch.
    expect(c.resources.map((r) => r.name)).toEqual([PAYMENTS]);
    expect(d.resources.map((r) => r.name)).toEqual([PAYMENTS]);
    expect(c.removed).toEqual([]);
    await one.expectNothing(100);
  });

  test('a cluster removal reaches a client of CDS and LDS only (nothing it subscribes to still refers to it)', async () => {
    server.setModel(withPayments());
    const client = connect();
    for (const typeUrl of [CLUSTER_TYPE, LISTENER_TYPE]) {
      client.sendDelta({ typeUrl, node: EAST });
      client.ackDelta(await client.next(3_000, typeUrl));
    }
    server.setModel(sampleMesh());
    const clusters = await client.next(3_000, CLUSTER_TYPE);
    expect(clusters.removed).toEqual([PAYMENTS]);
  });

  test('a NACK is recorded and not answered with a resend', async () => {
    const client = connect();
    client.sendDelta({ typeUrl: LISTENER_TYPE, node: EAST });
    const first = await client.next();
    client.sendDelta({ typeUrl: LISTENER_TYPE, responseNonce: first.nonce, errorMessage: 'listener rejected' });
    await client.expectNothing(400);
    const record = server.spillway.server.registry.list()[0];
    expect(record?.mode).toBe('delta');
    expect(record?.types.LDS?.lastNack?.message).toBe('listener rejected');
  });
});
