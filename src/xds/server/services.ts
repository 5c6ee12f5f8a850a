// gRPC method definitions for ADS and the per-type discovery services. Requests are decoded into typed
// objects; responses are already bytes (see wire.ts), so the serializer is the identity.
import * as grpc from '@grpc/grpc-js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, XdsTypeUrl } from '../resource-types';
import { DeltaRequest, SotwRequest } from './wire';
import { decodeDeltaRequest } from './delta-request';
import { decodeSotwRequest } from './sotw-request';

type Method<Req> = grpc.MethodDefinition<Req, Buffer>;

function streamingMethod<Req>(path: string, decode: (bytes: Buffer) => Req): Method<Req> {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: () => {
      throw new Error('server-side definition: requests are never serialized here');
    },
    requestDeserialize: decode,
    responseSerialize: (bytes: Buffer) => bytes,
    responseDeserialize: (bytes: Buffer) => bytes,
  };
}

export interface DiscoveryServiceSpec {
  /** Full gRPC service name, for logs. */
  service: string;
  sotwMethod: string;
  deltaMethod: string;
  types: readonly XdsTypeUrl[];
  definition: grpc.ServiceDefinition;
}

function spec(
  service: string,
  sotwMethod: string,
  deltaMethod: string,
  types: readonly XdsTypeUrl[],
): DiscoveryServiceSpec {
  return {
    service,
    sotwMethod,
    deltaMethod,
    types,
    definition: {
      [sotwMethod]: streamingMethod<SotwRequest>(`/${service}/${sotwMethod}`, decodeSotwRequest),
      [deltaMethod]: streamingMethod<DeltaRequest>(`/${service}/${deltaMethod}`, decodeDeltaRequest),
    },
  };
}

export const DISCOVERY_SERVICES: readonly DiscoveryServiceSpec[] = [
  spec(
    'envoy.service.discovery.v3.AggregatedDiscoveryService',
    'StreamAggregatedResources',
    'DeltaAggregatedResources',
    [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE],
  ),
  spec('envoy.service.cluster.v3.ClusterDiscoveryService', 'StreamClusters', 'DeltaClusters', [CLUSTER_TYPE]),
  spec('envoy.service.endpoint.v3.EndpointDiscoveryService', 'StreamEndpoints', 'DeltaEndpoints', [ENDPOINT_TYPE]),
  spec('envoy.service.listener.v3.ListenerDiscoveryService', 'StreamListeners', 'DeltaListeners', [LISTENER_TYPE]),
  spec('envoy.service.route.v3.RouteDiscoveryService', 'StreamRoutes', 'DeltaRoutes', [ROUTE_TYPE]),
];
