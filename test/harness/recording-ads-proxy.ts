// A SotW ADS proxy that records what a real client sends and receives, message by message, and forwards
// both ways unchanged: put between a real Envoy and Spillway, it shows Envoy's own requests (which types,
// in which order, the order of names in each, what an ACK carries) without touching either side.
import * as grpc from '@grpc/grpc-js';
import { performance } from 'perf_hooks';
import { messageType } from '../../src/xds/protos';
import { assignmentNameOf, readSotwResponse, resourceNameOf } from '../../bench/load/discovery-messages';

const ADS_SOTW_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const ENDPOINT_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

export interface RecordedMessage {
  /** ms since the proxy started. */
  atMs: number;
  direction: 'request' | 'response';
  /** Short type name: the part of the type URL after the last dot (Cluster, ClusterLoadAssignment, ...). */
  type: string;
  typeUrl: string;
  version: string;
  nonce: string;
  /** Requests: resource_names in the order sent. Responses: names of the resources, in order. */
  names: string[];
  /** Requests: whether the node was set, and the NACK text if any. */
  hasNode?: boolean;
  errorDetail?: string;
}

export interface RecordingAdsProxy {
  port: number;
  readonly messages: RecordedMessage[];
  stop(): Promise<void>;
}

const passThrough = (bytes: Buffer) => bytes;

/** Field names as the protos are loaded (keepCase). */
interface DecodedRequest {
  version_info?: string;
  node?: unknown;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { message?: string };
}

function recordRequest(bytes: Buffer, atMs: number): RecordedMessage {
  const type = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  const request = type.toObject(type.decode(bytes), { defaults: false }) as DecodedRequest;
  const typeUrl = request.type_url ?? '';
  return {
    atMs,
    direction: 'request',
    type: typeUrl.slice(typeUrl.lastIndexOf('.') + 1),
    typeUrl,
    version: request.version_info ?? '',
    nonce: request.response_nonce ?? '',
    names: request.resource_names ?? [],
    hasNode: request.node !== undefined,
    ...(request.error_detail ? { errorDetail: request.error_detail.message ?? '' } : {}),
  };
}

function recordResponse(bytes: Buffer, atMs: number): RecordedMessage {
  const header = readSotwResponse(bytes);
  const nameOf = header.typeUrl === ENDPOINT_TYPE ? assignmentNameOf : resourceNameOf;
  return {
    atMs,
    direction: 'response',
    type: header.typeUrl.slice(header.typeUrl.lastIndexOf('.') + 1),
    typeUrl: header.typeUrl,
    version: header.versionInfo,
    nonce: header.nonce,
    names: header.resources.map((resource) => nameOf(resource)),
  };
}

/** Listens on 127.0.0.1 (a free port) and forwards every ADS stream to `upstream` (host:port). */
export async function startRecordingAdsProxy(upstream: string): Promise<RecordingAdsProxy> {
  const started = performance.now();
  const messages: RecordedMessage[] = [];
  const client = new grpc.Client(upstream, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
  });
  const server = new grpc.Server({ 'grpc.max_receive_message_length': -1 });
  const definition: grpc.ServiceDefinition = {
    StreamAggregatedResources: {
      path: ADS_SOTW_PATH,
      requestStream: true,
      responseStream: true,
      requestSerialize: passThrough,
      requestDeserialize: passThrough,
      responseSerialize: passThrough,
      responseDeserialize: passThrough,
    },
  };
  server.addService(definition, {
    StreamAggregatedResources: (downstream: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      const up = client.makeBidiStreamRequest(ADS_SOTW_PATH, passThrough, passThrough);
      downstream.on('data', (bytes: Buffer) => {
        messages.push(recordRequest(bytes, performance.now() - started));
        up.write(bytes);
      });
      up.on('data', (bytes: Buffer) => {
        messages.push(recordResponse(bytes, performance.now() - started));
        downstream.write(bytes);
      });
      // Either side ending ends the other; what ended it is not part of the record.
      downstream.on('end', () => up.end());
      downstream.on('error', () => up.cancel());
      downstream.on('cancelled', () => up.cancel());
      up.on('status', () => downstream.end());
      up.on('error', () => downstream.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    port,
    messages,
    stop: async () => {
      server.forceShutdown();
      client.close();
    },
  };
}
