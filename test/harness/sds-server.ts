// What istio-agent does for a sidecar's certificates, reduced to a test: an SDS server (SotW gRPC) that
// serves Istio's two secret names, `default` (the workload's certificate and key) and `ROOTCA` (the mesh
// root), from files. A sidecar bootstrapped with a static `sds-grpc` cluster pointing here can then use the
// ISTIO_MUTUAL transport sockets istiod generates. Messages are encoded by hand (a handful of fields).
import * as fs from 'fs';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { CertFiles } from './certs';

const SDS_PATH = '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets';
const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
const LENGTH_DELIMITED = 2;
const tag = (field: number) => (field << 3) | LENGTH_DELIMITED;
const passBytes = (bytes: Buffer) => bytes;

/** DataSource{inline_bytes 2}. */
function inlineBytes(writer: protobuf.Writer, field: number, bytes: Buffer): void {
  writer.uint32(tag(field)).fork().uint32(tag(2)).bytes(bytes).ldelim();
}

/** Secret{name 1, tls_certificate 2 {certificate_chain 1, private_key 2}} or Secret{name 1, validation_context 4 {trusted_ca 1}}. */
function secret(name: string, files: { cert: CertFiles } | { ca: string }): Uint8Array {
  const writer = protobuf.Writer.create();
  writer.uint32(tag(1)).string(name);
  if ('cert' in files) {
    writer.uint32(tag(2)).fork();
    inlineBytes(writer, 1, fs.readFileSync(files.cert.cert));
    inlineBytes(writer, 2, fs.readFileSync(files.cert.key));
    writer.ldelim();
  } else {
    writer.uint32(tag(4)).fork();
    inlineBytes(writer, 1, fs.readFileSync(files.ca));
    writer.ldelim();
  }
  return writer.finish();
}

/** DiscoveryResponse{version_info 1, resources 2 (Any{type_url 1, value 2}), type_url 4, nonce 5}. */
function response(version: string, nonce: string, secrets: readonly Uint8Array[]): Buffer {
  const writer = protobuf.Writer.create();
  writer.uint32(tag(1)).string(version);
  for (const body of secrets)
    writer.uint32(tag(2)).fork().uint32(tag(1)).string(SECRET_TYPE).uint32(tag(2)).bytes(body).ldelim();
  writer.uint32(tag(4)).string(SECRET_TYPE).uint32(tag(5)).string(nonce);
  const bytes = writer.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** DiscoveryRequest: resource_names 3 (repeated), response_nonce 5. */
function readRequest(bytes: Buffer): { names: string[]; nonce: string } {
  const reader = protobuf.Reader.create(bytes);
  const names: string[] = [];
  let nonce = '';
  while (reader.pos < reader.len) {
    const key = reader.uint32();
    const field = key >>> 3;
    if (field === 3) names.push(reader.string());
    else if (field === 5) nonce = reader.string();
    else reader.skipType(key & 7);
  }
  return { names, nonce };
}

export interface SdsServer {
  address: string;
  port: number;
  /** Names asked for so far (tests check the sidecar really fetched its certificates here). */
  requested: Set<string>;
  stop(): Promise<void>;
}

/** Serves `default` from `workload` and `ROOTCA` from `caFile`. */
export async function startSdsServer(workload: CertFiles, caFile: string): Promise<SdsServer> {
  const secrets = new Map<string, Uint8Array>([
    ['default', secret('default', { cert: workload })],
    ['ROOTCA', secret('ROOTCA', { ca: caFile })],
  ]);
  const requested = new Set<string>();
  const server = new grpc.Server();
  let nonces = 0;
  server.addService(
    {
      StreamSecrets: {
        path: SDS_PATH,
        requestStream: true,
        responseStream: true,
        requestSerialize: passBytes,
        requestDeserialize: passBytes,
        responseSerialize: passBytes,
        responseDeserialize: passBytes,
      },
    },
    {
      StreamSecrets: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        let lastNonce = '';
        call.on('data', (bytes: Buffer) => {
          const request = readRequest(bytes);
          for (const name of request.names) requested.add(name);
          // A request carrying the last nonce is the ACK of what was sent: nothing new to say.
          if (request.nonce !== '' && request.nonce === lastNonce) return;
          lastNonce = `n${++nonces}`;
          call.write(
            response(
              '1',
              lastNonce,
              request.names.flatMap((name) => secrets.get(name) ?? []),
            ),
          );
        });
        call.on('error', () => undefined);
        call.on('end', () => call.end());
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    port,
    requested,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
