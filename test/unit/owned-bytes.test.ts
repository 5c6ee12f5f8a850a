// Long-lived encoded bytes must not be slices of Node's shared allocation slab (a kept slice pins 8 KiB),
// and the delta form of a resource is built only when a delta stream asks for it, then kept.
import { ownedBytes } from '../../src/xds/resource/owned-bytes';
import { encodeResource } from '../../src/xds/resource/encoded-resource';
import { CLUSTER_TYPE } from '../../src/xds/resource-types';

describe('owned bytes', () => {
  test('a pooled slice is copied into a buffer of its own; an owning buffer is kept as is', () => {
    const pooled = Buffer.from('small');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength); // Node's pool, as the fix assumes
    const own = ownedBytes(pooled);
    expect(own.buffer.byteLength).toBe(own.byteLength);
    expect(own.equals(pooled)).toBe(true);
    const big = Buffer.allocUnsafeSlow(16);
    expect(ownedBytes(big)).toBe(big);
  });

  test('an encoded resource owns its bytes, and its delta form carries the same Any', () => {
    const resource = encodeResource(CLUSTER_TYPE, 'c', { name: 'c', type: 'EDS' });
    expect(resource.sotwField.buffer.byteLength).toBe(resource.sotwField.byteLength);
    const delta = resource.deltaField;
    expect(resource.deltaField).toBe(delta); // built once
    expect(delta.buffer.byteLength).toBe(delta.byteLength);
    // The Any (sotwField without its 2-byte tag+length header) appears inside the delta Resource.
    const any = Buffer.from(resource.sotwField.subarray(2));
    expect(Buffer.from(delta).includes(any)).toBe(true);
  });
});
