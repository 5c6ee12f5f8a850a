// A sidecar connected before its workload declared calls moves to its scoped view when the declaration
// appears, and back to the whole mesh when it goes, on the same stream (SotW and delta).
import { MeshModel } from '../../src/mesh/model';
import { CLUSTER_TYPE } from '../../src/xds/resource-types';
import { RawAdsClient, RawResponse } from '../harness/raw-ads-client';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const CHECKOUT = 'checkout.shop.svc.cluster.local';
const WEB = 'web.shop.svc.cluster.local';
const NODE = {
  id: 'sidecar~10.0.0.1~web-1.shop',
  metadata: { CLUSTER_ID: 'east', SERVICE: 'web.shop' },
  userAgent: 'envoy',
};

function mesh(calls?: string[]): MeshModel {
  return sampleMesh({
    extraServices: [
      { service: httpService('web', 'shop', 8081, calls ? { calls } : {}), endpoints: [endpoint('east', 18088)] },
    ],
  });
}

const names = (response: RawResponse): string[] => response.resources.map((r) => r.name).sort();

describe('declarations that appear or go after a sidecar connected', () => {
  let server: InProcessSpillway;
  let client: RawAdsClient | undefined;

  beforeEach(async () => {
    server = await startInProcess(mesh());
  });
  afterEach(async () => {
    client?.close();
    await server.stop();
  });

  test('SotW: whole mesh, then only checkout once web declares it, then the whole mesh again', async () => {
    client = new RawAdsClient(server.address, 'sotw');
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: NODE });
    const all = await client.next();
    expect(names(all)).toEqual([`outbound|8080||${CHECKOUT}`, `outbound|8081||${WEB}`]);
    client.ackSotw(all, undefined);

    server.setModel(mesh([CHECKOUT]));
    const scoped = await client.next();
    expect(names(scoped)).toEqual([`outbound|8080||${CHECKOUT}`]);
    const registered = server.spillway.server.registry.list().find((c) => c.nodeId === NODE.id);
    expect(registered?.view.id).toContain(`|wl=${WEB}`);
    client.ackSotw(scoped, undefined);

    server.setModel(mesh());
    expect(names(await client.next())).toEqual([`outbound|8080||${CHECKOUT}`, `outbound|8081||${WEB}`]);
  });

  test('delta: the clusters outside the new scope are removed, nothing else is sent again', async () => {
    client = new RawAdsClient(server.address, 'delta');
    client.sendDelta({ typeUrl: CLUSTER_TYPE, node: NODE });
    const all = await client.next();
    expect(names(all)).toHaveLength(2);
    client.ackDelta(all);

    server.setModel(mesh([CHECKOUT]));
    const scoped = await client.next();
    expect(scoped.resources).toEqual([]);
    expect(scoped.removed).toEqual([`outbound|8081||${WEB}`]);
  });

  test('a sidecar naming no workload stays where it is', async () => {
    client = new RawAdsClient(server.address, 'sotw');
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: { ...NODE, metadata: { CLUSTER_ID: 'east' } } });
    client.ackSotw(await client.next(), undefined);
    expect(server.spillway.server.registry.list().length).toBe(1);
    server.setModel(mesh([CHECKOUT]));
    await client.expectNothing(500);
  });
});
