// Remote-cluster Secrets, the annotated gateway Service, Node zones and the `remoteSecrets` setting of
// the clusters file. Pure functions, no API server (the e2e test runs them against real ones).
import { parseClustersText } from '../../src/discovery/kubernetes/clusters-file';
import { findGatewayService, parseGatewayAddress } from '../../src/discovery/kubernetes/gateway-service';
import {
  KubeSecret,
  KubeService,
  readEndpointSlice,
  readNodeLabels,
} from '../../src/discovery/kubernetes/kube-objects';
import { readRemoteSecret } from '../../src/discovery/kubernetes/remote-secret';
import { mapClusterObjects } from '../../src/discovery/kubernetes/service-mapper';

const KUBECONFIG = [
  'apiVersion: v1',
  'kind: Config',
  'current-context: west',
  'clusters: [{ name: west, cluster: { server: "https://10.2.0.1:6443", insecure-skip-tls-verify: true } }]',
  'users: [{ name: spillway, user: { token: abc } }]',
  'contexts: [{ name: west, context: { cluster: west, user: spillway } }]',
].join('\n');
const PLACE = { 'spillway.io/region': 'europe-west1', 'spillway.io/zone': 'europe-west1-c' };

function secret(
  labels: Record<string, string>,
  annotations: Record<string, string>,
  data: Record<string, string>,
): KubeSecret {
  return { meta: { name: 'remote-west', namespace: 'spillway-system', labels, annotations }, data };
}

const base64 = (text: string) => Buffer.from(text).toString('base64');

function gatewayService(name: string, fields: Partial<KubeService>, annotated = true): KubeService {
  return {
    meta: {
      name,
      namespace: 'istio-system',
      labels: {},
      annotations: annotated ? { 'spillway.io/gateway': 'true' } : {},
    },
    type: 'LoadBalancer',
    ports: [{ name: 'tls', port: 15443, transport: 'TCP' }],
    loadBalancerIPs: [],
    externalIPs: [],
    ...fields,
  };
}

describe('remote Secrets', () => {
  test('a good Secret is a cluster: name from the label, place and gateway from annotations, access from the kubeconfig', () => {
    const read = readRemoteSecret(
      secret(
        { 'spillway.io/cluster': 'west' },
        { ...PLACE, 'spillway.io/gateway': '10.2.0.9:15443' },
        { kubeconfig: base64(KUBECONFIG) },
      ),
      ['shop'],
    );
    expect(read).toEqual({
      ok: true,
      config: {
        cluster: {
          name: 'west',
          region: 'europe-west1',
          zone: 'europe-west1-c',
          gateway: { address: '10.2.0.9', port: 15443 },
        },
        access: {
          kind: 'kubeconfig-text',
          text: KUBECONFIG,
          origin: 'Secret spillway-system/remote-west (key kubeconfig)',
        },
        namespaces: ['shop'],
      },
    });
  });

  test.each([
    [
      { 'spillway.io/cluster': 'West!' },
      PLACE,
      { kubeconfig: base64(KUBECONFIG) },
      /label spillway.io\/cluster: "West!" is not a cluster name/,
    ],
    [{ 'spillway.io/cluster': 'west' }, PLACE, {}, /has no data key "kubeconfig"/],
    [
      { 'spillway.io/cluster': 'west' },
      { 'spillway.io/region': 'r' },
      { kubeconfig: base64(KUBECONFIG) },
      /needs the annotations spillway.io\/region and spillway.io\/zone/,
    ],
    [
      { 'spillway.io/cluster': 'west' },
      { ...PLACE, 'spillway.io/gateway': 'gw.example:15443' },
      { kubeconfig: base64(KUBECONFIG) },
      /spillway.io\/gateway: "gw.example:15443" is not IP:PORT/,
    ],
    [
      { 'spillway.io/cluster': 'west' },
      PLACE,
      { kubeconfig: base64('clusters: [oops') },
      /cannot read kubeconfig Secret spillway-system\/remote-west/,
    ],
    [
      { 'spillway.io/cluster': 'west' },
      PLACE,
      { kubeconfig: base64('current-context: nowhere\ncontexts: []') },
      /no entry named "nowhere"/,
    ],
  ])('a bad Secret says what to fix (%#)', (labels, annotations, data, message) => {
    const read = readRemoteSecret(secret(labels, annotations, data));
    expect(read.ok).toBe(false);
    if (!read.ok) {
      expect(read.error).toMatch(message);
      expect(read.error).toMatch(
        /^Secret spillway-system\/remote-west: .*; fix the Secret \(it is ignored until then\)$/,
      );
    }
  });
});

