// Which protocol a Service port speaks, from appProtocol first, else from its name (Istio's convention,
// `<protocol>[-<suffix>]`). Spillway routes HTTP only: ports known to be something else are left out.
import { PortProtocol } from '../../mesh/model';
import { KubeServicePort } from './kube-objects';

const APP_PROTOCOLS: Readonly<Record<string, PortProtocol>> = {
  http: 'http',
  'kubernetes.io/ws': 'http',
  http2: 'http2',
  h2c: 'http2',
  'kubernetes.io/h2c': 'http2',
  grpc: 'grpc',
  'grpc-web': 'http',
};

const NAME_PROTOCOLS: Readonly<Record<string, PortProtocol>> = {
  http: 'http',
  http2: 'http2',
  grpc: 'grpc',
  'grpc-web': 'http',
};

/** Names (prefixes) that announce a protocol Spillway does not route. */
const NOT_HTTP_NAMES = ['https', 'tls', 'tcp', 'udp', 'mongo', 'mysql', 'redis', 'kafka', 'zookeeper', 'mqtt'];

export type ProtocolDecision = { protocol: PortProtocol } | { skip: string };

export function protocolOf(port: KubeServicePort): ProtocolDecision {
  if (port.transport !== 'TCP') return { skip: `transport ${port.transport}` };
  if (port.appProtocol !== undefined) {
    const known = APP_PROTOCOLS[port.appProtocol.toLowerCase()];
    return known ? { protocol: known } : { skip: `appProtocol ${port.appProtocol}` };
  }
  const name = port.name.toLowerCase();
  const exact = NAME_PROTOCOLS[name];
  if (exact) return { protocol: exact };
  const prefix = name.split('-')[0] ?? '';
  if (name.startsWith('grpc-web')) return { protocol: 'http' };
  if (NAME_PROTOCOLS[prefix]) return { protocol: NAME_PROTOCOLS[prefix] };
  if (NOT_HTTP_NAMES.includes(prefix)) return { skip: `port name ${port.name}` };
  // Unnamed or freely named: Spillway's default is plain HTTP (it has no TCP proxying).
  return { protocol: 'http' };
}

/** The mesh port name: the Service's, or `port-<number>` for the one unnamed port a Service may have. */
export function meshPortName(kubeName: string, port: number): string {
  return kubeName !== '' ? kubeName : `port-${port}`;
}
