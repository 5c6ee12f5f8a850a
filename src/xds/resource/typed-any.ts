// A google.protobuf.Any as protobufjs takes it ({'@type': url, ...fields}), built only from a message of
// the type its URL names: the generated Any accepts nothing else (scripts/gen-xds-types.sh), so a typo in
// a typed_config is a compile error like one anywhere else in a resource.
import type { Any } from '../../../generated/xds/google/protobuf/Any';
import type { ClusterConfig as AggregateClusterConfig } from '../../../generated/xds/envoy/extensions/clusters/aggregate/v3/ClusterConfig';
import type { HttpConnectionManager } from '../../../generated/xds/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager';
import type { Router } from '../../../generated/xds/envoy/extensions/filters/http/router/v3/Router';
import type { OnDemand } from '../../../generated/xds/envoy/extensions/filters/http/on_demand/v3/OnDemand';
import type { HeaderMutation } from '../../../generated/xds/envoy/extensions/filters/http/header_mutation/v3/HeaderMutation';
import type { UpstreamCodec } from '../../../generated/xds/envoy/extensions/filters/http/upstream_codec/v3/UpstreamCodec';
import type { TlsInspector } from '../../../generated/xds/envoy/extensions/filters/listener/tls_inspector/v3/TlsInspector';
import type { TcpProxy } from '../../../generated/xds/envoy/extensions/filters/network/tcp_proxy/v3/TcpProxy';
import type { Config as SetFilterStateConfig } from '../../../generated/xds/envoy/extensions/filters/network/set_filter_state/v3/Config';
import type { ClusterProvided } from '../../../generated/xds/envoy/extensions/load_balancing_policies/cluster_provided/v3/ClusterProvided';
import type { RoundRobin } from '../../../generated/xds/envoy/extensions/load_balancing_policies/round_robin/v3/RoundRobin';
import type { UpstreamTlsContext } from '../../../generated/xds/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext';
import type { DownstreamTlsContext } from '../../../generated/xds/envoy/extensions/transport_sockets/tls/v3/DownstreamTlsContext';
import type { HttpProtocolOptions } from '../../../generated/xds/envoy/extensions/upstreams/http/v3/HttpProtocolOptions';
import type { PreviousHostsPredicate } from '../../../generated/xds/envoy/extensions/retry/host/previous_hosts/v3/PreviousHostsPredicate';
import type { PreviousPrioritiesConfig } from '../../../generated/xds/envoy/extensions/retry/priority/previous_priorities/v3/PreviousPrioritiesConfig';

export type { Any };

const PREFIX = 'type.googleapis.com/';

/** Every message Spillway puts in an Any, by its type URL. */
export interface AnyMessages {
  'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig': AggregateClusterConfig;
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager': HttpConnectionManager;
  'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router': Router;
  'type.googleapis.com/envoy.extensions.filters.http.on_demand.v3.OnDemand': OnDemand;
  'type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation': HeaderMutation;
  'type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec': UpstreamCodec;
  'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector': TlsInspector;
  'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy': TcpProxy;
  'type.googleapis.com/envoy.extensions.filters.network.set_filter_state.v3.Config': SetFilterStateConfig;
  'type.googleapis.com/envoy.extensions.load_balancing_policies.cluster_provided.v3.ClusterProvided': ClusterProvided;
  'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin': RoundRobin;
  'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext': UpstreamTlsContext;
  'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext': DownstreamTlsContext;
  'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions': HttpProtocolOptions;
  'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate': PreviousHostsPredicate;
  'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig': PreviousPrioritiesConfig;
}

export type AnyTypeUrl = keyof AnyMessages;

/** The message name a type URL names. */
export function messageNameOfUrl(typeUrl: AnyTypeUrl): string {
  return typeUrl.slice(PREFIX.length);
}

/** A cluster's typed_extension_protocol_options entry: keyed by the message name of what it holds. */
export function protocolOptions<U extends AnyTypeUrl>(typeUrl: U, value: AnyMessages[U]): Record<string, Any> {
  return { [messageNameOfUrl(typeUrl)]: typedAny(typeUrl, value) };
}

/** `value` packed as an Any of `typeUrl`; the message is checked against the type the URL names. */
export function typedAny<U extends AnyTypeUrl>(typeUrl: U, value: AnyMessages[U]): Any {
  // The only place an Any is made: its brand exists for the compiler alone.
  return { '@type': typeUrl, ...value } as unknown as Any;
}

/** The message inside `any`, when it is of `typeUrl` (readers of built resources: debug, prediction). */
export function unpackAny<U extends AnyTypeUrl>(any: Any | null | undefined, typeUrl: U): AnyMessages[U] | undefined {
  if (any?.['@type'] !== typeUrl) return undefined;
  const { '@type': _url, ...value } = any as unknown as Record<string, unknown>;
  return value;
}
