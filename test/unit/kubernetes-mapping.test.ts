// Kubernetes objects -> one cluster's mesh shard: object checks, port protocols, endpoints, export and
// the spillway.io annotations (with last-good fallback). Pure functions, no API server.
import {
  KubeEndpointSlice,
  KubeService,
  readEndpointSlice,
  readService,
} from '../../src/discovery/kubernetes/kube-objects';
import { protocolOf } from '../../src/discovery/kubernetes/port-protocol';
import { readServiceSettings } from '../../src/discovery/kubernetes/service-annotations';
import { ClusterObjects, mapClusterObjects } from '../../src/discovery/kubernetes/service-mapper';
import { MeshCluster, ServiceEntry } from '../../src/mesh/model';

const EAST: MeshCluster = { name: 'east', region: 'r1', zone: 'r1-a' };

function service(
  name: string,
  ports: KubeService['ports'],
  annotations: Record<string, string> = {},
  type = 'ClusterIP',
): KubeService {
  return {
    meta: { name, namespace: 'shop', labels: {}, annotations },
    type,
    ports,
    loadBalancerIPs: [],
    externalIPs: [],
  };
}

function slice(
  name: string,
  serviceName: string,
  ports: KubeEndpointSlice['ports'],
  endpoints: KubeEndpointSlice['endpoints'],
  addressType = 'IPv4',
): KubeEndpointSlice {
  return { meta: { name, namespace: 'shop', labels: {}, annotations: {} }, serviceName, addressType, ports, endpoints };
}

function objects(partial: Partial<ClusterObjects>): ClusterObjects {
  return { services: [], slices: [], exports: new Set(), podLabels: new Map(), ...partial };
}

function entryOf(shard: ReturnType<typeof mapClusterObjects>, name: string): ServiceEntry {
  const entry = shard.model.services.get(`${name}.shop.svc.cluster.local`);
  if (!entry) throw new Error(`no service ${name}`);
  return entry;
}

const HTTP = { name: 'http', port: 80, transport: 'TCP' };

describe('object readers', () => {
  test('a Service: defaults and every malformed field with its path', () => {
    const ok = readService({ metadata: { name: 'a', namespace: 'shop' }, spec: { ports: [{ port: 80 }] } });
    expect(ok).toEqual({
      ok: true,
      value: {
        meta: { name: 'a', namespace: 'shop', labels: {}, annotations: {} },
        type: 'ClusterIP',
        ports: [{ name: '', port: 80, transport: 'TCP' }],
        loadBalancerIPs: [],
        externalIPs: [],
      },
    });
    const bad = readService({
      metadata: { name: 'a', annotations: { x: 1 } },
      spec: { ports: [{ port: 'eighty' }, { port: 70000 }] },
    });
    expect(bad).toEqual({
      ok: false,
      errors: [
        'metadata.namespace: must be a non-empty string, got nothing',
        'metadata.annotations["x"]: must be a string, got 1 (a number)',
        'spec.ports[0].port: must be a whole number, got "eighty"',
        'spec.ports[1].port: 70000 is out of range 1..65535',
      ],
    });
  });

  test('an EndpointSlice: conditions default as the API says, zone falls back to the topology label', () => {
    const read = readEndpointSlice({
      metadata: { name: 's', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'a' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'all' }],
      endpoints: [
        {
          addresses: ['10.0.0.1'],
          deprecatedTopology: { 'topology.kubernetes.io/zone': 'z1' },
          targetRef: { kind: 'Pod', name: 'p' },
        },
        { addresses: ['10.0.0.2'], conditions: { ready: false, terminating: true }, zone: 'z2' },
      ],
    });
    expect(read).toEqual({
      ok: true,
      value: {
        meta: { name: 's', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'a' }, annotations: {} },
        serviceName: 'a',
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, transport: 'TCP' }],
        endpoints: [
          { address: '10.0.0.1', ready: true, terminating: false, zone: 'z1', podName: 'p' },
          { address: '10.0.0.2', ready: false, terminating: true, zone: 'z2' },
        ],
      },
    });
    const bad = readEndpointSlice({
      metadata: { name: 's', namespace: 'shop' },
      addressType: 'IPv4',
      endpoints: [{ addresses: [], conditions: { ready: 'yes' } }],
    });
    expect(bad).toEqual({
      ok: false,
      errors: [
        'endpoints[0].addresses[0]: must be a non-empty string, got nothing',
        'endpoints[0].conditions.ready: must be true or false, got "yes"',
        'metadata.labels["kubernetes.io/service-name"]: is missing: the slice names no Service',
      ],
    });
  });
});

