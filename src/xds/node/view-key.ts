// What decides a client's configuration (its view), and the key naming it: every client with the same
// view shares one snapshot and its bytes. The key carries the view itself, so nobody parses its text;
// the text is canonical (equal views, equal text) and serves only as a map key and in logs and reports.
import { ClientRole } from './node-info';

export interface ClientView {
  readonly clusterId: string;
  readonly role: ClientRole;
  /**
   * Where the client's listener binds: a sidecar's outbound listener, or a gateway's listener (its
   * mesh gateway address unless node metadata LISTEN_ADDRESS says otherwise, e.g. 0.0.0.0 in a pod
   * behind a load balancer).
   */
  readonly outboundAddress: string;
  readonly outboundPort: number;
  /** Where the proxy finds cert.pem, key.pem and ca.pem for mTLS (metadata TLS_DIR). */
  readonly tlsDir?: string;
  /**
   * Where a workload sidecar terminates mTLS: INBOUND_PORT (the endpoints' `sidecarPort`), bound on
   * INBOUND_ADDRESS. Not the pod's address: the inbound listener forwards to whatever address the caller
   * connected to (see inbound-translator.ts), so pods share the view.
   */
  readonly inbound?: { readonly port: number; readonly bindAddress: string };
  /**
   * Proxyless gRPC clients read TLS settings in another form than Envoy (certificate provider
   * instances, gRFC A29), so they get a view of their own when it matters.
   */
  readonly proxyless?: boolean;
  /**
   * The workload (full service host) whose declared `calls` scope this Envoy sidecar's view: set while the
   * workload declares calls (a connected stream follows when that changes).
   */
  readonly workload?: string;
  /** Clusters beyond the scope are served when the proxy asks for them (on-demand CDS over delta xDS). */
  readonly onDemand?: boolean;
}

export class ViewKey {
  /** Canonical text of the view: a map key (and what logs and reports show), never parsed back. */
  readonly id: string;
  readonly view: ClientView;

  private constructor(view: ClientView) {
    this.view = Object.freeze({ ...view, ...(view.inbound ? { inbound: Object.freeze({ ...view.inbound }) } : {}) });
    this.id = canonicalText(this.view);
  }

  static of(view: ClientView): ViewKey {
    return new ViewKey(view);
  }

  equals(other: ViewKey): boolean {
    return this.id === other.id;
  }

  toString(): string {
    return this.id;
  }

  /** Reports (JSON) show the key as its text, as logs do. */
  toJSON(): string {
    return this.id;
  }
}

function canonicalText(view: ClientView): string {
  // A gateway's port comes from the mesh, not the view; its address is always set when resolved from a node.
  const gatewayAddress = view.outboundAddress ? `|${view.outboundAddress}` : '';
  const base =
    view.role === 'gateway'
      ? `gateway|${view.clusterId}${gatewayAddress}`
      : `sidecar|${view.clusterId}|${view.outboundAddress}|${view.outboundPort}`;
  const tls = view.tlsDir ? `|tls=${view.tlsDir}` : '';
  const inbound = view.inbound ? `|in=${view.inbound.port},${view.inbound.bindAddress}` : '';
  const kind = view.proxyless ? '|kind=grpc' : '';
  const workload = view.workload ? `|wl=${view.workload}` : '';
  const onDemand = view.onDemand ? '|od=1' : '';
  return base + tls + inbound + kind + workload + onDemand;
}
