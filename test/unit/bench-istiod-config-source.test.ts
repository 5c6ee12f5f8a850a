// The benchmark's MCP config source for istiod: ServiceEntries on request, empty lists for the other types,
// an ACK answered with nothing, a change sent again with a new version on the changed entry only, and a
// change with istiod gone failing loudly.
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { IstioConfigSource, SERVICE_ENTRY_TYPE } from '../../bench/servers/istiod-config-source';
import { endpointKey } from '../../bench/mesh/generate-mesh';
import { bytesField, forEachBytesField, stringField, utf8 } from '../../bench/load/wire-scan';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const SIZE = { services: 3, endpointsPerCluster: 2, clusters: 2 };

function request(typeUrl: string, nonce = ''): Buffer {
  const writer = protobuf.Writer.create();
  writer.uint32((4 << 3) | 2).string(typeUrl);
  if (nonce) writer.uint32((5 << 3) | 2).string(nonce);
  return Buffer.from(writer.finish());
}

interface Response {
  typeUrl: string;
  version: string;
  nonce: string;
  /** Per MCP resource: metadata name and version. */
  resources: { name: string; version: string }[];
}

function readResponse(bytes: Buffer): Response {
  const response: Response = { typeUrl: '', version: '', nonce: '', resources: [] };
  forEachBytesField(bytes, (field, value) => {
    if (field === 1) response.version = utf8(value);
    else if (field === 4) response.typeUrl = utf8(value);
    else if (field === 5) response.nonce = utf8(value);
    else if (field === 2) {
      // Any{value 2} → istio.mcp.v1alpha1.Resource{metadata 1{name 1, version 3}}.
      const metadata = bytesField(bytesField(value, 2) ?? new Uint8Array(), 1) ?? new Uint8Array();
      response.resources.push({ name: stringField(metadata, 1) ?? '', version: stringField(metadata, 3) ?? '' });
    }
  });
  return response;
}

describe('istiod MCP config source (benchmark)', () => {
  let source: IstioConfigSource;
  let client: grpc.Client;
  let call: grpc.ClientDuplexStream<Buffer, Buffer>;
  const received: Response[] = [];
  const next = async (count: number) => {
    for (let i = 0; i < 200 && received.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    return received[count - 1];
  };

  beforeAll(async () => {
    source = new IstioConfigSource(SIZE);
    const address = await source.listen();
    client = new grpc.Client(address, grpc.credentials.createInsecure());
    call = client.makeBidiStreamRequest(
      ADS_PATH,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
    );
    call.on('data', (bytes: Buffer) => received.push(readResponse(bytes)));
    call.on('error', () => undefined);
  });

  afterAll(() => {
    client.close();
    source.stop();
  });

  test('answers every type, ServiceEntries with the mesh, ACKs with nothing, changes with the changed entry versioned', async () => {
    call.write(request('security.istio.io/v1/AuthorizationPolicy'));
    const other = await next(1);
    expect(other.typeUrl).toBe('security.istio.io/v1/AuthorizationPolicy');
    expect(other.resources).toEqual([]);

    call.write(request(SERVICE_ENTRY_TYPE));
    const first = await next(2);
    expect(first.resources.map((r) => r.name)).toEqual(['bench/svc-0', 'bench/svc-1', 'bench/svc-2']);
    const [v0, v1, v2] = first.resources.map((r) => r.version);

    call.write(request(SERVICE_ENTRY_TYPE, first.nonce));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toHaveLength(2);

    expect(source.stage(new Set([endpointKey(1, 0, 0)]))).toBe(1);
    source.publish();
    const changed = await next(3);
    expect(changed.resources.map((r) => r.version)).toEqual([v0, expect.not.stringMatching(`^${v1}$`), v2]);
  });

  test('a change with no istiod stream left fails instead of vanishing', async () => {
    call.cancel();
    await new Promise((resolve) => setTimeout(resolve, 100));
    source.stage(new Set([endpointKey(2, 0, 0)]));
    expect(() => source.publish()).toThrow(/no longer connected/);
  });
});
