// The Envoy v3 messages Spillway builds, as TypeScript types generated at build time from the protos of
// the pinned @grpc/grpc-js-xds package (scripts/gen-xds-types.sh; see docs/ARCHITECTURE.md). These are
// the input forms protobufjs `fromObject` takes: proto field names, enums as strings, no Long needed.
// A field the proto does not have is a compile error in a builder, and encoding refuses it at run time
// too (strict-fields.ts), for what reaches the encoder by other ways.
import type { Cluster } from '../../../generated/xds/envoy/config/cluster/v3/Cluster';
import type { CircuitBreakers } from '../../../generated/xds/envoy/config/cluster/v3/CircuitBreakers';
import type { OutlierDetection } from '../../../generated/xds/envoy/config/cluster/v3/OutlierDetection';
import type { ClusterLoadAssignment } from '../../../generated/xds/envoy/config/endpoint/v3/ClusterLoadAssignment';
import type { LbEndpoint } from '../../../generated/xds/envoy/config/endpoint/v3/LbEndpoint';
import type { LocalityLbEndpoints } from '../../../generated/xds/envoy/config/endpoint/v3/LocalityLbEndpoints';
import type { Listener } from '../../../generated/xds/envoy/config/listener/v3/Listener';
import type { Filter as NetworkFilter } from '../../../generated/xds/envoy/config/listener/v3/Filter';
import type { FilterChain } from '../../../generated/xds/envoy/config/listener/v3/FilterChain';
import type { ListenerFilter } from '../../../generated/xds/envoy/config/listener/v3/ListenerFilter';
import type { RouteConfiguration } from '../../../generated/xds/envoy/config/route/v3/RouteConfiguration';
import type { VirtualHost } from '../../../generated/xds/envoy/config/route/v3/VirtualHost';
import type { Route } from '../../../generated/xds/envoy/config/route/v3/Route';
import type { RouteAction } from '../../../generated/xds/envoy/config/route/v3/RouteAction';
import type { RetryPolicy } from '../../../generated/xds/envoy/config/route/v3/RetryPolicy';
import type { HeaderMatcher } from '../../../generated/xds/envoy/config/route/v3/HeaderMatcher';
import type { Endpoint } from '../../../generated/xds/envoy/config/endpoint/v3/Endpoint';
import type { SocketAddress } from '../../../generated/xds/envoy/config/core/v3/SocketAddress';
import type { Address } from '../../../generated/xds/envoy/config/core/v3/Address';
import type { ConfigSource } from '../../../generated/xds/envoy/config/core/v3/ConfigSource';
import type { Locality } from '../../../generated/xds/envoy/config/core/v3/Locality';
import type { Metadata } from '../../../generated/xds/envoy/config/core/v3/Metadata';
import type { TransportSocket } from '../../../generated/xds/envoy/config/core/v3/TransportSocket';
import type { TypedExtensionConfig } from '../../../generated/xds/envoy/config/core/v3/TypedExtensionConfig';
import type { Duration } from '../../../generated/xds/google/protobuf/Duration';
import type { Any } from '../../../generated/xds/google/protobuf/Any';
import type { HttpConnectionManager } from '../../../generated/xds/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager';
import type { HttpFilter } from '../../../generated/xds/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter';
import type { CommonTlsContext } from '../../../generated/xds/envoy/extensions/transport_sockets/tls/v3/CommonTlsContext';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, XdsTypeUrl } from '../resource-types';

export type {
  Any,
  Address,
  CircuitBreakers,
  Cluster,
  ClusterLoadAssignment,
  CommonTlsContext,
  ConfigSource,
  Duration,
  Endpoint,
  FilterChain,
  HeaderMatcher,
  HttpConnectionManager,
  HttpFilter,
  LbEndpoint,
  Listener,
  ListenerFilter,
  Locality,
  LocalityLbEndpoints,
  Metadata,
  NetworkFilter,
  OutlierDetection,
  RetryPolicy,
  Route,
  RouteAction,
  RouteConfiguration,
  SocketAddress,
  TransportSocket,
  TypedExtensionConfig,
  VirtualHost,
};

/** The message each xDS resource type carries. */
export interface ResourceMessages {
  [CLUSTER_TYPE]: Cluster;
  [ENDPOINT_TYPE]: ClusterLoadAssignment;
  [LISTENER_TYPE]: Listener;
  [ROUTE_TYPE]: RouteConfiguration;
}

export type ResourceMessage = ResourceMessages[XdsTypeUrl];

/** A route configuration as a table is assembled: its virtual hosts are there. */
export type RouteTable = Filled<RouteConfiguration, { virtual_hosts: VirtualHost[] }>;

/**
 * `T` with the fields `N` names always set, as a builder guarantees them to the code that reads its
 * result back. `N` may only narrow fields `T` has: a key `T` lacks is a compile error.
 */
export type Filled<T, N extends { [K in keyof N]: K extends keyof T ? NonNullable<T[K]> : never }> = Omit<T, keyof N> &
  N;
