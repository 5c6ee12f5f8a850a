// The calibration hop's reading of a copy of the bytes: gRPC messages out of HTTP/2 DATA frames split at
// any byte, and the ADS facts it times (synced, the response carrying a name, its ACK or NACK).
import { AdsWatch } from '../../bench/calibrate/ads-watch';
import { GrpcOverH2Reader, MAX_GRPC_MESSAGE_BYTES } from '../../bench/calibrate/grpc-over-h2';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../bench/load/discovery-messages';
import { messageType } from '../../src/xds/protos';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const EDS = ENDPOINT_TYPE;
const TYPES = [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE];

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

function grpcMessage(body: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

function request(fields: {
  typeUrl: string;
  version?: string;
  nonce?: string;
  names?: string[];
  nack?: boolean;
}): Buffer {
  const type = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  const object = {
    version_info: fields.version ?? '',
    resource_names: fields.names ?? [],
    type_url: fields.typeUrl,
    response_nonce: fields.nonce ?? '',
    ...(fields.nack ? { error_detail: { code: 3, message: 'rejected' } } : {}),
  };
  return Buffer.from(type.encode(type.fromObject(object)).finish());
}

function response(typeUrl: string, nonce: string, assignments: string[] = []): Buffer {
  const assignment = messageType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  const resources = assignments.map((name) => ({
    type_url: EDS,
    value: assignment.encode(assignment.fromObject({ cluster_name: name })).finish(),
  }));
  return Buffer.from(
    type.encode(type.fromObject({ version_info: `v-${nonce}`, resources, type_url: typeUrl, nonce })).finish(),
  );
}

describe('GrpcOverH2Reader', () => {
  test('finds every message of every stream, whatever the chunking, skipping non-DATA frames and padding', () => {
    const one = Buffer.from('first message');
    const two = Buffer.alloc(40_000, 7); // spans several DATA frames
    const twoFramed = grpcMessage(two);
    const padded = Buffer.concat([Buffer.from([3]), grpcMessage(one), Buffer.alloc(3)]);
    const bytes = Buffer.concat([
      PREFACE,
      frame(4, 0, 0, Buffer.alloc(6)), // SETTINGS
      frame(1, 4, 1, Buffer.from('hpack bytes, not read')), // HEADERS
      frame(0, 0x8, 1, padded),
      frame(0, 0, 3, twoFramed.subarray(0, 16_384)),
      frame(0, 0, 3, twoFramed.subarray(16_384, 32_768)),
      frame(0, 0, 3, twoFramed.subarray(32_768)),
    ]);
    for (const chunkSize of [1, 7, 1000, bytes.length]) {
      const seen: [number, number][] = [];
      const reader = new GrpcOverH2Reader(true, (stream, message) => seen.push([stream, message.length]));
      for (let at = 0; at < bytes.length; at += chunkSize) reader.feed(bytes.subarray(at, at + chunkSize));
      expect(seen).toEqual([
        [1, one.length],
        [3, two.length],
      ]);
    }
  });

  test('refuses what it cannot read: no preface, a compressed message, a message above the bound', () => {
    expect(() => new GrpcOverH2Reader(true, () => undefined).feed(Buffer.alloc(30))).toThrow('no client preface');
    expect(() =>
      new GrpcOverH2Reader(false, () => undefined).feed(frame(0, 0, 1, grpcMessage(Buffer.from('x'), true))),
    ).toThrow('compressed');
    const huge = Buffer.alloc(5);
    huge.writeUInt32BE(MAX_GRPC_MESSAGE_BYTES + 1, 1);
    expect(() => new GrpcOverH2Reader(false, () => undefined).feed(frame(0, 0, 1, huge))).toThrow(
      `above ${MAX_GRPC_MESSAGE_BYTES}`,
    );
  });
});

describe('AdsWatch', () => {
  test('synced once every type was ACKed with a version; times the response carrying the armed name and its ACK', () => {
    const watch = new AdsWatch();
    watch.fromClient(1, request({ typeUrl: CLUSTER_TYPE }), 1n);
    for (const [i, typeUrl] of TYPES.entries()) {
      expect(watch.synced).toBe(false);
      watch.fromServer(1, response(typeUrl, `n${i}`), 2n);
      watch.fromClient(1, request({ typeUrl, version: `v-n${i}`, nonce: `n${i}` }), 3n);
    }
    expect(watch.synced).toBe(true);

    watch.arm('svc-7');
    watch.fromServer(1, response(EDS, 'other', ['svc-8']), 10n);
    watch.fromClient(1, request({ typeUrl: EDS, version: 'v-other', nonce: 'other' }), 11n);
    expect(watch.flipDone).toBe(false);
    watch.fromServer(1, response(EDS, 'flip', ['svc-6', 'svc-7']), 20n);
    watch.fromClient(1, request({ typeUrl: EDS, version: 'v-flip', nonce: 'flip' }), 25n);
    expect(watch.flipDone).toBe(true);
    expect(watch.sighting).toEqual({ receivedNs: 20n, nonce: 'flip', ackedNs: 25n });
    expect(watch.nacks).toBe(0);
  });

  test('a NACK of the carrying response completes the flip as NACKed and is counted', () => {
    const watch = new AdsWatch();
    watch.fromClient(1, request({ typeUrl: EDS }), 1n);
    watch.arm('svc-1');
    watch.fromServer(1, response(EDS, 'bad', ['svc-1']), 2n);
    watch.fromClient(1, request({ typeUrl: EDS, version: '', nonce: 'bad', nack: true }), 3n);
    expect(watch.flipDone).toBe(true);
    expect(watch.sighting?.nacked).toBe(true);
    expect(watch.nacks).toBe(1);
  });

  test('a second stream whose first request is not a discovery request (load reports) is ignored', () => {
    const watch = new AdsWatch();
    watch.fromClient(3, Buffer.from([0x0a, 0x02, 0x68, 0x69]), 1n); // field 1 only: no type URL
    watch.fromClient(1, request({ typeUrl: EDS }), 2n);
    watch.fromServer(3, response(EDS, 'x', ['svc-1']), 3n);
    watch.fromServer(1, response(EDS, 'y'), 4n);
    expect(watch.responses).toBe(1);
    expect(watch.requests).toBe(1);
  });
});
