// Scoped sidecar views: who a sidecar is (node metadata), what its workload declares it calls (mesh file
// `calls:`, bounded, unknown hosts reported at their line), and what its view then holds; the on-demand
// twin of a view keeps clusters out of the wildcard set and serves a service's clusters together.
import { parseMeshText } from '../../src/discovery/file/mesh-file';
import { MAX_CALLS, MAX_CALLS_BYTES, callHost, parseCallList } from '../../src/mesh/calls';
import { MeshModel, serviceHost } from '../../src/mesh/model';
import { Snapshot } from '../../src/xds/cache/snapshot';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/xds/resource-types';
import { StreamMode } from '../../src/xds/node/stream-kind';
import { NodeInfo } from '../../src/xds/node/node-info';
import { ScopeMode, resolveClientView } from '../../src/xds/translate/client-view';
import { ViewKey } from '../../src/xds/node/view-key';
import { ServiceParts } from '../../src/xds/translate/service-parts';
import { translateView } from '../../src/xds/translate/translator';
import { workloadHost } from '../../src/xds/translate/workload-identity';
import { readServiceSettings } from '../../src/discovery/kubernetes/service-annotations';
import { mergeShards } from '../../src/mesh/store';
import { SIDECAR_OUTBOUND_LISTENER, SIDECAR_OUTBOUND_ROUTE } from '../../src/xds/translate/names';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const CHECKOUT = 'checkout.shop.svc.cluster.local';
const WEB = 'web.shop.svc.cluster.local';

function node(metadata: Record<string, unknown>, userAgentName = 'envoy'): NodeInfo {
  return {
    id: 'sidecar~10.0.0.1~web-1.shop',
    cluster: '',
    metadata: { CLUSTER_ID: 'east', ...metadata },
    userAgentName,
    userAgentVersion: '1.40.0',
  };
}

/** The sample mesh (checkout exported, ledger only in west) plus payments, and web calling `calls`. */
function meshWithCalls(calls: string[] | undefined): MeshModel {
  return sampleMesh({
    extraServices: [
      { service: httpService('payments', 'billing', 9090), endpoints: [endpoint('east', 19090)] },
      { service: httpService('web', 'shop', 8081, calls ? { calls } : {}), endpoints: [endpoint('east', 18088)] },
    ],
  });
}

function viewOf(
  model: MeshModel,
  metadata: Record<string, unknown>,
  mode: StreamMode = 'sotw',
  scope: ScopeMode = 'all',
  userAgent = 'envoy',
  ads = true,
): ViewKey {
  const resolved = resolveClientView(node(metadata, userAgent), model, { mode, ads }, { scope });
  if (!resolved.ok) throw new Error(resolved.message);
  return resolved.view;
}

function servicesOfClusters(snapshot: Snapshot): string[] {
  return [...new Set([...snapshot.resources(CLUSTER_TYPE).keys()].map((name) => name.split('|')[3]))].sort();
}

describe('workload identity from node metadata', () => {
  it('reads SERVICE (short or full host), else Istio NAMESPACE + LABELS.app / app.kubernetes.io/name', () => {
    expect(workloadHost(node({ SERVICE: 'web.shop' }))).toBe(WEB);
    expect(workloadHost(node({ SERVICE: WEB }))).toBe(WEB);
    expect(workloadHost(node({ NAMESPACE: 'shop', LABELS: { app: 'web' } }))).toBe(WEB);
    expect(workloadHost(node({ NAMESPACE: 'shop', LABELS: { 'app.kubernetes.io/name': 'web' } }))).toBe(WEB);
    // SERVICE wins over Istio's keys; app wins over app.kubernetes.io/name (Istio's own order).
    expect(workloadHost(node({ SERVICE: 'web.shop', NAMESPACE: 'other', LABELS: { app: 'x' } }))).toBe(WEB);
    expect(workloadHost(node({ NAMESPACE: 'shop', LABELS: { app: 'web', 'app.kubernetes.io/name': 'other' } }))).toBe(
      WEB,
    );
  });

  it('is unknown when nothing names it, or what names it is no service host', () => {
    expect(workloadHost(node({}))).toBeUndefined();
    expect(workloadHost(node({ NAMESPACE: 'shop' }))).toBeUndefined();
    expect(workloadHost(node({ LABELS: { app: 'web' } }))).toBeUndefined();
    expect(workloadHost(node({ SERVICE: 'web' }))).toBeUndefined();
    expect(workloadHost(node({ SERVICE: 'Web.Shop' }))).toBeUndefined();
    expect(workloadHost(node({ NAMESPACE: 'shop', LABELS: { app: 'a|b' } }))).toBeUndefined();
  });
});

