// The priority rules of a sidecar's EDS (DESIGN.md, "EDS for a sidecar in cluster C"), table-driven on
// sidecarLoadAssignment: local first, remote gateways weighted by the ready endpoints they hide, the
// region ladder, no priority gap, not-ready/terminating endpoints left out, one address only once.
import {
  FailoverMode,
  MeshCluster,
  MeshEndpoint,
  MeshModel,
  MeshService,
  ServiceEntry,
  ServicePort,
  serviceHost,
} from '../../src/mesh/model';
import { EndpointSelection, sidecarLoadAssignment } from '../../src/xds/translate/endpoint-builder';
import {
  LoadAssignment as ClusterLoadAssignment,
  LbEndpoint,
  LocalityLbEndpoints,
} from '../../src/xds/translate/endpoint-builder';

const GATEWAY_PORT = 15443;
const SERVICE_PORT = 8080;
const HTTP_PORT: ServicePort = { name: 'http', port: SERVICE_PORT, protocol: 'http' };

function cluster(name: string, region: string, zone: string, gatewayAddress?: string): MeshCluster {
  return {
    name,
    region,
    zone,
    ...(gatewayAddress ? { gateway: { address: gatewayAddress, port: GATEWAY_PORT } } : {}),
  };
}

/** east and west share region r1; south is in r2. */
const THREE_CLUSTERS = [
  cluster('east', 'r1', 'r1-a', '10.1.0.1'),
  cluster('west', 'r1', 'r1-b', '10.2.0.1'),
  cluster('south', 'r2', 'r2-a', '10.3.0.1'),
];

interface EndpointOptions {
  version?: string;
  ready?: boolean;
  terminating?: boolean;
  zone?: string;
}

function endpoint(clusterName: string, address: string, options: EndpointOptions = {}): MeshEndpoint {
  return {
    cluster: clusterName,
    address,
    ports: { [HTTP_PORT.name]: SERVICE_PORT },
    labels: options.version ? { version: options.version } : {},
    ready: options.ready ?? true,
    ...(options.terminating !== undefined ? { terminating: options.terminating } : {}),
    ...(options.zone !== undefined ? { zone: options.zone } : {}),
  };
}

interface Row {
  title: string;
  /** Defaults to THREE_CLUSTERS. */
  clusters?: MeshCluster[];
  client?: string;
  failover?: FailoverMode;
  exported?: boolean;
  endpoints: MeshEndpoint[];
  subset?: string;
  tier?: EndpointSelection['tier'];
  /** One line per locality: `p<priority> <sub_zone>/<zone> w<locality weight>: <address:port*weight> ...`. */
  expected: string[];
}

function assignmentFor(row: Row): ClusterLoadAssignment {
  const service: MeshService = {
    name: 'checkout',
    namespace: 'shop',
    ports: [HTTP_PORT],
    exported: row.exported ?? true,
    subsetLabel: 'version',
    failover: row.failover ?? 'cluster',
  };
  const entry: ServiceEntry = { service, endpoints: row.endpoints };
  const clusters = row.clusters ?? THREE_CLUSTERS;
  const model: MeshModel = {
    clusters: new Map(clusters.map((c) => [c.name, c])),
    services: new Map([[serviceHost(service), entry]]),
  };
  const client = model.clusters.get(row.client ?? 'east');
  if (!client) throw new Error(`no client cluster ${row.client}`);
  const selection: EndpointSelection = { entry, port: HTTP_PORT };
  if (row.subset !== undefined) selection.subset = row.subset;
  if (row.tier !== undefined) selection.tier = row.tier;
  return sidecarLoadAssignment('outbound|8080||checkout.shop.svc.cluster.local', model, client, selection);
}

function addressOf(endpoint: LbEndpoint): string {
  const socket = endpoint.endpoint.address.socket_address;
  return `${socket.address}:${socket.port_value}`;
}

