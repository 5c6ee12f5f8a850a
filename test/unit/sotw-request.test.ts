// The lazy SotW request decoder agrees with a full protobuf decode, and its names digest tells identical
// name lists from different ones without decoding them.
import * as protobuf from 'protobufjs';
import { messageType } from '../../src/xds/protos';
import { decodeSotwRequest } from '../../src/xds/server/sotw-request';
import { ENDPOINT_TYPE } from '../../src/xds/resource-types';

const REQUEST = 'envoy.service.discovery.v3.DiscoveryRequest';

function encode(message: Record<string, unknown>): Buffer {
  const type = messageType(REQUEST);
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}

describe('lazy SotW request decoding', () => {
  test('every field matches a full decode', () => {
    const bytes = encode({
      version_info: 'v1',
      node: {
        id: 'sidecar-1',
        cluster: 'c',
        metadata: { fields: { CLUSTER_ID: { stringValue: 'east' } } },
        user_agent_name: 'envoy',
      },
      resource_names: ['b', 'a', 'ü-unicode'],
      type_url: ENDPOINT_TYPE,
      response_nonce: 'n7',
      error_detail: { code: 3, message: 'bad cluster' },
    });
    const request = decodeSotwRequest(bytes);
    expect(request.versionInfo).toBe('v1');
    expect(request.typeUrl).toBe(ENDPOINT_TYPE);
    expect(request.responseNonce).toBe('n7');
    expect(request.resourceNames).toEqual(['b', 'a', 'ü-unicode']);
    expect(request.node).toMatchObject({
      id: 'sidecar-1',
      cluster: 'c',
      metadata: { CLUSTER_ID: 'east' },
      userAgentName: 'envoy',
    });
    expect(request.errorDetail).toEqual({ code: 3, message: 'bad cluster' });
    expect(request.namesDigest).toBeDefined();
  });

  test('a request without node, names or error: empty names, nothing else', () => {
    const request = decodeSotwRequest(encode({ type_url: ENDPOINT_TYPE }));
    expect(request.resourceNames).toEqual([]);
    expect(request.node).toBeUndefined();
    expect(request.errorDetail).toBeUndefined();
    expect(request.namesDigest).toBe(
      decodeSotwRequest(encode({ type_url: ENDPOINT_TYPE, response_nonce: 'x' })).namesDigest,
    );
  });

  test('the digest is equal for the same list only (same names, same order)', () => {
    const digest = (names: string[], nonce = '') =>
      decodeSotwRequest(encode({ type_url: ENDPOINT_TYPE, resource_names: names, response_nonce: nonce })).namesDigest;
    expect(digest(['a', 'b'], 'n1')).toBe(digest(['a', 'b'], 'n2'));
    expect(digest(['a', 'b'])).not.toBe(digest(['b', 'a']));
    expect(digest(['a', 'b'])).not.toBe(digest(['a', 'bc']));
    expect(digest(['a'])).not.toBe(digest([]));
  });

  test('names interleaved with other fields are still decoded (no digest then)', () => {
    const writer = protobuf.Writer.create();
    writer.uint32((3 << 3) | 2).string('first');
    writer.uint32((4 << 3) | 2).string(ENDPOINT_TYPE);
    writer.uint32((3 << 3) | 2).string('second');
    writer.uint32((99 << 3) | 0).uint32(5); // an unknown varint field is skipped
    const request = decodeSotwRequest(Buffer.from(writer.finish()));
    expect(request.resourceNames).toEqual(['first', 'second']);
    expect(request.typeUrl).toBe(ENDPOINT_TYPE);
    expect(request.namesDigest).toBeUndefined();
  });

  test('a truncated name list is an error (protobufjs would silently cut the name short)', () => {
    const bytes = encode({ resource_names: ['a-long-name'] });
    expect(() => decodeSotwRequest(bytes.subarray(0, bytes.length - 3))).toThrow();
  });
});
