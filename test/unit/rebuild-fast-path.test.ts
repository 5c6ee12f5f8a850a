// A change re-translates only the services whose content changed (per view scope); identical resources are
// encoded once across views; a big rebuild yields to the event loop.
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/xds/resource-types';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { ViewKey } from '../../src/xds/node/view-key';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const CHECKOUT = 'outbound|8080||checkout.shop.svc.cluster.local';
const LEDGER = 'outbound|8080||ledger.shop.svc.cluster.local';
const EAST_VIEW = ViewKey.of({ clusterId: 'east', role: 'sidecar', outboundAddress: '127.0.0.1', outboundPort: 15001 });
const EAST_VIEW_OTHER_PORT = ViewKey.of({
  clusterId: 'east',
  role: 'sidecar',
  outboundAddress: '127.0.0.1',
  outboundPort: 15002,
});
const WEST_VIEW = ViewKey.of({ clusterId: 'west', role: 'sidecar', outboundAddress: '127.0.0.1', outboundPort: 15001 });

describe('per-service rebuilds and shared encoding', () => {
  let server: InProcessSpillway;
  afterEach(async () => server?.stop());

  test('an endpoint change re-translates only that service and reuses every other resource object', async () => {
    server = await startInProcess(sampleMesh());
    const cancel = server.spillway.cache.watch(WEST_VIEW, () => undefined);
    const before = server.spillway.cache.snapshot(WEST_VIEW);
    const translatedBefore = server.spillway.rebuildStats().servicesTranslated;
    server.setModel(
      sampleMesh({ checkoutEndpoints: [endpoint('east', 18081, { ready: false }), endpoint('west', 18082)] }),
    );
    await server.spillway.rebuild();
    const after = server.spillway.cache.snapshot(WEST_VIEW);
    // checkout changed; ledger did not: its resources are the very same objects.
    expect(after.get(CLUSTER_TYPE, LEDGER)).toBe(before.get(CLUSTER_TYPE, LEDGER));
    expect(after.get(ENDPOINT_TYPE, LEDGER)).toBe(before.get(ENDPOINT_TYPE, LEDGER));
    expect(after.get(LISTENER_TYPE, 'outbound')).toBe(before.get(LISTENER_TYPE, 'outbound'));
    expect(after.get(ENDPOINT_TYPE, CHECKOUT)?.version).not.toBe(before.get(ENDPOINT_TYPE, CHECKOUT)?.version);
    // The cluster's content is equal, so it is the same encoded object (encode memo).
    expect(after.get(CLUSTER_TYPE, CHECKOUT)).toBe(before.get(CLUSTER_TYPE, CHECKOUT));
    expect(server.spillway.rebuildStats().servicesTranslated - translatedBefore).toBeGreaterThanOrEqual(1);
    // A new service appears in the same pass.
    server.setModel(
      sampleMesh({
        extraServices: [{ service: httpService('extra', 'shop', 7070), endpoints: [endpoint('west', 17070)] }],
      }),
    );
    await server.spillway.rebuild();
    expect(
      server.spillway.cache.snapshot(WEST_VIEW).get(CLUSTER_TYPE, 'outbound|7070||extra.shop.svc.cluster.local'),
    ).toBeDefined();
    cancel();
  });

  test('sidecars that differ only in their listener port share every per-service part and the route table', async () => {
    server = await startInProcess(sampleMesh());
    const a = server.spillway.cache.snapshot(EAST_VIEW);
    const misses = server.spillway.serviceTranslations().translated;
    const b = server.spillway.cache.snapshot(EAST_VIEW_OTHER_PORT);
    expect(server.spillway.serviceTranslations().translated).toBe(misses);
    expect(b.get(CLUSTER_TYPE, CHECKOUT)).toBe(a.get(CLUSTER_TYPE, CHECKOUT));
    expect(b.get(ROUTE_TYPE, 'outbound')).toBe(a.get(ROUTE_TYPE, 'outbound'));
    expect(b.get(LISTENER_TYPE, 'outbound')).not.toBe(a.get(LISTENER_TYPE, 'outbound'));
    // Equal content is one array across views, so responses and differences memoised per array are shared.
    expect(b.wildcardResources(CLUSTER_TYPE)).toBe(a.wildcardResources(CLUSTER_TYPE));
    expect(b.wildcardResources(LISTENER_TYPE)).not.toBe(a.wildcardResources(LISTENER_TYPE));
  });

  test('a cluster identical in two views is encoded once and shared', async () => {
    server = await startInProcess(sampleMesh());
    const east = server.spillway.cache.snapshot(EAST_VIEW);
    const west = server.spillway.cache.snapshot(WEST_VIEW);
    expect(east.get(CLUSTER_TYPE, CHECKOUT)).toBe(west.get(CLUSTER_TYPE, CHECKOUT));
    // Endpoints differ per client cluster (local first), so EDS is not shared.
    expect(east.get(ENDPOINT_TYPE, CHECKOUT)).not.toBe(west.get(ENDPOINT_TYPE, CHECKOUT));
  });
});
