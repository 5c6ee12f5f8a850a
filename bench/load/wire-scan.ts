// Reads only the protobuf fields the load generator needs, skipping everything else, so thousands of
// clients can follow a server without decoding whole responses (the client's cost must stay small
// next to the server's, which is what is measured).
import * as protobuf from 'protobufjs';

const LENGTH_DELIMITED = 2;

/** Calls `visit` for every length-delimited field of a message, with its number and bytes. */
export function forEachBytesField(bytes: Uint8Array, visit: (field: number, value: Uint8Array) => void): void {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === LENGTH_DELIMITED) visit(field, reader.bytes());
    else reader.skipType(wireType);
  }
}

/** The varint fields of a message (enums, integers), by number; the last value wins as in protobuf. */
export function varintFields(bytes: Uint8Array): Map<number, number> {
  const values = new Map<number, number>();
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    if (wireType === 0) values.set(tag >>> 3, reader.uint32());
    else reader.skipType(wireType);
  }
  return values;
}

const decoder = new TextDecoder();

export function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** The first length-delimited field with this number, or undefined. */
export function bytesField(bytes: Uint8Array, wanted: number): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  forEachBytesField(bytes, (field, value) => {
    if (found === undefined && field === wanted) found = value;
  });
  return found;
}

export function stringField(bytes: Uint8Array, wanted: number): string | undefined {
  const value = bytesField(bytes, wanted);
  return value === undefined ? undefined : utf8(value);
}