function describeLocality(locality: LocalityLbEndpoints): string {
  const endpoints = locality.lb_endpoints.map((e) => `${addressOf(e)}*${e.load_balancing_weight?.value}`).join(' ');
  return `p${locality.priority} ${locality.locality.sub_zone}/${locality.locality.zone} w${locality.load_balancing_weight.value}: ${endpoints}`;
}

/** What grpc-js-xds requires of every assignment, whatever the row (see DESIGN.md). */
function expectAcceptableToGrpcClients(assignment: ClusterLoadAssignment): void {
  const priorities = [...new Set(assignment.endpoints.map((l) => l.priority))].sort((a, b) => a - b);
  expect(priorities).toEqual(priorities.map((_, index) => index)); // contiguous from 0
  const addresses = assignment.endpoints.flatMap((l) => l.lb_endpoints.map(addressOf));
  expect(new Set(addresses).size).toBe(addresses.length); // no address twice
  for (const locality of assignment.endpoints) {
    expect(locality.lb_endpoints.length).toBeGreaterThan(0);
    // The locality weight steers grpc-js, the endpoint weights steer Envoy: they must agree.
    const endpointWeights = locality.lb_endpoints.reduce((sum, e) => sum + (e.load_balancing_weight?.value ?? 0), 0);
    expect(locality.load_balancing_weight.value).toBe(endpointWeights);
    for (const e of locality.lb_endpoints) expect(e.health_status).toBe('HEALTHY');
  }
}

