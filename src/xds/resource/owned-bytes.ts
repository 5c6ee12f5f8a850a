// Node hands out small buffers (under 4 KiB: Buffer.allocUnsafe, Buffer.concat, protobufjs's writer) as
// slices of a shared 8 KiB slab, and a slice keeps its whole slab alive. Encoded resources and responses
// live as long as the configuration does, so one small slice kept per view could pin a slab per view.
// Bytes meant to be kept get a buffer of their own, exactly their size.

/** `bytes` itself when it owns its memory, else a copy that does. */
export function ownedBytes(bytes: Uint8Array): Buffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && Buffer.isBuffer(bytes)) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.byteLength);
  own.set(bytes);
  return own;
}