describe('calls: host forms and bounds', () => {
  it('accepts name.namespace, name.namespace.svc and the full name', () => {
    expect(callHost('ledger.shop')).toBe('ledger.shop.svc.cluster.local');
    expect(callHost('ledger.shop.svc')).toBe('ledger.shop.svc.cluster.local');
    expect(callHost('ledger.shop.svc.cluster.local')).toBe('ledger.shop.svc.cluster.local');
    expect(callHost('ledger')).toBeUndefined();
    expect(callHost('ledger.shop.example.com')).toBeUndefined();
  });

  it('an annotation list is split on commas, sorted, deduplicated and bounded in count and bytes', () => {
    expect(parseCallList(' payments.billing, ledger.shop ,ledger.shop ')).toEqual({
      hosts: ['ledger.shop.svc.cluster.local', 'payments.billing.svc.cluster.local'],
      errors: [],
    });
    expect(parseCallList('')).toEqual({ hosts: [], errors: [] });
    expect(parseCallList('ledger').errors).toEqual([
      '"ledger" is not a service host (`name.namespace` or `name.namespace.svc.cluster.local`)',
    ]);
    const many = Array.from({ length: MAX_CALLS + 1 }, (_, i) => `s${i}.ns`).join(',');
    expect(parseCallList(many).errors).toEqual([
      `names ${MAX_CALLS + 1} services, more than the ${MAX_CALLS} a calls list may name`,
    ]);
    const long = 'a'.repeat(MAX_CALLS_BYTES + 1);
    expect(parseCallList(long).errors).toEqual([
      `is ${MAX_CALLS_BYTES + 1} bytes, more than the ${MAX_CALLS_BYTES} a calls list may have`,
    ]);
  });
});

describe('mesh file calls:', () => {
  const file = (calls: string): string => `clusters:
  - { name: east, region: r, zone: z }
services:
  - name: checkout
    namespace: shop
    ports: [{ name: http, port: 8080 }]
  - name: web
    namespace: shop
    ports: [{ name: http, port: 8081 }]
    calls:
${calls}
`;

  it('reads the hosts into the service, full names, sorted', () => {
    const result = parseMeshText(file('      - checkout.shop\n      - web.shop.svc.cluster.local'));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.model.services.get(WEB)?.service.calls).toEqual([CHECKOUT, WEB]);
    expect(result.model.services.get(CHECKOUT)?.service.calls).toBeUndefined();
  });

  it('reports an unknown service and a malformed host at their own path and line', () => {
    const result = parseMeshText(file('      - checkout.shop\n      - ledgr.shop\n      - ledger'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      {
        path: 'services[1].calls[1]',
        line: 12,
        message: 'calls unknown service ledgr.shop (no service of this file has that name and namespace)',
      },
      {
        path: 'services[1].calls[2]',
        line: 13,
        message: '"ledger" is not a service host (`name.namespace` or `name.namespace.svc.cluster.local`)',
      },
    ]);
  });

  it('bounds the list in count and bytes', () => {
    const many = Array.from({ length: MAX_CALLS + 1 }, () => '      - checkout.shop').join('\n');
    const tooMany = parseMeshText(file(many));
    expect(tooMany.ok ? [] : tooMany.errors.map((e) => `${e.path}:${e.line} ${e.message}`)).toEqual([
      `services[1].calls:10 names ${MAX_CALLS + 1} services, more than the ${MAX_CALLS} a calls list may name (a built-in limit, see docs/OPERATIONS.md)`,
    ]);
    const longHost = `${'a'.repeat(63)}.${'b'.repeat(63)}.svc.cluster.local`;
    const count = Math.ceil((MAX_CALLS_BYTES + 1) / longHost.length);
    expect(count).toBeLessThanOrEqual(MAX_CALLS);
    const tooBig = parseMeshText(file(Array.from({ length: count }, () => `      - ${longHost}`).join('\n')));
    expect(tooBig.ok ? [] : tooBig.errors.map((e) => `${e.path}:${e.line} ${e.message}`)).toEqual([
      `services[1].calls:10 is ${count * longHost.length} bytes, more than the ${MAX_CALLS_BYTES} a calls list may have (a built-in limit, see docs/OPERATIONS.md)`,
    ]);
  });
});

