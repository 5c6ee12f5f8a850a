// The Load Reporting Service (envoy.service.load_stats.v3): Envoys and gRPC clients stream their load
// per cluster and locality; Spillway asks for every cluster once a second and keeps a sliding window.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { messageType } from '../xds/protos';
import { durationFromMs } from '../xds/duration';
import { NodeInfo, structToPlain } from '../xds/server/wire';
import { LoadReportStore, LoadSample } from './load-report-store';
import { IdentityPolicy, checkClusterIdentity } from '../xds/server/client-identity';

export const LOAD_REPORTING_INTERVAL_MS = 1_000;
const SERVICE = 'envoy.service.load_stats.v3.LoadReportingService';
const TO_OBJECT = { longs: Number, enums: String, defaults: false, arrays: true, objects: true };

interface RawLocalityStats {
  locality?: { region?: string; zone?: string; sub_zone?: string };
  priority?: number;
  total_successful_requests?: number;
  total_error_requests?: number;
}

interface RawLoadStatsRequest {
  node?: { id?: string; metadata?: Parameters<typeof structToPlain>[0] };
  cluster_stats?: { cluster_name?: string; upstream_locality_stats?: RawLocalityStats[] }[];
}

export type ClusterOfNode = (node: Pick<NodeInfo, 'id' | 'metadata'>) => string | undefined;

function decodeRequest(bytes: Buffer): RawLoadStatsRequest {
  const type = messageType('envoy.service.load_stats.v3.LoadStatsRequest');
  return type.toObject(type.decode(bytes), TO_OBJECT) as RawLoadStatsRequest;
}

function encodeResponse(): Buffer {
  const type = messageType('envoy.service.load_stats.v3.LoadStatsResponse');
  const message = type.fromObject({ send_all_clusters: true, load_reporting_interval: durationFromMs(LOAD_REPORTING_INTERVAL_MS) });
  return Buffer.from(type.encode(message).finish());
}

export function lrsServiceDefinition(): grpc.ServiceDefinition {
  return {
    StreamLoadStats: {
      path: `/${SERVICE}/StreamLoadStats`,
      requestStream: true,
      responseStream: true,
      requestSerialize: (value: Buffer) => value,
      requestDeserialize: decodeRequest,
      responseSerialize: (value: Buffer) => value,
      responseDeserialize: (value: Buffer) => value,
    },
  };
}

export function lrsHandlers(store: LoadReportStore, clusterOfNode: ClusterOfNode, logger: Logger, identity?: IdentityPolicy): grpc.UntypedServiceImplementation {
  return {
    StreamLoadStats: (call: grpc.ServerDuplexStream<RawLoadStatsRequest, Buffer>) => {
      let clientCluster: string | undefined;
      let nodeId = '';
      call.on('data', (request: RawLoadStatsRequest) => {
        if (clientCluster === undefined) {
          nodeId = request.node?.id ?? '';
          clientCluster = clusterOfNode({ id: nodeId, metadata: structToPlain(request.node?.metadata) });
          if (!clientCluster) {
            const details = `load reports need a node whose metadata CLUSTER_ID names a known cluster (node "${nodeId}")`;
            logger.warn({ node: nodeId }, details);
            call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details, message: details, name: 'LrsError' } as grpc.ServiceError);
            return;
          }
          if (identity) {
            const check = checkClusterIdentity(identity, call.getAuthContext().sslPeerCertificate, clientCluster);
            if (!check.ok) {
              logger.warn({ node: nodeId, reason: check.message }, 'refusing load reports: certificate does not match its cluster');
              call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: check.message, message: check.message, name: 'LrsError' } as grpc.ServiceError);
              clientCluster = undefined;
              return;
            }
          }
          logger.info({ node: nodeId, cluster: clientCluster }, 'load reporting stream opened');
          call.write(encodeResponse());
        }
        if (clientCluster) store.record(samplesOf(clientCluster, request));
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  };
}

function samplesOf(clientCluster: string, request: RawLoadStatsRequest): LoadSample[] {
  const samples: LoadSample[] = [];
  for (const stats of request.cluster_stats ?? []) {
    for (const locality of stats.upstream_locality_stats ?? []) {
      const requests = Number(locality.total_successful_requests ?? 0) + Number(locality.total_error_requests ?? 0);
      if (requests === 0) continue;
      samples.push({
        clientCluster,
        envoyCluster: stats.cluster_name ?? '',
        targetCluster: locality.locality?.sub_zone ?? '',
        priority: locality.priority ?? 0,
        requests,
        errors: Number(locality.total_error_requests ?? 0),
      });
    }
  }
  return samples;
}
