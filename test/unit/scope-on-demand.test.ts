// The on-demand protocol as a raw delta client sees it (serve --scope on-demand): no service cluster in
// the wildcard answer; naming one cluster brings its whole service; nothing outside the client's view can
// be asked for; and what a client names stays within the name limits every stream has.
import * as grpc from '@grpc/grpc-js';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../src/xds/resource-types';
import { RawAdsClient } from '../harness/raw-ads-client';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const CHECKOUT = 'checkout.shop.svc.cluster.local';
const CART = 'cart.shop.svc.cluster.local';
const NODE = { id: 'sidecar~10.0.0.1~web-1.shop', metadata: { CLUSTER_ID: 'east' }, userAgent: 'envoy' };

function mesh() {
  return sampleMesh({
    extraServices: [
      {
        service: httpService('cart', 'shop', 8083, {
          canary: { stable: 'v1', canary: 'v2', weight: 10, order: 'version-first' },
        }),
        endpoints: [
          endpoint('east', 18090, { labels: { version: 'v1' } }),
          endpoint('east', 18091, { labels: { version: 'v2' } }),
        ],
      },
    ],
  });
}

describe('on-demand clusters over delta xDS (raw client)', () => {
  let server: InProcessSpillway;
  const clients: RawAdsClient[] = [];
  const open = (mode: 'sotw' | 'delta' = 'delta'): RawAdsClient => {
    const client = new RawAdsClient(server.address, mode);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startInProcess(mesh(), {
      scope: { scope: 'on-demand' },
      serverOptions: { clientLimits: { maxNamesBytesPerType: 4096 } },
    });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('wildcard CDS holds no service cluster; naming one brings the whole service, an aggregate after its children are warm; it stays', async () => {
    const client = open();
    client.sendDelta({ typeUrl: CLUSTER_TYPE, node: NODE });
    const first = await client.next();
    expect(first.resources.map((r) => r.name)).toEqual([]);
    client.ackDelta(first);

    client.sendDelta({ typeUrl: CLUSTER_TYPE, subscribe: [`outbound|8083|v2-or-v1|${CART}`] });
    // The service's clusters come first; the aggregate that was asked for waits until the client holds
    // its children's endpoints (Envoy replays the waiting request when it arrives: it must find hosts).
    const children = await client.next();
    expect(children.resources.map((r) => r.name).sort()).toEqual(
      [`outbound|8083|v1|${CART}`, `outbound|8083|v2|${CART}`, `outbound|8083||${CART}`].sort(),
    );
    client.ackDelta(children);
    await client.expectNothing(300);
    client.sendDelta({ typeUrl: ENDPOINT_TYPE, subscribe: [`outbound|8083|v1|${CART}`, `outbound|8083|v2|${CART}`] });
    const endpoints = await client.next(3_000, ENDPOINT_TYPE);
    await client.expectNothing(300);
    client.ackDelta(endpoints);
    const cart = await client.next(3_000, CLUSTER_TYPE);
    expect(cart.resources.map((r) => r.name)).toEqual([`outbound|8083|v2-or-v1|${CART}`]);
    client.ackDelta(cart);

    client.sendDelta({ typeUrl: CLUSTER_TYPE, subscribe: [`outbound|8080||${CHECKOUT}`] });
    const checkout = await client.next();
    // Only what is new: cart's clusters are held already and are not removed.
    expect(checkout.resources.map((r) => r.name)).toEqual([`outbound|8080||${CHECKOUT}`]);
    expect(checkout.removed).toEqual([]);
  });

  test('a client can only fetch what its view holds: a service its cluster cannot see, or a made-up name, brings nothing', async () => {
    const client = open();
    client.sendDelta({ typeUrl: CLUSTER_TYPE, node: NODE });
    client.ackDelta(await client.next());
    // ledger runs only in west and is not exported: not in east's view.
    client.sendDelta({
      typeUrl: CLUSTER_TYPE,
      subscribe: ['outbound|8080||ledger.shop.svc.cluster.local', 'outbound|1||made-up.example'],
    });
    await client.expectNothing(500);
  });

  test('names asked for on demand count against --xds-max-names-bytes-per-type', async () => {
    const client = open();
    client.sendDelta({ typeUrl: CLUSTER_TYPE, node: NODE });
    client.ackDelta(await client.next());
    client.sendDelta({
      typeUrl: CLUSTER_TYPE,
      subscribe: Array.from({ length: 100 }, (_, i) => `outbound|8080||svc-${i}.fill.svc.cluster.local`),
    });
    const end = await client.end();
    expect(end.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(end.details).toContain('--xds-max-names-bytes-per-type 4096');
  });

  test('a SotW client of the same mesh gets every cluster in its wildcard answer', async () => {
    const client = open('sotw');
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: NODE });
    const all = await client.next();
    expect(all.resources.map((r) => r.name)).toContain(`outbound|8080||${CHECKOUT}`);
  });
});