describe('port protocols', () => {
  test.each([
    [{ name: 'http', port: 80, transport: 'TCP' }, { protocol: 'http' }],
    [{ name: 'http2-web', port: 80, transport: 'TCP' }, { protocol: 'http2' }],
    [{ name: 'grpc-api', port: 80, transport: 'TCP' }, { protocol: 'grpc' }],
    [{ name: 'grpc-web', port: 80, transport: 'TCP' }, { protocol: 'http' }],
    [{ name: 'api', port: 80, transport: 'TCP', appProtocol: 'grpc' }, { protocol: 'grpc' }],
    [{ name: 'grpc', port: 80, transport: 'TCP', appProtocol: 'kubernetes.io/h2c' }, { protocol: 'http2' }],
    [{ name: '', port: 80, transport: 'TCP' }, { protocol: 'http' }],
    [{ name: 'metrics', port: 80, transport: 'TCP' }, { protocol: 'http' }],
    [{ name: 'https', port: 443, transport: 'TCP' }, { skip: 'port name https' }],
    [{ name: 'tcp-db', port: 5432, transport: 'TCP' }, { skip: 'port name tcp-db' }],
    [{ name: 'web', port: 443, transport: 'TCP', appProtocol: 'https' }, { skip: 'appProtocol https' }],
    [{ name: 'dns', port: 53, transport: 'UDP' }, { skip: 'transport UDP' }],
  ])('%j -> %j', (port, decision) => {
    expect(protocolOf(port)).toEqual(decision);
  });
});