describe('the gateway Service', () => {
  test('the load balancer IP, else the first external IP; the port named tls or gateway, else the first', () => {
    expect(
      findGatewayService([gatewayService('gw', { loadBalancerIPs: ['203.0.113.7'], externalIPs: ['198.51.100.1'] })]),
    ).toEqual({ found: { address: '203.0.113.7', port: 15443 }, service: 'istio-system/gw' });
    expect(
      findGatewayService([
        gatewayService('gw', {
          externalIPs: ['198.51.100.1'],
          ports: [
            { name: 'status', port: 15021, transport: 'TCP' },
            { name: 'gateway', port: 15444, transport: 'TCP' },
          ],
        }),
      ]).found,
    ).toEqual({ address: '198.51.100.1', port: 15444 });
    expect(
      findGatewayService([
        gatewayService('gw', {
          externalIPs: ['198.51.100.1'],
          ports: [{ name: 'mtls', port: 15445, transport: 'TCP' }],
        }),
      ]).found,
    ).toEqual({ address: '198.51.100.1', port: 15445 });
  });

  test('not annotated: nothing; annotated without an address: the problem, naming the Service', () => {
    expect(findGatewayService([gatewayService('gw', { loadBalancerIPs: ['203.0.113.7'] }, false)])).toEqual({});
    const lookup = findGatewayService([gatewayService('pending', {})]);
    expect(lookup.found).toBeUndefined();
    expect(lookup.service).toBe('istio-system/pending');
    expect(lookup.problem).toMatch(/no status.loadBalancer.ingress\[0\].ip nor spec.externalIPs/);
  });

  test('the mapping uses it only when the config gives no gateway', () => {
    const services = [gatewayService('gw', { loadBalancerIPs: ['203.0.113.7'] })];
    const objects = { services, slices: [], exports: new Set<string>(), podLabels: new Map() };
    expect(
      mapClusterObjects({ name: 'west', region: 'r', zone: 'z' }, objects).model.clusters.get('west')?.gateway,
    ).toEqual({ address: '203.0.113.7', port: 15443 });
    expect(
      mapClusterObjects(
        { name: 'west', region: 'r', zone: 'z', gateway: { address: '10.0.0.1', port: 1 } },
        objects,
      ).model.clusters.get('west')?.gateway,
    ).toEqual({ address: '10.0.0.1', port: 1 });
  });

  test('gateway addresses', () => {
    expect(parseGatewayAddress('[fd00::2]:15443')).toEqual({ address: 'fd00::2', port: 15443 });
    expect(parseGatewayAddress('10.0.0.2:0')).toMatch(/port must be in 1..65535/);
  });
});

describe('Node zones', () => {
  test("an endpoint without a zone takes its Node's; its own zone wins", () => {
    const node = readNodeLabels({ metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z-node' } } });
    expect(node).toEqual({
      ok: true,
      value: {
        meta: { name: 'n1', namespace: '', labels: { 'topology.kubernetes.io/zone': 'z-node' }, annotations: {} },
      },
    });
    const slice = readEndpointSlice({
      metadata: { name: 's', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'api' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [
        { addresses: ['10.0.0.1'], nodeName: 'n1' },
        { addresses: ['10.0.0.2'], nodeName: 'n1', zone: 'z-own' },
        { addresses: ['10.0.0.3'], nodeName: 'unknown' },
      ],
    });
    if (!slice.ok) throw new Error(slice.errors.join('; '));
    const service: KubeService = {
      meta: { name: 'api', namespace: 'shop', labels: {}, annotations: {} },
      type: 'ClusterIP',
      ports: [{ name: 'http', port: 80, transport: 'TCP' }],
      loadBalancerIPs: [],
      externalIPs: [],
    };
    const mapped = mapClusterObjects(
      { name: 'east', region: 'r', zone: 'z' },
      {
        services: [service],
        slices: [slice.value],
        exports: new Set(),
        podLabels: new Map(),
        nodeZones: new Map([['n1', 'z-node']]),
      },
    );
    expect(
      mapped.model.services
        .get('api.shop.svc.cluster.local')
        ?.endpoints.map((endpoint) => [endpoint.address, endpoint.zone]),
    ).toEqual([
      ['10.0.0.1', 'z-node'],
      ['10.0.0.2', 'z-own'],
      ['10.0.0.3', undefined],
    ]);
  });
});

describe('the clusters file: remoteSecrets', () => {
  const CLUSTERS = 'clusters:\n  - { name: home, region: r, zone: z, inCluster: true }\n';
  test('names a listed cluster and a namespace', () => {
    const parsed = parseClustersText(`remoteSecrets: { cluster: home, namespace: spillway-system }\n${CLUSTERS}`, '/');
    expect(parsed.ok && parsed.remoteSecrets).toEqual({ cluster: 'home', namespace: 'spillway-system' });
  });

  test('an unknown cluster or key is an error with its line', () => {
    const parsed = parseClustersText(
      `${CLUSTERS}remoteSecrets:\n  cluster: elsewhere\n  namespace: spillway-system\n  label: x\n`,
      '/',
    );
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            path: 'remoteSecrets.cluster',
            line: 4,
            message: expect.stringMatching(/"elsewhere" is not a cluster of this file \(home\)/),
          }),
          expect.objectContaining({
            path: 'remoteSecrets.label',
            message: expect.stringMatching(/unknown key "label"/),
          }),
        ]),
      );
    }
  });
});
