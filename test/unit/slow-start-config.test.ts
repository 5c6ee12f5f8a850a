// slowStartWindowMs in the mesh file: bounded (1 s to 1 h), and it becomes Envoy's slow_start_config on
// every EDS cluster of the service (the sidecars' and the gateways'), encoded by the real protos.
import { parseMeshText } from '../../src/discovery/file/mesh-file';
import { CLUSTER_TYPE } from '../../src/xds/resource-types';
import { translateView } from '../../src/xds/translate/translator';
import { ViewKey } from '../../src/xds/node/view-key';
import { Cluster } from '../../src/xds/resource/envoy-messages';

function mesh(windowMs: number | string): string {
  return `clusters:
  - { name: east, region: r1, zone: z1, gateway: 10.0.0.1:15443 }
  - { name: west, region: r1, zone: z2, gateway: 10.0.0.2:15443 }
services:
  - name: checkout
    namespace: shop
    ports: [{ name: http, port: 8080 }]
    export: true
    slowStartWindowMs: ${windowMs}
    endpoints:
      - { cluster: east, address: 10.1.0.1, port: 8080 }
      - { cluster: west, address: 10.2.0.1, port: 8080 }
`;
}

describe('slow start window', () => {
  test('becomes slow_start_config on the sidecar and gateway EDS clusters', () => {
    const parsed = parseMeshText(mesh(30000));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    for (const view of [
      ViewKey.of({ clusterId: 'east', role: 'sidecar', outboundAddress: '127.0.0.1', outboundPort: 15001 }),
      ViewKey.of({ clusterId: 'west', role: 'gateway', outboundAddress: '10.0.0.2', outboundPort: 0 }),
    ]) {
      const clusters = translateView(parsed.model, view)
        .resources.filter((r) => r.typeUrl === CLUSTER_TYPE)
        .map((r) => r.message as Cluster);
      const eds = clusters.filter((c) => c.type === 'EDS');
      expect(eds.length).toBeGreaterThan(0);
      for (const cluster of eds)
        expect(cluster.round_robin_lb_config).toEqual({ slow_start_config: { slow_start_window: { seconds: 30 } } });
    }
  });

  test('outside 1 s to 1 h, or not a number, the file is rejected at its line', () => {
    for (const bad of [500, 3_600_001, '"soon"']) {
      const parsed = parseMeshText(mesh(bad));
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.errors[0]?.line).toBe(9);
    }
  });
});
