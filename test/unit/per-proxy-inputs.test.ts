// What each per-proxy input of a sidecar costs. The view's scope (client cluster, role, TLS_DIR, client
// kind) decides its per-service parts; OUTBOUND_ADDRESS/OUTBOUND_PORT only place the outbound listener and
// INBOUND_PORT/INBOUND_ADDRESS only the inbound listener and its clusters; INSTANCE_IP is not part of the
// view at all. A proxy that changes one of them gets a view whose other resources are the very objects
// other views hold, built without translating any service again, and no other view is touched.
import { MeshModel } from '../../src/mesh/model';
import { Snapshot } from '../../src/xds/cache/snapshot';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, XdsTypeUrl } from '../../src/xds/resource-types';
import { NodeInfo } from '../../src/xds/node/node-info';
import { resolveClientView } from '../../src/xds/translate/client-view';
import { ViewKey } from '../../src/xds/node/view-key';
import { inboundBuilds } from '../../src/xds/translate/inbound-translator';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const TYPES: XdsTypeUrl[] = [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE];
const VAULT = 'outbound|8443||vault.shop.svc.cluster.local';
const BASE: Record<string, string> = {
  CLUSTER_ID: 'east',
  OUTBOUND_PORT: '15001',
  TLS_DIR: '/certs/a',
  INBOUND_PORT: '15006',
  INSTANCE_IP: '10.1.0.7',
};

/** The sample mesh plus two mTLS services in east: vault's pods terminate mTLS on 15006, audit's on 15007. */
function mtlsMesh(vaultReady = true): MeshModel {
  const secure = { mtls: true } as const;
  return sampleMesh({
    extraServices: [
      {
        service: httpService('vault', 'shop', 8443, secure),
        endpoints: [
          endpoint('east', 18443, { address: '10.1.0.7', sidecarPort: 15006, ready: vaultReady }),
          endpoint('east', 18443, { address: '10.1.0.8', sidecarPort: 15006 }),
        ],
      },
      {
        service: httpService('audit', 'shop', 9443, secure),
        endpoints: [endpoint('east', 19443, { address: '10.1.0.9', sidecarPort: 15007 })],
      },
    ],
  });
}

function viewOf(model: MeshModel, metadata: Record<string, string>): ViewKey {
  const node: NodeInfo = {
    id: 'sidecar~test',
    cluster: '',
    metadata,
    userAgentName: 'envoy',
    userAgentVersion: '1.40.0',
  };
  const resolved = resolveClientView(node, model);
  if (!resolved.ok) throw new Error(resolved.message);
  return resolved.view;
}

/** `type name` of every resource of `b` that is not the very object `a` holds under that name. */
function ownResources(a: Snapshot, b: Snapshot): string[] {
  const own: string[] = [];
  for (const type of TYPES) {
    for (const [name, resource] of b.resources(type))
      if (a.get(type, name) !== resource) own.push(`${type.split('.').pop()} ${name}`);
  }
  return own.sort();
}

