// A change of endpoints only rebuilds EDS; identical resources are encoded once across views.
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE } from '../../src/xds/resource-types';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const CHECKOUT = 'outbound|8080||checkout.shop.svc.cluster.local';
const EAST_VIEW = 'sidecar|east|127.0.0.1|15001';
const WEST_VIEW = 'sidecar|west|127.0.0.1|15001';

describe('rebuild fast path and shared encoding', () => {
  let server: InProcessSpillway;
  afterEach(async () => server?.stop());

  test('an endpoint change rebuilds only EDS and reuses every other resource object', async () => {
    server = await startInProcess(sampleMesh());
    const cancel = server.spillway.cache.watch(EAST_VIEW, () => undefined);
    server.spillway.rebuild(); // records the model's structure
    const before = server.spillway.cache.snapshot(EAST_VIEW);
    server.setModel(sampleMesh({ checkoutEndpoints: [endpoint('east', 18081, { ready: false }), endpoint('west', 18082)] }));
    const after = server.spillway.cache.snapshot(EAST_VIEW);
    expect(server.spillway.stats.endpointOnlyRebuilds).toBe(1);
    expect(after.get(CLUSTER_TYPE, CHECKOUT)).toBe(before.get(CLUSTER_TYPE, CHECKOUT));
    expect(after.get(LISTENER_TYPE, 'outbound')).toBe(before.get(LISTENER_TYPE, 'outbound'));
    expect(after.get(ENDPOINT_TYPE, CHECKOUT)?.version).not.toBe(before.get(ENDPOINT_TYPE, CHECKOUT)?.version);
    // A new service changes the structure: full rebuild.
    server.setModel(sampleMesh({ extraServices: [{ service: httpService('extra', 'shop', 7070), endpoints: [endpoint('east', 17070)] }] }));
    expect(server.spillway.stats.rebuilds - server.spillway.stats.endpointOnlyRebuilds).toBe(2);
    expect(server.spillway.cache.snapshot(EAST_VIEW).get(CLUSTER_TYPE, 'outbound|7070||extra.shop.svc.cluster.local')).toBeDefined();
    cancel();
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
