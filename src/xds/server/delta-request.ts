// Decoding of delta discovery requests, by hand: the node and error detail are kept as bytes and decoded
// only when read (the node once per stream, after its size was checked), so neither a large node nor a
// large NACK text is turned into objects on every request.
import * as protobuf from 'protobufjs';
import { DeltaRequest } from './wire';
import { LazyNodeAndError } from './lazy-request-fields';

const WIRE_LENGTH_DELIMITED = 2;

class LazyDeltaRequest extends LazyNodeAndError implements DeltaRequest {
  typeUrl = '';
  responseNonce = '';
  readonly subscribe: string[] = [];
  readonly unsubscribe: string[] = [];
  readonly initialVersions = new Map<string, string>();

  constructor() {
    super(undefined, undefined);
  }
}

/** initial_resource_versions entry: {key = 1, value = 2}. */
function readMapEntry(reader: protobuf.Reader, into: Map<string, string>): void {
  const end = reader.uint32() + reader.pos;
  let key = '';
  let value = '';
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === ((1 << 3) | WIRE_LENGTH_DELIMITED)) key = reader.string();
    else if (tag === ((2 << 3) | WIRE_LENGTH_DELIMITED)) value = reader.string();
    else reader.skipType(tag & 7);
  }
  into.set(key, value);
}

export function decodeDeltaRequest(bytes: Buffer): DeltaRequest {
  const request = new LazyDeltaRequest();
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if ((tag & 7) !== WIRE_LENGTH_DELIMITED || field < 1 || field > 7) {
      reader.skipType(tag & 7);
      continue;
    }
    switch (field) {
      case 1:
        request.nodeBytes = reader.bytes();
        break;
      case 2:
        request.typeUrl = reader.string();
        break;
      case 3:
        request.subscribe.push(reader.string());
        break;
      case 4:
        request.unsubscribe.push(reader.string());
        break;
      case 5:
        readMapEntry(reader, request.initialVersions);
        break;
      case 6:
        request.responseNonce = reader.string();
        break;
      case 7:
        request.errorBytes = reader.bytes();
        break;
    }
  }
  return request;
}