describe('mapping a cluster', () => {
  test('ports, endpoints per slice port name, pod labels as subsets; only routable services appear', () => {
    const shard = mapClusterObjects(
      EAST,
      objects({
        services: [
          service('checkout', [
            HTTP,
            { name: 'grpc', port: 9090, transport: 'TCP' },
            { name: 'dns', port: 53, transport: 'UDP' },
          ]),
          service('single', [{ name: '', port: 8080, transport: 'TCP' }]),
          service('alias', [HTTP], {}, 'ExternalName'),
          service('secure', [{ name: 'https', port: 443, transport: 'TCP' }]),
        ],
        slices: [
          slice(
            'checkout-1',
            'checkout',
            [
              { name: 'http', port: 8080, transport: 'TCP' },
              { name: 'grpc', port: 9091, transport: 'TCP' },
            ],
            [
              { address: '10.0.0.2', ready: true, terminating: false, zone: 'z1', podName: 'checkout-v1' },
              { address: '10.0.0.1', ready: false, terminating: true },
            ],
          ),
          // A rollout hand-over lists 10.0.0.2 twice: it stays one endpoint, ready.
          slice(
            'checkout-2',
            'checkout',
            [{ name: 'http', port: 8080, transport: 'TCP' }],
            [{ address: '10.0.0.2', ready: false, terminating: false }],
          ),
          slice(
            'checkout-fqdn',
            'checkout',
            [{ name: 'http', port: 8080, transport: 'TCP' }],
            [{ address: 'a.example', ready: true, terminating: false }],
            'FQDN',
          ),
          slice(
            'single-1',
            'single',
            [{ name: '', port: 18080, transport: 'TCP' }],
            [{ address: 'fd00::1', ready: true, terminating: false }],
            'IPv6',
          ),
        ],
        podLabels: new Map([['shop/checkout-v1', { app: 'checkout', version: 'v1' }]]),
      }),
    );
    expect([...shard.model.services.keys()].sort()).toEqual([
      'checkout.shop.svc.cluster.local',
      'single.shop.svc.cluster.local',
    ]);
    expect(shard.model.clusters).toEqual(new Map([['east', EAST]]));
    const checkout = entryOf(shard, 'checkout');
    expect(checkout.service).toEqual({
      name: 'checkout',
      namespace: 'shop',
      ports: [
        { name: 'http', port: 80, protocol: 'http' },
        { name: 'grpc', port: 9090, protocol: 'grpc' },
      ],
      exported: false,
      subsetLabel: 'version',
      failover: 'cluster',
    });
    expect(checkout.endpoints).toEqual([
      {
        cluster: 'east',
        address: '10.0.0.1',
        ports: { http: 8080, grpc: 9091 },
        labels: {},
        ready: false,
        terminating: true,
      },
      {
        cluster: 'east',
        address: '10.0.0.2',
        ports: { http: 8080, grpc: 9091 },
        labels: { app: 'checkout', version: 'v1' },
        ready: true,
        zone: 'z1',
      },
    ]);
    const single = entryOf(shard, 'single');
    expect(single.service.ports).toEqual([{ name: 'port-8080', port: 8080, protocol: 'http' }]);
    expect(single.endpoints).toEqual([
      { cluster: 'east', address: 'fd00::1', ports: { 'port-8080': 18080 }, labels: {}, ready: true },
    ]);
    expect(shard.issues).toEqual([]);
  });

  test('mTLS: spillway.io/mtls marks the service, every endpoint gets the sidecar port (default 15006)', () => {
    const endpoints = [{ address: '10.0.0.7', ready: true, terminating: false }];
    const shard = mapClusterObjects(
      EAST,
      objects({
        services: [
          service('secure', [HTTP], { 'spillway.io/mtls': 'true' }),
          service('custom', [HTTP], { 'spillway.io/mtls': 'true', 'spillway.io/sidecar-port': '15106' }),
          service('plain', [HTTP]),
        ],
        slices: [
          slice('secure-1', 'secure', [{ name: 'http', port: 8080, transport: 'TCP' }], endpoints),
          slice('custom-1', 'custom', [{ name: 'http', port: 8080, transport: 'TCP' }], endpoints),
          slice('plain-1', 'plain', [{ name: 'http', port: 8080, transport: 'TCP' }], endpoints),
        ],
      }),
    );
    expect(entryOf(shard, 'secure').service.mtls).toBe(true);
    expect(entryOf(shard, 'secure').endpoints).toEqual([
      { cluster: 'east', address: '10.0.0.7', ports: { http: 8080 }, labels: {}, ready: true, sidecarPort: 15006 },
    ]);
    expect(entryOf(shard, 'custom').endpoints[0]?.sidecarPort).toBe(15106);
    expect(entryOf(shard, 'plain').service.mtls).toBeUndefined();
    expect(entryOf(shard, 'plain').endpoints[0]?.sidecarPort).toBeUndefined();
  });

  test('export: a ServiceExport or the annotation; anything else stays local', () => {
    const shard = mapClusterObjects(
      EAST,
      objects({
        services: [
          service('by-export', [HTTP]),
          service('by-annotation', [HTTP], { 'spillway.io/export': 'true' }),
          service('local', [HTTP], { 'spillway.io/export': 'false' }),
        ],
        exports: new Set(['shop/by-export']),
      }),
    );
    expect(entryOf(shard, 'by-export').service.exported).toBe(true);
    expect(entryOf(shard, 'by-annotation').service.exported).toBe(true);
    expect(entryOf(shard, 'local').service.exported).toBe(false);
  });

  test('a wrong annotation keeps the last good settings; without any, its default is used', () => {
    const good = {
      'spillway.io/subset-label': 'track',
      'spillway.io/canary-subset': 'v2',
      'spillway.io/stable-subset': 'v1',
      'spillway.io/canary-weight': '20',
    };
    const first = mapClusterObjects(EAST, objects({ services: [service('a', [HTTP], good)] }));
    expect(entryOf(first, 'a').service).toMatchObject({
      subsetLabel: 'track',
      canary: { canary: 'v2', stable: 'v1', weight: 20, order: 'version-first' },
    });

    const broken = { ...good, 'spillway.io/subset-label': 'not a label!' };
    const second = mapClusterObjects(
      EAST,
      objects({ services: [service('a', [HTTP], broken), service('b', [HTTP], broken)] }),
      first.settings,
    );
    expect(entryOf(second, 'a').service.subsetLabel).toBe('track');
    expect(entryOf(second, 'b').service.subsetLabel).toBe('version');
    expect(second.issues).toEqual([
      {
        object: 'shop/a',
        message:
          'spillway.io/subset-label: "not a label!" is not a label key (like version or app.kubernetes.io/version); keeping its last good settings until it is fixed',
      },
      {
        object: 'shop/b',
        message:
          'spillway.io/subset-label: "not a label!" is not a label key (like version or app.kubernetes.io/version); using defaults for the wrong annotations until it is fixed',
      },
    ]);
    // Still broken: `a` keeps the settings from before it broke, not the fallback of the broken read.
    const third = mapClusterObjects(EAST, objects({ services: [service('a', [HTTP], broken)] }), second.settings);
    expect(entryOf(third, 'a').service.subsetLabel).toBe('track');
  });
});

