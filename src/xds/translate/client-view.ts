// Which view a client gets, decided from its Envoy Node: node.metadata.CLUSTER_ID names its mesh cluster
// (Istio's key), ROLE=gateway or an id starting with `router~` makes it a gateway, OUTBOUND_PORT and
// OUTBOUND_ADDRESS place a sidecar's outbound listener.
import * as grpc from '@grpc/grpc-js';
import { MeshModel } from '../../mesh/model';
import { ViewResolution, ViewResolver } from '../server/client-view';
import { NodeInfo } from '../server/wire';
import { ClientRole } from '../server/client-registry';

export const DEFAULT_OUTBOUND_PORT = 15001;
export const DEFAULT_OUTBOUND_ADDRESS = '127.0.0.1';

export interface ClientView {
  clusterId: string;
  role: ClientRole;
  /**
   * Where the client's listener binds: a sidecar's outbound listener, or a gateway's listener (its
   * mesh gateway address unless node metadata LISTEN_ADDRESS says otherwise, e.g. 0.0.0.0 in a pod
   * behind a load balancer).
   */
  outboundAddress: string;
  outboundPort: number;
}

export function viewKeyOf(view: ClientView): string {
  if (view.role === 'gateway') return `gateway|${view.clusterId}|${view.outboundAddress}`;
  return `sidecar|${view.clusterId}|${view.outboundAddress}|${view.outboundPort}`;
}

export function parseViewKey(key: string): ClientView {
  const [role, clusterId, address, port] = key.split('|');
  if (role === 'gateway' && clusterId) return { clusterId, role, outboundAddress: address ?? '', outboundPort: 0 };
  if (role === 'sidecar' && clusterId && address && port) return { clusterId, role, outboundAddress: address, outboundPort: Number(port) };
  throw new Error(`malformed view key "${key}"`);
}

function metadataString(node: NodeInfo, key: string): string | undefined {
  const value = node.metadata[key];
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

function roleOf(node: NodeInfo): ClientRole {
  const role = metadataString(node, 'ROLE');
  if (role !== undefined) return role.toLowerCase() === 'gateway' ? 'gateway' : 'sidecar';
  return node.id.startsWith('router~') ? 'gateway' : 'sidecar';
}

const IPV4_OR_6 = /^[0-9a-fA-F:.]+$/;

/** Resolves a node against the current model; every refusal says what to set. */
export function resolveClientView(node: NodeInfo, model: MeshModel): ViewResolution {
  const known = [...model.clusters.keys()].sort();
  const knownText = known.length > 0 ? known.join(', ') : '(none yet: the mesh has no clusters)';
  const clusterId = metadataString(node, 'CLUSTER_ID');
  if (!clusterId) {
    return { ok: false, code: grpc.status.FAILED_PRECONDITION, message: `node "${node.id}" has no metadata CLUSTER_ID; set node.metadata.CLUSTER_ID to one of: ${knownText}` };
  }
  const cluster = model.clusters.get(clusterId);
  if (!cluster) {
    return { ok: false, code: grpc.status.FAILED_PRECONDITION, message: `node "${node.id}" names unknown CLUSTER_ID "${clusterId.slice(0, 100)}"; known clusters: ${knownText}` };
  }
  const role = roleOf(node);
  if (role === 'gateway' && !cluster.gateway) {
    return { ok: false, code: grpc.status.FAILED_PRECONDITION, message: `node "${node.id}" is a gateway of cluster "${clusterId}", which has no gateway address in the mesh; add clusters[].gateway` };
  }
  const portText = metadataString(node, 'OUTBOUND_PORT');
  const outboundPort = portText === undefined ? DEFAULT_OUTBOUND_PORT : Number(portText);
  if (!Number.isInteger(outboundPort) || outboundPort < 1 || outboundPort > 65535) {
    return { ok: false, code: grpc.status.INVALID_ARGUMENT, message: `node "${node.id}": metadata OUTBOUND_PORT "${portText}" is not a port number (1-65535)` };
  }
  const addressKey = role === 'gateway' ? 'LISTEN_ADDRESS' : 'OUTBOUND_ADDRESS';
  const defaultAddress = role === 'gateway' ? (cluster.gateway?.address ?? '0.0.0.0') : DEFAULT_OUTBOUND_ADDRESS;
  const outboundAddress = metadataString(node, addressKey) ?? defaultAddress;
  if (!IPV4_OR_6.test(outboundAddress)) {
    return { ok: false, code: grpc.status.INVALID_ARGUMENT, message: `node "${node.id}": metadata ${addressKey} "${outboundAddress.slice(0, 100)}" is not an IP address` };
  }
  const view: ClientView = { clusterId, role, outboundAddress, outboundPort };
  return { ok: true, view: viewKeyOf(view), clusterId, role };
}

export function makeViewResolver(currentModel: () => MeshModel): ViewResolver {
  return (node) => resolveClientView(node, currentModel());
}
