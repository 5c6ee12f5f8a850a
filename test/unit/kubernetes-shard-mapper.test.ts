// The incremental shard mapper gives what a full mapping gives, re-mapping only the Services whose
// objects changed (compared by reference, as reflectors replace changed objects and keep the others).
import { KubeEndpointSlice, KubeService } from '../../src/discovery/kubernetes/kube-objects';
import { ServiceSettings } from '../../src/discovery/kubernetes/service-annotations';
import { ClusterObjects, mapClusterObjects } from '../../src/discovery/kubernetes/service-mapper';
import { IncrementalShardMapper } from '../../src/discovery/kubernetes/shard-mapper';

const EAST = { name: 'east', region: 'r1', zone: 'r1-a' };
const COUNT = 50;

function service(i: number, annotations: Record<string, string> = {}): KubeService {
  return {
    meta: { name: `svc-${i}`, namespace: 'shop', labels: {}, annotations },
    type: 'ClusterIP',
    ports: [{ name: 'http', port: 80, transport: 'TCP' }],
    loadBalancerIPs: [],
    externalIPs: [],
  };
}

function slice(i: number, ready = true): KubeEndpointSlice {
  return {
    meta: { name: `svc-${i}-a`, namespace: 'shop', labels: {}, annotations: {} },
    serviceName: `svc-${i}`,
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, transport: 'TCP' }],
    endpoints: [{ address: `10.0.0.${i}`, ready, terminating: false, podName: `pod-${i}`, nodeName: 'n1' }],
  };
}

describe('incremental shard mapping', () => {
  const services = Array.from({ length: COUNT }, (_, i) => service(i));
  const slices = Array.from({ length: COUNT }, (_, i) => slice(i));
  const podLabels = new Map(
    Array.from({ length: COUNT }, (_, i) => [`shop/pod-${i}`, { version: 'v1' }] as [string, Record<string, string>]),
  );
  const objects = (): ClusterObjects => ({
    services,
    slices,
    exports: new Set(),
    podLabels,
    nodeZones: new Map([['n1', 'r1-b']]),
  });
  const mapper = new IncrementalShardMapper();
  let lastGood: ReadonlyMap<string, ServiceSettings> = new Map();
  let fullLastGood: ReadonlyMap<string, ServiceSettings> = new Map();

  /** Maps both ways and checks they agree. */
  function both(): ReturnType<IncrementalShardMapper['map']> {
    const incremental = mapper.map(EAST, objects(), lastGood);
    const full = mapClusterObjects(EAST, objects(), fullLastGood);
    lastGood = incremental.settings;
    fullLastGood = full.settings;
    expect(incremental.model).toEqual(full.model);
    expect(incremental.issues).toEqual(full.issues);
    expect(incremental.settings).toEqual(full.settings);
    return incremental;
  }

  test('the first mapping maps everything; the same objects again map nothing and change nothing', () => {
    expect(both()).toMatchObject({ changed: true });
    expect(mapper.remapped).toBe(COUNT);
    expect(both().changed).toBe(false);
    expect(mapper.remapped).toBe(0);
  });

  test('one EndpointSlice replaced: one Service re-mapped; an equal replacement changes nothing', () => {
    const before = mapper.map(EAST, objects(), lastGood).model.services.get('svc-3.shop.svc.cluster.local');
    slices[3] = slice(3, false);
    expect(both().changed).toBe(true);
    expect(mapper.remapped).toBe(1);
    slices[3] = slice(3, false);
    const same = both();
    expect(same.changed).toBe(false);
    expect(mapper.remapped).toBe(1);
    expect(same.model.services.get('svc-3.shop.svc.cluster.local')).not.toBe(before);
    expect(same.model.services.get('svc-4.shop.svc.cluster.local')).toBe(
      mapper.map(EAST, objects(), lastGood).model.services.get('svc-4.shop.svc.cluster.local'),
    );
  });

  test('a Pod relabelled, a Service annotated wrongly (last good kept), a Service removed and one added', () => {
    podLabels.set('shop/pod-7', { version: 'v2' });
    expect(both().changed).toBe(true);
    expect(mapper.remapped).toBe(1);
    services[8] = service(8, { 'spillway.io/failover': 'region' });
    both();
    services[8] = service(8, { 'spillway.io/failover': 'nowhere' });
    const wrong = both();
    expect(wrong.issues).toHaveLength(1);
    expect(wrong.model.services.get('svc-8.shop.svc.cluster.local')?.service.failover).toBe('region');
    expect(both().changed).toBe(false);
    services.splice(9, 1);
    expect(both().changed).toBe(true);
    services.push(service(99));
    expect(both().changed).toBe(true);
    expect(mapper.remapped).toBe(1);
  });

  test('with podsVersion, Pod labels are looked at only when the version moved', () => {
    const versioned = new IncrementalShardMapper();
    const labels = new Map([['shop/pod-1', { version: 'v1' }]]);
    const objects = { services: [service(1)], slices: [slice(1)], exports: new Set<string>(), podLabels: labels };
    const inputs = (podsVersion: number) => ({ ...objects, podsVersion });
    const first = versioned.map(EAST, inputs(1), new Map());
    labels.set('shop/pod-1', { version: 'v2' });
    const same = versioned.map(EAST, inputs(1), first.settings);
    expect(versioned.remapped).toBe(0); // the caller said no Pod changed
    const moved = versioned.map(EAST, inputs(2), same.settings);
    expect(versioned.remapped).toBe(1);
    expect(moved.model.services.get('svc-1.shop.svc.cluster.local')?.endpoints[0]?.labels).toEqual({ version: 'v2' });
  });

  test('a Node zone change re-maps everything (any endpoint may sit on that Node)', () => {
    const changed = mapper.map(EAST, { ...objects(), nodeZones: new Map([['n1', 'r1-c']]) }, lastGood);
    expect(mapper.remapped).toBe(services.length);
    expect(changed.changed).toBe(true);
  });
});