describe('a sidecar whose workload declares calls', () => {
  it('gets only the called services (all their clusters) plus its own listeners; other sidecars are unchanged', () => {
    const model = meshWithCalls([CHECKOUT]);
    const scoped = viewOf(model, { SERVICE: 'web.shop' });
    expect(scoped.view.workload).toBe(WEB);
    const snapshot = new Snapshot(translateView(model, scoped).resources);
    expect(servicesOfClusters(snapshot)).toEqual([CHECKOUT]);
    expect([...snapshot.resources(ENDPOINT_TYPE).keys()].every((name) => name.endsWith(`|${CHECKOUT}`))).toBe(true);
    expect([...snapshot.resources(LISTENER_TYPE).values()].filter((r) => r.inWildcard).map((r) => r.name)).toEqual([
      SIDECAR_OUTBOUND_LISTENER,
    ]);

    // No identity, a workload without calls, a gateway, a proxyless client: the whole visible mesh.
    for (const other of [
      viewOf(model, {}),
      viewOf(model, { SERVICE: 'checkout.shop' }),
      viewOf(model, { SERVICE: 'web.shop' }, 'sotw', 'all', 'grpc-node-js'),
    ]) {
      expect(other.view.workload).toBeUndefined();
      expect(servicesOfClusters(new Snapshot(translateView(model, other).resources))).toEqual([
        CHECKOUT,
        'payments.billing.svc.cluster.local',
        WEB,
      ]);
    }
  });

  it('follows edits of the list at the next build (the view reads the calls from the model)', () => {
    const scoped = viewOf(meshWithCalls([CHECKOUT]), { SERVICE: 'web.shop' });
    const edited = meshWithCalls(['payments.billing.svc.cluster.local']);
    expect(servicesOfClusters(new Snapshot(translateView(edited, scoped).resources))).toEqual([
      'payments.billing.svc.cluster.local',
    ]);
    // Calls removed: the view falls back to everything it can see rather than to nothing.
    expect(servicesOfClusters(new Snapshot(translateView(meshWithCalls(undefined), scoped).resources))).toHaveLength(3);
  });

  it('costs translation per distinct configuration: scoped views reuse the parts of their cluster, and their tables do not evict each other', () => {
    const model = sampleMesh({
      extraServices: [
        { service: httpService('payments', 'billing', 9090), endpoints: [endpoint('east', 19090)] },
        { service: httpService('web', 'shop', 8081, { calls: [CHECKOUT] }), endpoints: [endpoint('east', 18088)] },
        {
          service: httpService('admin', 'shop', 8082, { calls: ['payments.billing.svc.cluster.local'] }),
          endpoints: [endpoint('east', 18089)],
        },
      ],
    });
    const parts = new ServiceParts();
    const views = [viewOf(model, {}), viewOf(model, { SERVICE: 'web.shop' }), viewOf(model, { SERVICE: 'admin.shop' })];
    const first = views.map((view) => translateView(model, view, undefined, parts));
    parts.endPass();
    const misses = parts.misses;
    const again = views.map((view) => translateView(model, view, undefined, parts));
    expect(parts.misses).toBe(misses);
    // Each view's route table is the very object it was: memoised per selection, not replaced by the other's.
    for (let i = 0; i < views.length; i++) {
      const table = (t: (typeof first)[number]) =>
        t.resources.find((r) => r.name === SIDECAR_OUTBOUND_ROUTE && r.typeUrl === ROUTE_TYPE);
      expect(table(again[i])).toBe(table(first[i]));
    }
  });
});

describe('on demand (serve --scope on-demand)', () => {
  it('only delta Envoy sidecars without declarations get it; SotW ones keep every cluster', () => {
    const model = meshWithCalls(undefined);
    expect(viewOf(model, {}, 'delta', 'on-demand').view.onDemand).toBe(true);
    expect(viewOf(model, {}, 'sotw', 'on-demand').view.onDemand).toBeUndefined();
    expect(viewOf(model, {}, 'delta', 'all').view.onDemand).toBeUndefined();
    // A per-type delta stream (not ADS): the filter's ADS source would name nothing there.
    expect(viewOf(model, {}, 'delta', 'on-demand', 'envoy', false).view.onDemand).toBeUndefined();
    expect(
      viewOf(meshWithCalls([CHECKOUT]), { SERVICE: 'web.shop' }, 'delta', 'on-demand').view.onDemand,
    ).toBeUndefined();
  });

  it('keeps every route but no cluster in the wildcard set; a cluster named brings its whole service', () => {
    const model = sampleMesh({
      extraServices: [
        {
          service: httpService('cart', 'shop', 8083, {
            canary: { stable: 'v1', canary: 'v2', weight: 10, order: 'version-first' },
          }),
          endpoints: [
            endpoint('east', 18090, { labels: { version: 'v1' } }),
            endpoint('east', 18091, { labels: { version: 'v2' } }),
          ],
        },
      ],
    });
    const view = viewOf(model, {}, 'delta', 'on-demand');
    const snapshot = new Snapshot(translateView(model, view).resources);
    expect(snapshot.wildcardResources(CLUSTER_TYPE)).toEqual([]);
    const cart = serviceHost({ name: 'cart', namespace: 'shop' });
    const members = snapshot
      .groupMembers(CLUSTER_TYPE, cart)
      .map((r) => r.name)
      .sort();
    expect(members).toEqual(
      [
        `outbound|8083|v1|${cart}`,
        `outbound|8083|v2-or-v1|${cart}`,
        `outbound|8083|v2|${cart}`,
        `outbound|8083||${cart}`,
      ].sort(),
    );
    const listener = snapshot.get(LISTENER_TYPE, SIDECAR_OUTBOUND_LISTENER)?.message as {
      filter_chains: { filters: { typed_config: { http_filters: { name: string }[] } }[] }[];
    };
    expect(listener.filter_chains[0]?.filters[0]?.typed_config.http_filters.map((f) => f.name)).toEqual([
      'envoy.filters.http.on_demand',
      'envoy.filters.http.router',
    ]);
    // The same bytes as the full view's clusters: only the wildcard flag and the group differ.
    const full = new Snapshot(translateView(model, viewOf(model, {}, 'delta', 'all')).resources);
    expect(snapshot.get(CLUSTER_TYPE, `outbound|8083|v1|${cart}`)?.deltaField).toEqual(
      full.get(CLUSTER_TYPE, `outbound|8083|v1|${cart}`)?.deltaField,
    );
  });
});

