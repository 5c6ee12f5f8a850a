// Delta requests are decoded by hand (node and error detail only when read); the result must match a full
// protobuf decode. Empty EDS answers are assembled by hand too, and must be byte for byte what the encoder
// makes. And grpc-js must not keep a stream's last request once it is decoded.
import { messageType } from '../../src/xds/protos';
import { decodeDeltaRequest } from '../../src/xds/server/delta-request';
import { EmptyResources } from '../../src/xds/server/empty-resources';
import { encodeResource } from '../../src/xds/resource/encoded-resource';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../src/xds/resource-types';
import { releaseRequestChunksAfterDecoding } from '../../src/xds/server/grpc-request-chunks';

describe('delta request decoding', () => {
  const Request = messageType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  const encode = (message: Record<string, unknown>) =>
    Buffer.from(Request.encode(Request.fromObject(message)).finish());

  test('every field matches a full decode', () => {
    const request = decodeDeltaRequest(
      encode({
        node: {
          id: 'sidecar-1',
          cluster: 'c',
          metadata: { fields: { CLUSTER_ID: { stringValue: 'east' } } },
          user_agent_name: 'envoy',
        },
        type_url: ENDPOINT_TYPE,
        resource_names_subscribe: ['a', 'ü-b'],
        resource_names_unsubscribe: ['c'],
        initial_resource_versions: { a: 'v1', 'ü-b': 'v2' },
        response_nonce: 'n1',
        error_detail: { code: 3, message: 'rejected' },
      }),
    );
    expect(request.typeUrl).toBe(ENDPOINT_TYPE);
    expect(request.subscribe).toEqual(['a', 'ü-b']);
    expect(request.unsubscribe).toEqual(['c']);
    expect([...request.initialVersions]).toEqual([
      ['a', 'v1'],
      ['ü-b', 'v2'],
    ]);
    expect(request.responseNonce).toBe('n1');
    expect(request.node).toMatchObject({
      id: 'sidecar-1',
      cluster: 'c',
      metadata: { CLUSTER_ID: 'east' },
      userAgentName: 'envoy',
    });
    expect(request.nodeBytes?.length).toBeGreaterThan(0);
    expect(request.errorDetail).toEqual({ code: 3, message: 'rejected' });
  });

  test('an empty request: nothing, and no node', () => {
    const request = decodeDeltaRequest(encode({ type_url: CLUSTER_TYPE }));
    expect(request).toMatchObject({ typeUrl: CLUSTER_TYPE, subscribe: [], unsubscribe: [], responseNonce: '' });
    expect(request.initialVersions.size).toBe(0);
    expect(request.node).toBeUndefined();
    expect(request.errorDetail).toBeUndefined();
  });
});

describe('empty EDS answers', () => {
  test.each(['a', 'outbound|8080||checkout.shop.svc.cluster.local', 'ü-é-🙂', 'x'.repeat(2_048), ''])(
    'are what the encoder makes (name %#)',
    (name) => {
      const empties = new EmptyResources();
      const set = {};
      const built = empties.for(ENDPOINT_TYPE, name, set);
      const encoded = encodeResource(ENDPOINT_TYPE, name, { cluster_name: name, endpoints: [] });
      expect(built?.version).toBe(encoded.version);
      expect(Buffer.from(built?.sotwField ?? [])).toEqual(Buffer.from(encoded.sotwField));
      expect(Buffer.from(built?.deltaField ?? [])).toEqual(Buffer.from(encoded.deltaField));
      expect(empties.for(ENDPOINT_TYPE, name, set)).toBe(built); // one per name set
      expect(empties.for(ENDPOINT_TYPE, name, {})).not.toBe(built);
      expect(empties.for(CLUSTER_TYPE, name, set)).toBeUndefined();
    },
  );
});

describe('grpc-js request chunks', () => {
  interface DecoderInternals {
    readPartialMessage: Buffer[];
    readCompressFlag: Buffer;
    write(data: Buffer): Buffer[];
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an internal module of grpc-js, typed here with the private fields read
  const { StreamDecoder } = require('@grpc/grpc-js/build/src/stream-decoder') as {
    StreamDecoder: new (max: number) => DecoderInternals;
  };

  test('a decoded request is no longer referenced by the decoder (grpc-js internals are as expected)', () => {
    expect(releaseRequestChunksAfterDecoding()).toBe(true);
    const decoder = new StreamDecoder(1024);
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 6]), Buffer.from('abcdef')]);
    expect(decoder.write(framed.subarray(0, 7))).toEqual([]);
    expect(decoder.readPartialMessage.length).toBe(1); // mid-message: kept, as it must be
    const [message] = decoder.write(framed.subarray(7));
    expect(message).toEqual(framed);
    expect(decoder.readPartialMessage).toEqual([]);
    expect(decoder.readCompressFlag.buffer).not.toBe(framed.buffer);
    // The next message decodes as before.
    expect(decoder.write(framed)).toEqual([framed]);
  });
});
