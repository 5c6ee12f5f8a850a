// Merging shards: export is per cluster, so one cluster's ServiceExport never exposes another cluster's
// endpoints; debounced publishing happens once per burst.
import { MeshCluster, MeshModel, ServiceEntry, serviceHost } from '../../src/mesh/model';
import { MeshStore, mergeShards } from '../../src/mesh/store';
import { translateView } from '../../src/xds/translate/translator';
import { ViewKey } from '../../src/xds/node/view-key';
import { ENDPOINT_TYPE } from '../../src/xds/resource-types';
import { endpoint, httpService } from '../harness/sample-mesh';

const EAST: MeshCluster = { name: 'east', region: 'r1', zone: 'r1-a', gateway: { address: '10.1.0.1', port: 15443 } };
const WEST: MeshCluster = { name: 'west', region: 'r1', zone: 'r1-b', gateway: { address: '10.2.0.1', port: 15443 } };

function clusterShard(cluster: MeshCluster, exported: boolean, address: string): MeshModel {
  const entry: ServiceEntry = {
    service: httpService('checkout', 'shop', 8080, { exported }),
    endpoints: [endpoint(cluster.name, 8080, { address })],
  };
  return { clusters: new Map([[cluster.name, cluster]]), services: new Map([[serviceHost(entry.service), entry]]) };
}

function remoteGateways(model: MeshModel, view: ViewKey): string[] {
  const assignment = translateView(model, view).resources.find(
    (r) => r.typeUrl === ENDPOINT_TYPE && r.name === 'outbound|8080||checkout.shop.svc.cluster.local',
  );
  const message = assignment?.message as {
    endpoints: {
      priority: number;
      lb_endpoints: { endpoint: { address: { socket_address: { address: string } } } }[];
    }[];
  };
  return message.endpoints
    .filter((l) => l.priority > 0)
    .flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address.address));
}

describe('mergeShards', () => {
  test('a service exported by east only is reachable from west, and west endpoints stay in west', () => {
    const merged = mergeShards(
      new Map([
        ['kubernetes/east', clusterShard(EAST, true, '10.1.1.1')],
        ['kubernetes/west', clusterShard(WEST, false, '10.2.1.1')],
      ]),
    );
    const checkout = merged.services.get('checkout.shop.svc.cluster.local');
    expect(checkout?.service.exported).toBe(true);
    expect(checkout?.service.exportedFrom).toEqual(['east']);
    expect(checkout?.endpoints).toHaveLength(2);
    expect(
      remoteGateways(
        merged,
        ViewKey.of({ clusterId: 'west', role: 'sidecar', outboundAddress: '127.0.0.1', outboundPort: 15001 }),
      ),
    ).toEqual(['10.1.0.1']);
    expect(
      remoteGateways(
        merged,
        ViewKey.of({ clusterId: 'east', role: 'sidecar', outboundAddress: '127.0.0.1', outboundPort: 15001 }),
      ),
    ).toEqual([]);
    const westGateway = translateView(
      merged,
      ViewKey.of({ clusterId: 'west', role: 'gateway', outboundAddress: '', outboundPort: 0 }),
    ).resources.map((r) => r.name);
    expect(westGateway.some((name) => name.includes('checkout'))).toBe(false);
    const eastGateway = translateView(
      merged,
      ViewKey.of({ clusterId: 'east', role: 'gateway', outboundAddress: '', outboundPort: 0 }),
    ).resources.map((r) => r.name);
    expect(eastGateway).toContain('gateway|8080||checkout.shop.svc.cluster.local');
  });

  test('exported everywhere: no per-cluster list', () => {
    const merged = mergeShards(
      new Map([
        ['a', clusterShard(EAST, true, '10.1.1.1')],
        ['b', clusterShard(WEST, true, '10.2.1.1')],
      ]),
    );
    expect(merged.services.get('checkout.shop.svc.cluster.local')?.service.exportedFrom).toBeUndefined();
  });
});

describe('MeshStore', () => {
  test('a burst of changes is published once, with when it was first seen', async () => {
    const store = new MeshStore({ quietMs: 20, maxDelayMs: 200 });
    const published: number[] = [];
    store.onChange((_model, seenAtMs) => published.push(seenAtMs));
    const before = Date.now();
    for (let i = 0; i < 5; i++) store.setShard('a', clusterShard(EAST, true, `10.1.1.${i + 1}`));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(published).toHaveLength(1);
    expect(published[0]).toBeGreaterThanOrEqual(before);
    store.close();
  });
});
