// Which view a client gets, decided from its Envoy Node: node.metadata.CLUSTER_ID names its mesh cluster
// (Istio's key), ROLE=gateway or an id starting with `router~` makes it a gateway, OUTBOUND_PORT and
// OUTBOUND_ADDRESS place a sidecar's outbound listener, INBOUND_PORT/INBOUND_ADDRESS its mTLS inbound
// listener. Nothing that differs per pod is part of a view (INSTANCE_IP is accepted and ignored): every
// workload sidecar of a cluster with the same ports and certificate directory shares one view.
import { MeshModel } from '../../mesh/model';
import { ClientRole, NodeInfo } from '../node/node-info';
import { StreamKind } from '../node/stream-kind';
import { ViewResolution, ViewResolver } from '../node/view-resolution';
import { ClientView, ViewKey } from '../node/view-key';

export type { ClientView };
import { declaredCalls, workloadHost } from './workload-identity';

export const DEFAULT_OUTBOUND_PORT = 15001;
export const DEFAULT_OUTBOUND_ADDRESS = '127.0.0.1';

/** A view while it is being decided (ViewKey freezes it). */
type ViewDraft = { -readonly [Field in keyof ClientView]: ClientView[Field] };

/** What an Envoy sidecar whose workload declares no calls gets: every visible service, or them on demand. */
export type ScopeMode = 'all' | 'on-demand';
export const SCOPE_MODES: readonly ScopeMode[] = ['all', 'on-demand'];

export interface ScopeOptions {
  scope: ScopeMode;
}

export const DEFAULT_SCOPE_OPTIONS: ScopeOptions = { scope: 'all' };

function metadataString(node: NodeInfo, key: string): string | undefined {
  const value = node.metadata[key];
  if (value === undefined || value === null || value === '') return undefined;
  // Struct values may be lists or structs: shown as JSON (a refusal then says what the node sent).
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);
}

function roleOf(node: NodeInfo): ClientRole {
  const role = metadataString(node, 'ROLE');
  if (role !== undefined) return role.toLowerCase() === 'gateway' ? 'gateway' : 'sidecar';
  return node.id.startsWith('router~') ? 'gateway' : 'sidecar';
}

const IPV4_OR_6 = /^[0-9a-fA-F:.]+$/;

const SOTW_ADS: StreamKind = { mode: 'sotw', ads: true };

