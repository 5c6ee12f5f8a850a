// State-of-the-world protocol rules, checked one message at a time with a raw ADS client.
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/xds/resource-types';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { RawAdsClient, RawNode } from '../harness/raw-ads-client';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';
import { serviceHost } from '../../src/mesh/model';

const CHECKOUT = 'outbound|8080||checkout.shop.svc.cluster.local';
const PAYMENTS = 'outbound|9090||payments.shop.svc.cluster.local';
const EAST: RawNode = { id: 'sidecar-east-1', metadata: { CLUSTER_ID: 'east' } };

function withPayments() {
  const payments = { service: httpService('payments', 'shop', 9090), endpoints: [endpoint('east', 19091)] };
  return sampleMesh({ extraServices: [payments] });
}

describe('SotW ADS protocol', () => {
  let server: InProcessSpillway;
  const clients: RawAdsClient[] = [];
  const connect = (service: 'ads' | 'cds' = 'ads') => {
    const client = new RawAdsClient(server.address, 'sotw', service);
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

  test('wildcard CDS: full set, content-hash version, fresh nonce; ACK gets no response', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: EAST });
    const first = await client.next();
    expect(first.resources.map((r) => r.name)).toEqual([CHECKOUT]);
    expect(first.versionInfo).toMatch(/^[0-9a-f]{16}$/);
    expect(first.nonce).not.toBe('');
    client.ackSotw(first, EAST);
    await client.expectNothing();
  });

  test('an update is pushed with a new version and nonce; deletion by omission for CDS', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: EAST });
    const first = await client.next();
    client.ackSotw(first, EAST);
    server.setModel(withPayments());
    const second = await client.next();
    expect(second.resources.map((r) => r.name)).toEqual([CHECKOUT, PAYMENTS]);
    expect(second.versionInfo).not.toBe(first.versionInfo);
    expect(second.nonce).not.toBe(first.nonce);
    client.ackSotw(second, EAST);
    server.setModel(sampleMesh());
    const third = await client.next();
    expect(third.resources.map((r) => r.name)).toEqual([CHECKOUT]);
    // Same content as the first response, so the same version: versions are content hashes.
    expect(third.versionInfo).toBe(first.versionInfo);
  });

  test('EDS by name: a name that does not exist gets an empty assignment, then its endpoints when it appears', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: ENDPOINT_TYPE, node: EAST, resourceNames: [PAYMENTS] });
    const empty = await client.next();
    expect(empty.resources).toHaveLength(1);
    expect(empty.resources[0]?.message).toMatchObject({ cluster_name: PAYMENTS, endpoints: [] });
    client.ackSotw(empty, EAST, [PAYMENTS]);
    server.setModel(withPayments());
    const filled = await client.next();
    const assignment = filled.resources[0]?.message as { endpoints?: unknown[] };
    expect(assignment.endpoints).toHaveLength(1);
  });

  test('EDS by name: a newly named resource is sent (only it: the client keeps what it holds), a dropped name needs nothing', async () => {
    server.setModel(withPayments());
    const client = connect();
    client.sendSotw({ typeUrl: ENDPOINT_TYPE, node: EAST, resourceNames: [CHECKOUT] });
    const first = await client.next();
    expect(first.resources.map((r) => r.name)).toEqual([CHECKOUT]);
    client.sendSotw({
      typeUrl: ENDPOINT_TYPE,
      node: EAST,
      resourceNames: [CHECKOUT, PAYMENTS],
      versionInfo: first.versionInfo,
      responseNonce: first.nonce,
    });
    const second = await client.next();
    expect(second.resources.map((r) => r.name)).toEqual([PAYMENTS]);
    expect(second.versionInfo).not.toBe(first.versionInfo);
    client.sendSotw({
      typeUrl: ENDPOINT_TYPE,
      node: EAST,
      resourceNames: [PAYMENTS],
      versionInfo: second.versionInfo,
      responseNonce: second.nonce,
    });
    await client.expectNothing();
    // A name dropped and named again is sent again, unchanged as it is.
    client.sendSotw({
      typeUrl: ENDPOINT_TYPE,
      node: EAST,
      resourceNames: [CHECKOUT, PAYMENTS],
      versionInfo: second.versionInfo,
      responseNonce: second.nonce,
    });
    expect((await client.next()).resources.map((r) => r.name)).toEqual([CHECKOUT]);
  });

  test('EDS: an endpoint change sends only the assignment that changed', async () => {
    server.setModel(withPayments());
    const client = connect();
    client.sendSotw({ typeUrl: ENDPOINT_TYPE, node: EAST, resourceNames: [CHECKOUT, PAYMENTS] });
    const first = await client.next();
    expect(first.resources.map((r) => r.name)).toEqual([CHECKOUT, PAYMENTS]);
    client.ackSotw(first, EAST, [CHECKOUT, PAYMENTS]);
    server.setModel(
      sampleMesh({
        extraServices: [{ service: httpService('payments', 'shop', 9090), endpoints: [endpoint('east', 19092)] }],
      }),
    );
    const update = await client.next();
    expect(update.resources.map((r) => r.name)).toEqual([PAYMENTS]);
  });

  test('a stale nonce is ignored as ACK/NACK but its subscription change is honoured', async () => {
    server.setModel(withPayments());
    const client = connect();
    client.sendSotw({ typeUrl: ENDPOINT_TYPE, node: EAST, resourceNames: [CHECKOUT] });
    const first = await client.next();
    client.ackSotw(first, EAST, [CHECKOUT]);
    server.setModel(
      sampleMesh({
        extraServices: [{ service: httpService('payments', 'shop', 9090), endpoints: [endpoint('east', 19091)] }],
        checkoutEndpoints: [endpoint('east', 18081)],
      }),
    );
    const second = await client.next();
    // The client answers the OLD nonce with a NACK and a new name: the NACK is stale (ignored), the name is not.
    client.sendSotw({
      typeUrl: ENDPOINT_TYPE,
      resourceNames: [CHECKOUT, PAYMENTS],
      versionInfo: first.versionInfo,
      responseNonce: first.nonce,
      errorMessage: 'stale complaint',
    });
    const third = await client.next();
    expect(third.resources.map((r) => r.name)).toEqual([PAYMENTS]); // it already holds the new CHECKOUT
    expect(third.nonce).not.toBe(second.nonce);
    const record = server.spillway.server.registry.list()[0];
    expect(record?.types.EDS?.nacks ?? 0).toBe(0);
  });

  test('a NACK is recorded with the error text and never causes a resend; the next change is sent', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: EAST });
    const first = await client.next();
    client.sendSotw({
      typeUrl: CLUSTER_TYPE,
      versionInfo: '',
      responseNonce: first.nonce,
      errorMessage: 'cluster rejected: bad field',
    });
    await client.expectNothing(400);
    const record = server.spillway.server.registry.list()[0];
    expect(record?.types.CDS?.nacks).toBe(1);
    expect(record?.types.CDS?.lastNack?.message).toBe('cluster rejected: bad field');
    expect(record?.types.CDS?.lastNack?.version).toBe(first.versionInfo);
    expect(server.spillway.server.registry.totals.nacks).toBe(1);
    server.setModel(withPayments());
    const next = await client.next();
    expect(next.resources.map((r) => r.name)).toEqual([CHECKOUT, PAYMENTS]);
  });

  test('LDS wildcard gets the sidecar listener only; a proxyless client names its API listener', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: LISTENER_TYPE, node: EAST });
    const wildcard = await client.next();
    expect(wildcard.resources.map((r) => r.name)).toEqual(['outbound']);
    const grpcClient = connect();
    const host = serviceHost({ name: 'checkout', namespace: 'shop' });
    grpcClient.sendSotw({ typeUrl: LISTENER_TYPE, node: { ...EAST, id: 'grpc-1' }, resourceNames: [`${host}:8080`] });
    const named = await grpcClient.next();
    expect(named.resources.map((r) => r.name)).toEqual([`${host}:8080`]);
    expect(named.resources[0]?.message).toHaveProperty('api_listener');
  });

  test('explicit "*" plus names; empty list after names unsubscribes from all', async () => {
    const client = connect();
    client.sendSotw({
      typeUrl: LISTENER_TYPE,
      node: EAST,
      resourceNames: ['*', 'checkout.shop.svc.cluster.local:8080'],
    });
    const both = await client.next();
    expect(both.resources.map((r) => r.name).sort()).toEqual(['checkout.shop.svc.cluster.local:8080', 'outbound']);
    client.sendSotw({
      typeUrl: LISTENER_TYPE,
      resourceNames: [],
      versionInfo: both.versionInfo,
      responseNonce: both.nonce,
    });
    const none = await client.next();
    expect(none.resources).toEqual([]);
  });

  test('a client that does not ACK gets only the newest state once it does; others are not held up', async () => {
    const slow = connect();
    const fast = connect();
    slow.sendSotw({ typeUrl: CLUSTER_TYPE, node: EAST });
    fast.sendSotw({ typeUrl: CLUSTER_TYPE, node: { ...EAST, id: 'fast' } });
    const slowFirst = await slow.next();
    const fastFirst = await fast.next();
    fast.ackSotw(fastFirst, EAST);
    server.setModel(withPayments());
    const fastSecond = await fast.next();
    fast.ackSotw(fastSecond, EAST);
    const third = sampleMesh({ extraServices: [{ service: httpService('payments', 'shop', 9091), endpoints: [] }] });
    server.setModel(third);
    const fastThird = await fast.next();
    await slow.expectNothing(200);
    slow.ackSotw(slowFirst, EAST);
    const slowNext = await slow.next();
    expect(slowNext.versionInfo).toBe(fastThird.versionInfo);
    await slow.expectNothing(200);
  });

  test('clients of one view get the very same response (encoded once, one content nonce); ACKs still work per stream', async () => {
    const one = connect();
    const two = connect();
    one.sendSotw({ typeUrl: ENDPOINT_TYPE, node: EAST, resourceNames: [CHECKOUT] });
    two.sendSotw({ typeUrl: ENDPOINT_TYPE, node: { ...EAST, id: 'sidecar-east-2' }, resourceNames: [CHECKOUT] });
    const [first, second] = [await one.next(), await two.next()];
    expect(second.nonce).toBe(first.nonce);
    expect(second.versionInfo).toBe(first.versionInfo);
    one.ackSotw(first, EAST, [CHECKOUT]);
    two.ackSotw(second, EAST, [CHECKOUT]);
    await one.expectNothing(200);
    // A change: both get the same new response, and each stream's ACK of it is taken (nothing resent).
    server.setModel(sampleMesh({ checkoutEndpoints: [endpoint('east', 18081)] }));
    const [update1, update2] = [await one.next(), await two.next()];
    expect(update2.nonce).toBe(update1.nonce);
    expect(update1.nonce).not.toBe(first.nonce);
    one.ackSotw(update1, EAST, [CHECKOUT]);
    two.ackSotw(update2, EAST, [CHECKOUT]);
    await one.expectNothing(200);
    await two.expectNothing(50);
    // Another client with other names gets another response (another nonce).
    const three = connect();
    three.sendSotw({ typeUrl: ENDPOINT_TYPE, node: EAST, resourceNames: [CHECKOUT, PAYMENTS] });
    expect((await three.next()).nonce).not.toBe(first.nonce);
  });

  test('a reconnecting client that already holds the current version gets nothing', async () => {
    const client = connect();
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: EAST });
    const first = await client.next();
    client.close();
    const again = connect();
    again.sendSotw({ typeUrl: CLUSTER_TYPE, node: EAST, versionInfo: first.versionInfo });
    await again.expectNothing();
    const stale = connect();
    stale.sendSotw({ typeUrl: CLUSTER_TYPE, node: EAST, versionInfo: 'an-older-version' });
    expect((await stale.next()).versionInfo).toBe(first.versionInfo);
  });

  test('make before break: a removed cluster outlives the route that used it', async () => {
    server.setModel(withPayments());
    const client = connect();
    const names: Record<string, string[]> = {
      [CLUSTER_TYPE]: [],
      [ENDPOINT_TYPE]: [CHECKOUT, PAYMENTS],
      [LISTENER_TYPE]: [],
      [ROUTE_TYPE]: ['outbound'],
    };
    for (const typeUrl of [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE]) {
      client.sendSotw({ typeUrl, node: EAST, resourceNames: names[typeUrl] });
      client.ackSotw(await client.next(3_000, typeUrl), EAST, names[typeUrl]);
    }
    server.setModel(sampleMesh()); // payments disappears
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await client.next();
      if (response.typeUrl !== ENDPOINT_TYPE)
        order.push(`${response.typeUrl.split('.').pop()}:${response.resources.length}`);
      client.ackSotw(response, EAST, names[response.typeUrl]);
      if (response.typeUrl === CLUSTER_TYPE) {
        expect(response.resources.map((r) => r.name)).toEqual([CHECKOUT]);
        break;
      }
    }
    // Routes change first; only after the client confirmed them is the cluster removed.
    expect(order[0]).toBe('RouteConfiguration:1');
    expect(order[order.length - 1]).toBe('Cluster:1');
  });

  test('make before break: a new cluster arrives before listeners and routes that use it', async () => {
    const client = connect();
    for (const typeUrl of [CLUSTER_TYPE, ROUTE_TYPE]) {
      const resourceNames = typeUrl === ROUTE_TYPE ? ['outbound'] : [];
      client.sendSotw({ typeUrl, node: EAST, resourceNames });
      client.ackSotw(await client.next(3_000, typeUrl), EAST, resourceNames);
    }
    server.setModel(withPayments());
    const first = await client.next();
    expect(first.typeUrl).toBe(CLUSTER_TYPE);
    await client.expectNothing(200); // routes wait for the cluster ACK
    client.ackSotw(first, EAST);
    expect((await client.next()).typeUrl).toBe(ROUTE_TYPE);
  });

  test('make before break never strands a removal: a client of CDS and LDS only gets it at once', async () => {
    server.setModel(withPayments());
    const client = connect();
    for (const typeUrl of [CLUSTER_TYPE, LISTENER_TYPE]) {
      client.sendSotw({ typeUrl, node: EAST });
      client.ackSotw(await client.next(3_000, typeUrl), EAST);
    }
    // The view's listeners change too (proxyless API listeners), but nothing this client subscribes to.
    server.setModel(sampleMesh());
    const clusters = await client.next(3_000, CLUSTER_TYPE);
    expect(clusters.resources.map((r) => r.name)).toEqual([CHECKOUT]);
  });

  test('the per-type CDS service serves clusters and refuses other types', async () => {
    const client = connect('cds');
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: EAST });
    expect((await client.next()).resources.map((r) => r.name)).toEqual([CHECKOUT]);
    client.sendSotw({ typeUrl: LISTENER_TYPE });
    const end = await client.end();
    expect(end.code).toBe(3);
    expect(end.details).toContain('unsupported type_url');
  });
});
