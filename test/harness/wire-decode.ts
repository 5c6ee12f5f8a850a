// Decodes a resource exactly as a client receives it (the SotW `resources` entry: an Any), so golden files
// and tests show what is on the wire, not what a builder meant to send.
import * as protobuf from 'protobufjs';
import { EncodedResource } from '../../src/xds/resource/encoded-resource';
import { messageType } from '../../src/xds/protos';

const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** The decoded message of `resource.sotwField`, as plain data: proto field names, enums by name, Any expanded. */
export function decodeOnWire(resource: EncodedResource): Record<string, unknown> {
  const reader = protobuf.Reader.create(resource.sotwField);
  reader.uint32(); // the field's tag (resources = 2, length-delimited)
  const any = messageType('google.protobuf.Any').decode(reader.bytes()) as unknown as {
    type_url: string;
    value: Uint8Array;
  };
  const type = messageType(any.type_url.slice(TYPE_URL_PREFIX.length));
  // json: Any values nested in the message (typed_config) come out as {'@type', fields}, as Envoy's JSON shows them.
  return type.toObject(type.decode(any.value), { enums: String, longs: Number, bytes: String, json: true });
}