/** Resolves a node against the current model; every refusal says what to set. */
export function resolveClientView(
  node: NodeInfo,
  model: MeshModel,
  stream: StreamKind = SOTW_ADS,
  options: ScopeOptions = DEFAULT_SCOPE_OPTIONS,
): ViewResolution {
  const known = [...model.clusters.keys()].sort();
  const knownText = known.length > 0 ? known.join(', ') : '(none yet: the mesh has no clusters)';
  const clusterId = metadataString(node, 'CLUSTER_ID');
  if (!clusterId) {
    return {
      ok: false,
      reason: 'not-servable',
      message: `node "${node.id}" has no metadata CLUSTER_ID; set node.metadata.CLUSTER_ID to one of: ${knownText}`,
    };
  }
  const cluster = model.clusters.get(clusterId);
  if (!cluster) {
    return {
      ok: false,
      reason: 'not-servable',
      message: `node "${node.id}" names unknown CLUSTER_ID "${clusterId.slice(0, 100)}"; known clusters: ${knownText}`,
    };
  }
  const role = roleOf(node);
  if (role === 'gateway' && !cluster.gateway) {
    return {
      ok: false,
      reason: 'not-servable',
      message: `node "${node.id}" is a gateway of cluster "${clusterId}", which has no gateway address in the mesh; add clusters[].gateway`,
    };
  }
  const portText = metadataString(node, 'OUTBOUND_PORT');
  const outboundPort = portText === undefined ? DEFAULT_OUTBOUND_PORT : Number(portText);
  if (!Number.isInteger(outboundPort) || outboundPort < 1 || outboundPort > 65535) {
    return {
      ok: false,
      reason: 'invalid-metadata',
      message: `node "${node.id}": metadata OUTBOUND_PORT "${portText}" is not a port number (1-65535)`,
    };
  }
  const addressKey = role === 'gateway' ? 'LISTEN_ADDRESS' : 'OUTBOUND_ADDRESS';
  const defaultAddress = role === 'gateway' ? (cluster.gateway?.address ?? '0.0.0.0') : DEFAULT_OUTBOUND_ADDRESS;
  const outboundAddress = metadataString(node, addressKey) ?? defaultAddress;
  if (!IPV4_OR_6.test(outboundAddress)) {
    return {
      ok: false,
      reason: 'invalid-metadata',
      message: `node "${node.id}": metadata ${addressKey} "${outboundAddress.slice(0, 100)}" is not an IP address`,
    };
  }
  const view: ViewDraft = { clusterId, role, outboundAddress, outboundPort };
  if (/grpc/i.test(node.userAgentName)) view.proxyless = true;
  const tlsDir = metadataString(node, 'TLS_DIR');
  if (tlsDir !== undefined) {
    if (tlsDir.includes('|') || tlsDir.length > 512)
      return {
        ok: false,
        reason: 'invalid-metadata',
        message: `node "${node.id}": metadata TLS_DIR is not a usable path`,
      };
    view.tlsDir = tlsDir;
  }
  const inboundText = metadataString(node, 'INBOUND_PORT');
  // Proxyless gRPC clients have no listeners of their own to terminate mTLS on.
  if (inboundText !== undefined && role === 'sidecar' && !view.proxyless) {
    const inboundPort = Number(inboundText);
    if (!Number.isInteger(inboundPort) || inboundPort < 1 || inboundPort > 65535) {
      return {
        ok: false,
        reason: 'invalid-metadata',
        message: `node "${node.id}": metadata INBOUND_PORT "${inboundText}" is not a port number (1-65535)`,
      };
    }
    const bindAddress = metadataString(node, 'INBOUND_ADDRESS') ?? '0.0.0.0';
    if (!IPV4_OR_6.test(bindAddress)) {
      return {
        ok: false,
        reason: 'invalid-metadata',
        message: `node "${node.id}": metadata INBOUND_ADDRESS "${bindAddress.slice(0, 100)}" is not an IP address`,
      };
    }
    view.inbound = { port: inboundPort, bindAddress };
  }
  const workload = scopable(view) ? workloadHost(node) : undefined;
  scopeView(view, workload, model, stream, options);
  return { ok: true, view: ViewKey.of(view), clusterId, role, ...(workload !== undefined ? { workload } : {}) };
}

/** Envoy sidecars only: gateways route every exported service, and proxyless clients already ask by name. */
function scopable(view: ClientView): boolean {
  return view.role === 'sidecar' && !view.proxyless;
}

/**
 * A workload that declares calls gets a view of its own (the calls are read from the model at each
 * build, so edits to the list apply at once); one that declares none shares its cluster's view, or its
 * on-demand twin, which only a delta ADS stream may have (Envoy's on-demand CDS does not work over SotW).
 */
function scopeView(
  view: ViewDraft,
  workload: string | undefined,
  model: MeshModel,
  stream: StreamKind,
  options: ScopeOptions,
): void {
  if (!scopable(view)) return;
  if (declaredCalls(model, workload) !== undefined) view.workload = workload;
  // The on-demand filter asks over ADS: a listener sent on a per-type stream could not name that source.
  else if (options.scope === 'on-demand' && stream.mode === 'delta' && stream.ads) view.onDemand = true;
}

/**
 * The view a connected sidecar of `workload` should have now: the same as `viewKey` but for its scope,
 * which follows whether the workload declares calls (they may have been added or removed since).
 */
export function rescopedViewKey(
  key: ViewKey,
  workload: string,
  model: MeshModel,
  stream: StreamKind,
  options: ScopeOptions = DEFAULT_SCOPE_OPTIONS,
): ViewKey {
  const view: ViewDraft = { ...key.view };
  delete view.workload;
  delete view.onDemand;
  scopeView(view, workload, model, stream, options);
  return ViewKey.of(view);
}

export function makeViewResolver(
  currentModel: () => MeshModel,
  options: ScopeOptions = DEFAULT_SCOPE_OPTIONS,
): ViewResolver {
  return (node, stream) => resolveClientView(node, currentModel(), stream, options);
}
