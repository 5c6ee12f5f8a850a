// The test Echo service (proto/spillway/test/v1/echo.proto), loaded once and shared by the gRPC
// backend fixture, the proxyless xDS client fixture and direct test calls.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as path from 'path';
import { protoRoot } from './paths';

export interface WhoRequest {
  payload: string;
}

export interface WhoReply {
  id: string;
  payload: string;
}

const ECHO_PROTO_FILE = path.join('spillway', 'test', 'v1', 'echo.proto');
const ECHO_SERVICE_NAME = 'spillway.test.v1.Echo';

let cachedService: grpc.ServiceDefinition | undefined;

/** The Echo service definition (serializers included), usable by servers and clients alike. */
export function echoServiceDefinition(): grpc.ServiceDefinition {
  if (cachedService) return cachedService;
  const packageDefinition = protoLoader.loadSync(ECHO_PROTO_FILE, {
    includeDirs: [protoRoot()],
    keepCase: true,
    defaults: true,
  });
  const service = packageDefinition[ECHO_SERVICE_NAME];
  if (!service || !('Who' in service)) throw new Error(`${ECHO_SERVICE_NAME} not found in ${ECHO_PROTO_FILE}`);
  cachedService = service;
  return cachedService;
}

/** Checks a decoded message really is a WhoReply. */
export function toWhoReply(message: unknown): WhoReply {
  if (typeof message !== 'object' || message === null) throw new Error('WhoReply is not an object');
  const { id, payload } = message as Record<string, unknown>;
  if (typeof id !== 'string' || typeof payload !== 'string') {
    throw new Error(`malformed WhoReply ${JSON.stringify(message)}`);
  }
  return { id, payload };
}
