// Mutual TLS across clusters, Istio-compatible: a caller's sidecar originates mTLS with SNI
// `outbound_.<port>_.<subset>_.<host>`; gateways route on that SNI without terminating TLS (passthrough),
// and the destination workload's sidecar terminates it, requiring a client certificate from the mesh CA.
// Certificates are files on each proxy (TLS_DIR: cert.pem, key.pem, ca.pem), rotated by whatever writes them.
import { CommonTlsContext, ListenerFilter, NetworkFilter, TransportSocket } from '../resource/envoy-messages';
import { typedAny } from '../resource/typed-any';

const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

export const DEFAULT_TLS_DIR = '/etc/spillway/certs';

/** The SNI that names (service port, subset), as Istio spells it: `outbound_.8080_.v1_.<host>`, `outbound_.8080_._.<host>`. */
export function sniFor(port: number, host: string, subset = ''): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

function certificateFiles(tlsDir: string): CommonTlsContext {
  return {
    tls_certificates: [
      { certificate_chain: { filename: `${tlsDir}/cert.pem` }, private_key: { filename: `${tlsDir}/key.pem` } },
    ],
    validation_context: { trusted_ca: { filename: `${tlsDir}/ca.pem` } },
  };
}

export function upstreamTlsSocket(sni: string, tlsDir: string): TransportSocket {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typedAny(UPSTREAM_TLS, { sni, common_tls_context: certificateFiles(tlsDir) }),
  };
}

/** The certificate provider instance a proxyless gRPC client's bootstrap must define (gRFC A29). */
export const GRPC_CERTIFICATE_PROVIDER = 'spillway';

/**
 * mTLS for a proxyless gRPC client: certificates come from its bootstrap's certificate provider, and the
 * server is checked by its SPIFFE identity (not by host name, which a workload certificate does not carry).
 */
export function grpcUpstreamTlsSocket(): TransportSocket {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typedAny(UPSTREAM_TLS, {
      common_tls_context: {
        tls_certificate_provider_instance: { instance_name: GRPC_CERTIFICATE_PROVIDER },
        validation_context: {
          ca_certificate_provider_instance: { instance_name: GRPC_CERTIFICATE_PROVIDER },
          match_subject_alt_names: [{ prefix: 'spiffe://' }],
        },
      },
    }),
  };
}

/** Terminates mTLS: the caller must present a certificate that chains to the mesh CA. */
export function downstreamTlsSocket(tlsDir: string): TransportSocket {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typedAny('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', {
      require_client_certificate: { value: true },
      common_tls_context: certificateFiles(tlsDir),
    }),
  };
}

export function tlsInspector(): ListenerFilter {
  return {
    name: 'envoy.filters.listener.tls_inspector',
    typed_config: typedAny('type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector', {}),
  };
}

export function tcpProxy(statPrefix: string, cluster: string): NetworkFilter {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: typedAny('type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', {
      stat_prefix: statPrefix,
      cluster,
    }),
  };
}