describe("a change to one per-proxy input rebuilds only that proxy's own resources", () => {
  let server: InProcessSpillway;
  let model: MeshModel;
  let base: ViewKey;
  let baseSnapshot: Snapshot;
  let misses: number;
  let builds: number;

  beforeEach(async () => {
    model = mtlsMesh();
    server = await startInProcess(model);
    base = viewOf(model, BASE);
    baseSnapshot = server.spillway.cache.snapshot(base);
    misses = server.spillway.serviceTranslations().translated;
    builds = inboundBuilds.count;
  });
  afterEach(async () => server?.stop());

  /** The view of a proxy whose metadata differs from BASE by `change`, and what it translated to get it. */
  function changed(change: Record<string, string>): {
    view: ViewKey;
    snapshot: Snapshot;
    translated: number;
    inboundBuilt: number;
  } {
    const view = viewOf(model, { ...BASE, ...change });
    const snapshot = server.spillway.cache.snapshot(view);
    // The other proxy's view is untouched.
    expect(server.spillway.cache.snapshot(base)).toBe(baseSnapshot);
    return {
      view,
      snapshot,
      translated: server.spillway.serviceTranslations().translated - misses,
      inboundBuilt: inboundBuilds.count - builds,
    };
  }

  test('INSTANCE_IP: not part of the view; another pod is the same view and snapshot, nothing is built', () => {
    const other = changed({ INSTANCE_IP: '10.1.0.8' });
    expect(other.view.id).toBe(base.id);
    expect(other.snapshot).toBe(baseSnapshot);
    expect(other.translated).toBe(0);
    expect(other.inboundBuilt).toBe(0);
    // Without INSTANCE_IP at all, the same.
    const { INSTANCE_IP: _unused, ...withoutIp } = BASE;
    expect(viewOf(model, withoutIp).id).toBe(base.id);
  });

  test('OUTBOUND_PORT: only the outbound listener is its own', () => {
    const other = changed({ OUTBOUND_PORT: '15002' });
    expect(other.view.id).not.toBe(base.id);
    expect(other.translated).toBe(0);
    expect(other.inboundBuilt).toBe(0);
    expect(ownResources(baseSnapshot, other.snapshot)).toEqual(['Listener outbound']);
  });

  test('OUTBOUND_ADDRESS: only the outbound listener is its own', () => {
    const other = changed({ OUTBOUND_ADDRESS: '127.0.0.9' });
    expect(other.translated).toBe(0);
    expect(ownResources(baseSnapshot, other.snapshot)).toEqual(['Listener outbound']);
  });

  test('INBOUND_PORT: only the inbound listener and its app clusters are its own; built once per configuration', () => {
    const other = changed({ INBOUND_PORT: '15007' });
    expect(other.translated).toBe(0);
    expect(other.inboundBuilt).toBe(1);
    expect(ownResources(baseSnapshot, other.snapshot)).toEqual([
      'Cluster inbound|19443||audit.shop.svc.cluster.local',
      'Listener inbound',
    ]);
    expect(baseSnapshot.get(CLUSTER_TYPE, 'inbound|18443||vault.shop.svc.cluster.local')).toBeDefined();
    // A third proxy with that inbound port but its own outbound port builds no inbound resources again.
    const third = viewOf(model, { ...BASE, INBOUND_PORT: '15007', OUTBOUND_PORT: '15003' });
    expect(server.spillway.cache.snapshot(third).get(LISTENER_TYPE, 'inbound')).toBe(
      other.snapshot.get(LISTENER_TYPE, 'inbound'),
    );
    expect(inboundBuilds.count - builds).toBe(1);
  });

  test('INBOUND_ADDRESS: only the inbound listener is its own', () => {
    const other = changed({ INBOUND_ADDRESS: '10.1.0.7' });
    expect(other.translated).toBe(0);
    expect(ownResources(baseSnapshot, other.snapshot)).toEqual(['Listener inbound']);
  });

  test('TLS_DIR: a new scope, translated once for every proxy that shares it; endpoints stay shared objects', () => {
    const other = changed({ TLS_DIR: '/certs/b' });
    const visible = [...model.services.values()].filter(
      (entry) => entry.service.exported || entry.endpoints.some((e) => e.cluster === 'east'),
    ).length;
    expect(other.translated).toBe(visible);
    // The certificate paths are in every outbound cluster and the inbound listener; endpoints do not name them.
    expect(other.snapshot.get(ENDPOINT_TYPE, VAULT)).toBe(baseSnapshot.get(ENDPOINT_TYPE, VAULT));
    expect(other.snapshot.get(CLUSTER_TYPE, VAULT)).not.toBe(baseSnapshot.get(CLUSTER_TYPE, VAULT));
    const sibling = viewOf(model, { ...BASE, TLS_DIR: '/certs/b', OUTBOUND_PORT: '15002', INSTANCE_IP: '10.1.0.8' });
    expect(ownResources(other.snapshot, server.spillway.cache.snapshot(sibling))).toEqual(['Listener outbound']);
    expect(server.spillway.serviceTranslations().translated - misses).toBe(visible);
  });

  test('a mesh change costs one translation per scope and one inbound build per inbound configuration, not per proxy', async () => {
    const views = [
      base,
      viewOf(model, { ...BASE, OUTBOUND_PORT: '15002' }),
      viewOf(model, { ...BASE, OUTBOUND_PORT: '15003', INSTANCE_IP: '10.1.0.8' }),
      viewOf(model, { ...BASE, INBOUND_PORT: '15007' }),
      viewOf(model, { ...BASE, INBOUND_PORT: '15007', OUTBOUND_PORT: '15004' }),
    ];
    const cancels = views.map((view) => server.spillway.cache.watch(view, () => undefined));
    for (const view of views) server.spillway.cache.snapshot(view);
    const before = { misses: server.spillway.serviceTranslations().translated, builds: inboundBuilds.count };
    server.setModel(mtlsMesh(false)); // one vault endpoint no longer ready
    await server.spillway.rebuild();
    expect(server.spillway.serviceTranslations().translated - before.misses).toBe(1); // vault, once for the one scope
    expect(inboundBuilds.count - before.builds).toBe(2); // inbound ports 15006 and 15007
    for (const cancel of cancels) cancel();
  });

  test('a proxyless gRPC client has no inbound listener to share: INBOUND_PORT is not part of its view', () => {
    const node: NodeInfo = {
      id: 'grpc-client',
      cluster: '',
      metadata: { CLUSTER_ID: 'east', INBOUND_PORT: '15006' },
      userAgentName: 'gRPC Node',
      userAgentVersion: '1.0',
    };
    const resolved = resolveClientView(node, model);
    expect(resolved.ok && resolved.view.id).toBe('sidecar|east|127.0.0.1|15001|kind=grpc');
    const bad = resolveClientView(
      { ...node, userAgentName: 'envoy', metadata: { ...node.metadata, INBOUND_ADDRESS: 'pod-ip' } },
      model,
    );
    expect(bad.ok ? '' : bad.message).toMatch(/INBOUND_ADDRESS "pod-ip" is not an IP address/);
  });
});