describe('Kubernetes: spillway.io/calls', () => {
  it('reads the annotation into the service, bounded, naming only the wrong hosts', () => {
    expect(
      readServiceSettings({ 'spillway.io/calls': 'ledger.shop, payments.billing.svc.cluster.local' }).settings.calls,
    ).toEqual(['ledger.shop.svc.cluster.local', 'payments.billing.svc.cluster.local']);
    const wrong = readServiceSettings({ 'spillway.io/calls': `ledger.shop, nope, ${'x'.repeat(50)}` });
    expect(wrong.settings.calls).toBeUndefined();
    expect(wrong.errors).toEqual([
      'spillway.io/calls: "nope" is not a service host (`name.namespace` or `name.namespace.svc.cluster.local`)',
      `spillway.io/calls: "${'x'.repeat(50)}" is not a service host (\`name.namespace\` or \`name.namespace.svc.cluster.local\`)`,
    ]);
    const huge = readServiceSettings({ 'spillway.io/calls': 'a.b,'.repeat(5000) });
    expect(huge.errors).toEqual([
      `spillway.io/calls: is 20000 bytes, more than the ${MAX_CALLS_BYTES} a calls list may have`,
    ]);
  });

  it('clusters that each declare calls for the same Service add up', () => {
    const shard = (cluster: string, calls?: string[]): MeshModel => ({
      clusters: new Map([[cluster, { name: cluster, region: 'r', zone: 'z' }]]),
      services: new Map([
        [WEB, { service: httpService('web', 'shop', 8081, calls ? { calls } : {}), endpoints: [endpoint(cluster, 1)] }],
      ]),
    });
    const merged = mergeShards(
      new Map([
        ['kubernetes/east', shard('east', [CHECKOUT])],
        ['kubernetes/west', shard('west', ['ledger.shop.svc.cluster.local'])],
        ['kubernetes/south', shard('south')],
      ]),
    );
    expect(merged.services.get(WEB)?.service.calls).toEqual([CHECKOUT, 'ledger.shop.svc.cluster.local']);
  });
});

describe('what scoping saves (1,000 services, a workload calling 10)', () => {
  it('bytes of every resource an Envoy sidecar is sent, scoped vs whole mesh', () => {
    const services = Array.from({ length: 1_000 }, (_, i) => ({
      service: httpService(
        `svc-${i}`,
        'fill',
        8080,
        i === 0 ? { calls: Array.from({ length: 10 }, (_, k) => `svc-${k + 1}.fill.svc.cluster.local`) } : {},
      ),
      endpoints: [
        endpoint('east', 20_000 + i, { address: '10.1.0.1' }),
        endpoint('east', 20_000 + i, { address: '10.1.0.2' }),
        endpoint('west', 20_000 + i),
      ],
    }));
    const model = sampleMesh({ extraServices: services });
    // What an Envoy receives: everything but the listeners kept for proxyless clients (served only by name).
    const bytesOf = (view: ViewKey): number =>
      translateView(model, view)
        .resources.filter((r) => r.typeUrl !== LISTENER_TYPE || r.inWildcard)
        .reduce((sum, r) => sum + r.deltaField.length, 0);
    const scoped = bytesOf(viewOf(model, { SERVICE: 'svc-0.fill' }));
    const full = bytesOf(viewOf(model, {}));
    console.log(
      `1,000 services: scoped sidecar (10 callees) is sent ${scoped} bytes, an unscoped one ${full} bytes (${(full / scoped).toFixed(0)}x)`,
    );
    expect(scoped * 50).toBeLessThan(full);
  });
});
