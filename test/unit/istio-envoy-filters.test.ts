// The EnvoyFilters of Istio extension mode (src/istio/envoy-filters.ts), rendered from a mesh: which
// services get patches, what each patch does, and that values are proto3 JSON as istiod parses them.
import { parseMeshText } from '../../src/discovery/file/mesh-file';
import { MeshModel } from '../../src/mesh/model';
import { istioEnvoyFilters } from '../../src/istio/envoy-filters';
import { toProtoJson } from '../../src/istio/proto-json';

const MESH = `
clusters:
  - { name: east, region: r1, zone: r1-a, gateway: 127.0.0.2:15443 }
  - { name: west, region: r1, zone: r1-b, gateway: 127.0.0.3:15443 }
services:
  - name: checkout
    namespace: shop
    ports: [{ name: http, port: 8080 }, { name: grpc, port: 9090 }]
    export: true
    canary: { stable: v1, canary: v2, weight: 10, header: { name: x-canary, exact: "true" } }
    endpoints:
      - { cluster: east, address: 10.0.0.1, ports: { http: 8080, grpc: 9090 }, labels: { version: v1 } }
      - { cluster: west, address: 10.1.0.1, ports: { http: 8080, grpc: 9090 }, labels: { version: v2 } }
  - name: ledger
    namespace: shop
    ports: [{ name: http, port: 8080 }]
    endpoints:
      - { cluster: east, address: 10.0.0.2, port: 8080 }
`;

function model(): MeshModel {
  const parsed = parseMeshText(MESH);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.model;
}

const OPTIONS = { xdsHost: 'spillway.spillway-system.svc.cluster.local', xdsPort: 15010, namespace: 'istio-system' };

describe('istioEnvoyFilters', () => {
  test('one EnvoyFilter per exported service, owned by label; unexported services are left to istiod', () => {
    const { filters } = istioEnvoyFilters(model(), OPTIONS);
    expect(filters.map((f) => f.metadata.name)).toEqual(['spillway-checkout-shop']);
    expect(filters[0]?.metadata).toEqual({
      name: 'spillway-checkout-shop',
      namespace: 'istio-system',
      labels: { 'app.kubernetes.io/managed-by': 'spillway' },
      annotations: { 'spillway.io/service': 'checkout.shop.svc.cluster.local' },
    });
  });

  test("MERGE on istiod's clusters of every port and subset, ADD of the canary aggregates, canary routes first", () => {
    const patches = istioEnvoyFilters(model(), OPTIONS).filters[0]?.spec.configPatches ?? [];
    const summary = patches.map(
      (p) =>
        `${p.applyTo} ${p.patch.operation} ${JSON.stringify(p.match.cluster ?? p.match.routeConfiguration ?? {})} ${typeof p.patch.value.name === 'string' ? p.patch.value.name : ''}`,
    );
    expect(summary).toEqual([
      'CLUSTER MERGE {"name":"outbound|8080||checkout.shop.svc.cluster.local"} ',
      'CLUSTER MERGE {"name":"outbound|8080|v1|checkout.shop.svc.cluster.local"} ',
      'CLUSTER MERGE {"name":"outbound|8080|v2|checkout.shop.svc.cluster.local"} ',
      'CLUSTER ADD {} outbound|8080|v2-or-v1|checkout.shop.svc.cluster.local',
      'HTTP_ROUTE INSERT_FIRST {"portNumber":8080,"vhost":{"name":"checkout.shop.svc.cluster.local:8080"}} canary-by-weight',
      'HTTP_ROUTE INSERT_FIRST {"portNumber":8080,"vhost":{"name":"checkout.shop.svc.cluster.local:8080"}} canary-by-header',
      'CLUSTER MERGE {"name":"outbound|9090||checkout.shop.svc.cluster.local"} ',
      'CLUSTER MERGE {"name":"outbound|9090|v1|checkout.shop.svc.cluster.local"} ',
      'CLUSTER MERGE {"name":"outbound|9090|v2|checkout.shop.svc.cluster.local"} ',
      'CLUSTER ADD {} outbound|9090|v2-or-v1|checkout.shop.svc.cluster.local',
      'HTTP_ROUTE INSERT_FIRST {"portNumber":9090,"vhost":{"name":"checkout.shop.svc.cluster.local:9090"}} canary-by-weight',
      'HTTP_ROUTE INSERT_FIRST {"portNumber":9090,"vhost":{"name":"checkout.shop.svc.cluster.local:9090"}} canary-by-header',
    ]);
    const merge = patches[0]?.patch.value ?? {};
    // Only what istiod lacks: the EDS source, outlier detection, the merge window, the subset header.
    expect(Object.keys(merge).sort()).toEqual([
      'common_lb_config',
      'eds_cluster_config',
      'outlier_detection',
      'typed_extension_protocol_options',
    ]);
    expect(merge.eds_cluster_config).toEqual({
      eds_config: {
        api_config_source: {
          api_type: 'GRPC',
          transport_api_version: 'V3',
          grpc_services: [
            {
              google_grpc: {
                target_uri: 'spillway.spillway-system.svc.cluster.local:15010',
                stat_prefix: 'spillway_xds',
              },
            },
          ],
          set_node_on_first_message_only: true,
        },
        initial_fetch_timeout: '15s',
        resource_api_version: 'V3',
      },
    });
  });

  test('rendering is stable (an unchanged mesh changes no object)', () => {
    expect(JSON.stringify(istioEnvoyFilters(model(), OPTIONS))).toBe(
      JSON.stringify(istioEnvoyFilters(model(), OPTIONS)),
    );
  });

  test('notes say what the canary needs from Istio', () => {
    expect(istioEnvoyFilters(model(), OPTIONS).notes).toEqual([
      "checkout.shop.svc.cluster.local: the canary needs a DestinationRule defining subsets v2 and v1 (by label version); Spillway's canary routes go before the routes of any VirtualService for this host",
    ]);
  });
});

describe('toProtoJson', () => {
  test('durations as strings, wrappers as bare values, Any expanded with @type, enums by name', () => {
    const json = toProtoJson('envoy.config.cluster.v3.Cluster', {
      name: 'c',
      type: 'EDS',
      connect_timeout: { seconds: 1, nanos: 500_000_000 },
      common_lb_config: { healthy_panic_threshold: { value: 0 }, update_merge_window: { seconds: 0 } },
      circuit_breakers: { thresholds: [{ max_retries: { value: 7 } }] },
      cluster_type: {
        name: 'envoy.clusters.aggregate',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig',
          clusters: ['a', 'b'],
        },
      },
    });
    expect(json).toEqual({
      name: 'c',
      type: 'EDS',
      connect_timeout: '1.5s',
      common_lb_config: { healthy_panic_threshold: { value: 0 }, update_merge_window: '0s' },
      circuit_breakers: { thresholds: [{ max_retries: 7 }] },
      cluster_type: {
        name: 'envoy.clusters.aggregate',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig',
          clusters: ['a', 'b'],
        },
      },
    });
  });

  test('a field the message does not have is refused, not dropped', () => {
    expect(() => toProtoJson('envoy.config.cluster.v3.Cluster', { name: 'c', outlier_detecton: {} })).toThrow(
      /outlier_detecton/,
    );
  });
});