describe('spillway.io annotations', () => {
  test('canary with header and order; failover', () => {
    expect(
      readServiceSettings({
        'spillway.io/canary-subset': 'v2',
        'spillway.io/stable-subset': 'v1',
        'spillway.io/canary-header': 'X-Canary=always',
        'spillway.io/canary-order': 'locality-first',
        'spillway.io/failover': 'region',
      }),
    ).toEqual({
      settings: {
        exportAnnotation: false,
        subsetLabel: 'version',
        failover: 'region',
        canary: {
          canary: 'v2',
          stable: 'v1',
          weight: 0,
          order: 'locality-first',
          header: { name: 'x-canary', exact: 'always' },
        },
      },
      errors: [],
    });
  });

  test('every wrong value is named with the form it needs', () => {
    const { settings, errors } = readServiceSettings({
      'spillway.io/export': 'yes',
      'spillway.io/failover': 'planet',
      'spillway.io/canary-subset': 'v1',
      'spillway.io/stable-subset': 'v1',
      'spillway.io/exprot': 'true',
    });
    expect(settings).toEqual({ exportAnnotation: false, subsetLabel: 'version', failover: 'cluster' });
    expect(errors).toEqual([
      expect.stringMatching(/^spillway\.io\/exprot: unknown annotation \(known: spillway\.io\/export, /),
      'spillway.io/export: "yes" must be "true" or "false"',
      'spillway.io/failover: "planet" is not one of cluster, region',
      'spillway.io/canary-subset: "v1" must differ from the stable subset',
    ]);
    expect(readServiceSettings({ 'spillway.io/mtls': 'on', 'spillway.io/sidecar-port': '1' }).errors).toEqual([
      'spillway.io/mtls: "on" must be "true" or "false"',
    ]);
    expect(readServiceSettings({ 'spillway.io/sidecar-port': '15006' }).errors).toEqual([
      'spillway.io/sidecar-port: "15006" needs spillway.io/mtls: "true"',
    ]);
    expect(readServiceSettings({ 'spillway.io/mtls': 'true', 'spillway.io/sidecar-port': '70000' }).errors).toEqual([
      'spillway.io/sidecar-port: "70000" must be a port number (1-65535)',
    ]);
    expect(readServiceSettings({ 'spillway.io/canary-weight': '10' }).errors).toEqual([
      'spillway.io/canary-weight: "10" needs spillway.io/canary-subset and spillway.io/stable-subset too',
    ]);
    expect(
      readServiceSettings({
        'spillway.io/canary-subset': 'v2',
        'spillway.io/stable-subset': 'v1',
        'spillway.io/canary-weight': '101',
        'spillway.io/canary-header': 'x',
      }).errors,
    ).toEqual([
      'spillway.io/canary-weight: "101" must be a whole number of percent in 0..100',
      'spillway.io/canary-header: "x" must be NAME=VALUE, e.g. x-canary=always',
    ]);
  });
});