const ROWS: Row[] = [
  {
    title: 'local endpoints at 0, every remote gateway at 1 weighted by its ready endpoints',
    endpoints: [
      endpoint('east', '10.1.1.1'),
      endpoint('east', '10.1.1.2'),
      endpoint('west', '10.2.1.1'),
      endpoint('west', '10.2.1.2', { ready: false }),
      endpoint('south', '10.3.1.1'),
      endpoint('south', '10.3.1.2'),
      endpoint('south', '10.3.1.3'),
    ],
    expected: [
      'p0 east/r1-a w2: 10.1.1.1:8080*1 10.1.1.2:8080*1',
      'p1 south/r2-a w3: 10.3.0.1:15443*3',
      'p1 west/r1-b w1: 10.2.0.1:15443*1',
    ],
  },
  {
    title: 'no ready local endpoint: the remotes move up to 0 (no gap)',
    endpoints: [
      endpoint('east', '10.1.1.1', { ready: false }),
      endpoint('west', '10.2.1.1'),
      endpoint('south', '10.3.1.1'),
    ],
    expected: ['p0 south/r2-a w1: 10.3.0.1:15443*1', 'p0 west/r1-b w1: 10.2.0.1:15443*1'],
  },
  {
    title: 'region ladder: same-region remotes at 1, other regions at 2',
    failover: 'region',
    endpoints: [
      endpoint('east', '10.1.1.1'),
      endpoint('west', '10.2.1.1'),
      endpoint('south', '10.3.1.1'),
      endpoint('south', '10.3.1.2'),
    ],
    expected: [
      'p0 east/r1-a w1: 10.1.1.1:8080*1',
      'p1 west/r1-b w1: 10.2.0.1:15443*1',
      'p2 south/r2-a w2: 10.3.0.1:15443*2',
    ],
  },
  {
    title: 'region ladder with no same-region remote: the other region takes 1',
    failover: 'region',
    endpoints: [endpoint('east', '10.1.1.1'), endpoint('south', '10.3.1.1')],
    expected: ['p0 east/r1-a w1: 10.1.1.1:8080*1', 'p1 south/r2-a w1: 10.3.0.1:15443*1'],
  },
  {
    title: 'region ladder with nothing local or near: the far region takes 0',
    failover: 'region',
    endpoints: [endpoint('west', '10.2.1.1', { ready: false }), endpoint('south', '10.3.1.1')],
    expected: ['p0 south/r2-a w1: 10.3.0.1:15443*1'],
  },
  {
    title: 'a subset counts only its own ready endpoints behind each gateway',
    subset: 'v2',
    endpoints: [
      endpoint('east', '10.1.1.1', { version: 'v1' }),
      endpoint('west', '10.2.1.1', { version: 'v1' }),
      endpoint('west', '10.2.1.2', { version: 'v1' }),
      endpoint('west', '10.2.1.3', { version: 'v2' }),
      endpoint('south', '10.3.1.1', { version: 'v2' }),
      endpoint('south', '10.3.1.2', { version: 'v2' }),
      endpoint('south', '10.3.1.3', { version: 'v2', ready: false }),
    ],
    expected: ['p0 south/r2-a w2: 10.3.0.1:15443*2', 'p0 west/r1-b w1: 10.2.0.1:15443*1'],
  },
  {
    title: 'not-ready and terminating endpoints are left out, locally and in the gateway weights',
    endpoints: [
      endpoint('east', '10.1.1.1'),
      endpoint('east', '10.1.1.2', { ready: false }),
      endpoint('east', '10.1.1.3', { terminating: true }),
      endpoint('west', '10.2.1.1', { terminating: true }),
      endpoint('south', '10.3.1.1'),
      endpoint('south', '10.3.1.2', { ready: false, terminating: true }),
    ],
    expected: ['p0 east/r1-a w1: 10.1.1.1:8080*1', 'p1 south/r2-a w1: 10.3.0.1:15443*1'],
  },
  {
    title: 'local endpoints in another zone get their own locality',
    endpoints: [
      endpoint('east', '10.1.1.1'),
      endpoint('east', '10.1.1.2', { zone: 'r1-z' }),
      endpoint('east', '10.1.1.3', { zone: 'r1-z' }),
    ],
    expected: ['p0 east/r1-a w1: 10.1.1.1:8080*1', 'p0 east/r1-z w2: 10.1.1.2:8080*1 10.1.1.3:8080*1'],
  },
  {
    title: 'two remote clusters behind one gateway address: one endpoint, weights summed',
    clusters: [
      cluster('east', 'r1', 'r1-a', '10.1.0.1'),
      cluster('west', 'r1', 'r1-b', '10.9.0.1'),
      cluster('north', 'r1', 'r1-c', '10.9.0.1'),
    ],
    endpoints: [
      endpoint('east', '10.1.1.1'),
      endpoint('west', '10.2.1.1'),
      endpoint('west', '10.2.1.2'),
      endpoint('north', '10.4.1.1'),
    ],
    expected: ['p0 east/r1-a w1: 10.1.1.1:8080*1', 'p1 north/r1-c w3: 10.9.0.1:15443*3'],
  },
  {
    title: 'a shared gateway address on two ladder rungs is kept once, on the nearer rung (no gap left)',
    failover: 'region',
    clusters: [
      cluster('east', 'r1', 'r1-a', '10.1.0.1'),
      cluster('west', 'r1', 'r1-b', '10.9.0.1'),
      cluster('south', 'r2', 'r2-a', '10.9.0.1'),
    ],
    endpoints: [
      endpoint('east', '10.1.1.1'),
      endpoint('west', '10.2.1.1'),
      endpoint('south', '10.3.1.1'),
      endpoint('south', '10.3.1.2'),
    ],
    expected: ['p0 east/r1-a w1: 10.1.1.1:8080*1', 'p1 west/r1-b w3: 10.9.0.1:15443*3'],
  },
  {
    title: 'a remote cluster without a gateway cannot take remote traffic',
    clusters: [cluster('east', 'r1', 'r1-a', '10.1.0.1'), cluster('west', 'r1', 'r1-b')],
    endpoints: [endpoint('east', '10.1.1.1'), endpoint('west', '10.2.1.1')],
    expected: ['p0 east/r1-a w1: 10.1.1.1:8080*1'],
  },
  {
    title: 'an unexported service never reaches another cluster',
    exported: false,
    endpoints: [endpoint('east', '10.1.1.1'), endpoint('west', '10.2.1.1')],
    expected: ['p0 east/r1-a w1: 10.1.1.1:8080*1'],
  },
  {
    title: 'local tier (a locality-first child): only the local endpoints',
    tier: 'local',
    endpoints: [endpoint('east', '10.1.1.1'), endpoint('west', '10.2.1.1')],
    expected: ['p0 east/r1-a w1: 10.1.1.1:8080*1'],
  },
  {
    title: 'remote tier (a locality-first child): only the gateways, starting at 0',
    tier: 'remote',
    failover: 'region',
    endpoints: [endpoint('east', '10.1.1.1'), endpoint('west', '10.2.1.1'), endpoint('south', '10.3.1.1')],
    expected: ['p0 west/r1-b w1: 10.2.0.1:15443*1', 'p1 south/r2-a w1: 10.3.0.1:15443*1'],
  },
  {
    title: 'nothing ready anywhere: an empty assignment, not an error',
    endpoints: [endpoint('east', '10.1.1.1', { ready: false }), endpoint('west', '10.2.1.1', { terminating: true })],
    expected: [],
  },
];

