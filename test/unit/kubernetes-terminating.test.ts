// Terminating endpoints (EndpointSlice `ready`, `serving`, `terminating`): Kubernetes' rule, per cluster
// and per subset: serving-and-terminating endpoints are used only when no ready endpoint exists.
import { KubeEndpointSlice, KubeService, readEndpointSlice } from '../../src/discovery/kubernetes/kube-objects';
import { mapClusterObjects } from '../../src/discovery/kubernetes/service-mapper';
import { MeshEndpoint } from '../../src/mesh/model';
import { isRoutable } from '../../src/mesh/rules';

const EAST = { name: 'east', region: 'r1', zone: 'r1-a' };
const SERVICE: KubeService = {
  meta: { name: 'checkout', namespace: 'shop', labels: {}, annotations: {} },
  type: 'ClusterIP',
  ports: [{ name: 'http', port: 80, transport: 'TCP' }],
  loadBalancerIPs: [],
  externalIPs: [],
};

interface Conditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

function slice(endpoints: [string, Conditions, string?][]): KubeEndpointSlice {
  const read = readEndpointSlice({
    metadata: { name: 'checkout-a', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'checkout' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080 }],
    endpoints: endpoints.map(([address, conditions, pod]) => ({
      addresses: [address],
      conditions,
      ...(pod ? { targetRef: { kind: 'Pod', name: pod } } : {}),
    })),
  });
  if (!read.ok) throw new Error(read.errors.join('; '));
  return read.value;
}

/** Addresses that receive traffic. */
function routed(
  endpoints: [string, Conditions, string?][],
  podLabels = new Map<string, Record<string, string>>(),
): string[] {
  const shard = mapClusterObjects(EAST, {
    services: [SERVICE],
    slices: [slice(endpoints)],
    exports: new Set(),
    podLabels,
  });
  const mapped: MeshEndpoint[] = shard.model.services.get('checkout.shop.svc.cluster.local')?.endpoints ?? [];
  return mapped.filter(isRoutable).map((endpoint) => endpoint.address);
}

const READY = { ready: true, serving: true, terminating: false };
const DRAINING = { ready: false, serving: true, terminating: true };
const GONE = { ready: false, serving: false, terminating: true };

describe('terminating endpoints', () => {
  test('serving-terminating endpoints are used only while no endpoint is ready', () => {
    expect(
      routed([
        ['10.0.0.1', DRAINING],
        ['10.0.0.2', DRAINING],
      ]),
    ).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(
      routed([
        ['10.0.0.1', DRAINING],
        ['10.0.0.2', READY],
      ]),
    ).toEqual(['10.0.0.2']);
    expect(
      routed([
        ['10.0.0.1', GONE],
        ['10.0.0.2', DRAINING],
      ]),
    ).toEqual(['10.0.0.2']);
    expect(routed([['10.0.0.1', GONE]])).toEqual([]);
    // Not ready and not terminating (starting, failing its probe) is never used, even as a fallback.
    expect(routed([['10.0.0.1', { ready: false, serving: false, terminating: false }]])).toEqual([]);
  });

  test('an absent serving condition goes by ready (the API rule), so older writers still work', () => {
    expect(routed([['10.0.0.1', { ready: true, terminating: true }]])).toEqual(['10.0.0.1']);
    expect(routed([['10.0.0.1', { ready: false, terminating: true }]])).toEqual([]);
  });

  test('per subset: a draining canary keeps serving the canary while stable has ready endpoints', () => {
    const labels = new Map([
      ['shop/v1', { version: 'v1' }],
      ['shop/v2', { version: 'v2' }],
    ]);
    expect(
      routed(
        [
          ['10.0.0.1', READY, 'v1'],
          ['10.0.0.2', DRAINING, 'v2'],
        ],
        labels,
      ),
    ).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(
      routed(
        [
          ['10.0.0.1', READY, 'v1'],
          ['10.0.0.2', DRAINING, 'v1'],
        ],
        labels,
      ),
    ).toEqual(['10.0.0.1']);
  });
});