describe('sidecarLoadAssignment priorities', () => {
  test.each(ROWS.map((row) => [row.title, row] as const))('%s', (_title, row) => {
    const assignment = assignmentFor(row);
    expect(assignment.endpoints.map(describeLocality)).toEqual(row.expected);
    expectAcceptableToGrpcClients(assignment);
  });
});

describe("Istio's transport socket match metadata", () => {
  const tlsModeOf = (e: LbEndpoint): unknown => e.metadata?.filter_metadata?.['envoy.transport_socket_match'];
  const withIstioWest = [
    cluster('east', 'r1', 'r1-a', '10.1.0.1'),
    { ...cluster('west', 'r1', 'r1-b'), gateway: { address: '10.2.0.1', port: GATEWAY_PORT, kind: 'istio' as const } },
  ];

  test("an Istio east-west gateway's endpoint says tlsMode istio (callers must originate Istio mTLS); a Spillway gateway's does not", () => {
    const assignment = assignmentFor({
      title: '',
      clusters: withIstioWest,
      endpoints: [endpoint('east', '10.1.1.1', { version: 'v1' }), endpoint('west', '10.2.1.1', { version: 'v1' })],
      subset: 'v1',
      expected: [],
    });
    const [local, remote] = assignment.endpoints.map((l) => l.lb_endpoints[0]);
    expect(tlsModeOf(remote)).toEqual({ fields: { tlsMode: { stringValue: 'istio' } } });
    // The subset metadata Spillway's gateways route on stays beside it.
    expect(remote?.metadata?.filter_metadata?.spillway).toEqual({ fields: { subset: { stringValue: 'v1' } } });
    expect(tlsModeOf(local)).toBeUndefined();
    const plain = assignmentFor({ title: '', endpoints: [endpoint('west', '10.2.1.1')], expected: [] });
    expect(tlsModeOf(plain.endpoints[0]?.lb_endpoints[0])).toBeUndefined();
  });

  test('a local endpoint labelled security.istio.io/tlsMode (an injected pod) carries it, as istiod would say', () => {
    const injected: MeshEndpoint = {
      ...endpoint('east', '10.1.1.1'),
      labels: { 'security.istio.io/tlsMode': 'istio' },
    };
    const assignment = assignmentFor({ title: '', endpoints: [injected, endpoint('east', '10.1.1.2')], expected: [] });
    const endpoints = assignment.endpoints[0]?.lb_endpoints ?? [];
    expect(endpoints.map(tlsModeOf)).toEqual([{ fields: { tlsMode: { stringValue: 'istio' } } }, undefined]);
  });
});
