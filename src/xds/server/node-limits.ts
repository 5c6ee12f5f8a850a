// Bounds on the Node of a stream's first request, checked on its bytes before anything is decoded: an
// oversize node is refused with a short status that never echoes it (a status of megabytes does not even
// reach the client: it travels in HTTP/2 trailers).
import * as protobuf from 'protobufjs';
import { CLIENT_LIMIT_FLAGS, ClientLimits } from './client-limits';

const WIRE_LENGTH_DELIMITED = 2;

/** Node fields bounded one by one (envoy.config.core.v3.Node field numbers). */
const FIELDS: ReadonlyMap<number, { name: string; limit: 'maxNodeFieldBytes' | 'maxNodeMetadataBytes' }> = new Map([
  [1, { name: 'id', limit: 'maxNodeFieldBytes' }],
  [2, { name: 'cluster', limit: 'maxNodeFieldBytes' }],
  [3, { name: 'metadata', limit: 'maxNodeMetadataBytes' }],
  [6, { name: 'user_agent_name', limit: 'maxNodeFieldBytes' }],
  [7, { name: 'user_agent_version', limit: 'maxNodeFieldBytes' }],
]);

export type NodeLimits = Pick<ClientLimits, 'maxNodeBytes' | 'maxNodeMetadataBytes' | 'maxNodeFieldBytes'>;

/** Why a node's bytes are over a bound (a short text naming the flag), or undefined when they are fine. */
export function nodeSizeProblem(bytes: Uint8Array, limits: NodeLimits): string | undefined {
  // The field that is too large, if one is (the more useful answer), else the whole node.
  const fieldProblem = oversizeField(bytes, limits);
  if (fieldProblem) return fieldProblem;
  if (bytes.length > limits.maxNodeBytes) {
    return `node of ${bytes.length} bytes is over the limit of ${limits.maxNodeBytes} (--${CLIENT_LIMIT_FLAGS.maxNodeBytes}); send a smaller node`;
  }
  return undefined;
}

function oversizeField(bytes: Uint8Array, limits: NodeLimits): string | undefined {
  const reader = protobuf.Reader.create(bytes);
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = FIELDS.get(tag >>> 3);
      if (!field || (tag & 7) !== WIRE_LENGTH_DELIMITED) {
        reader.skipType(tag & 7);
        continue;
      }
      const length = reader.uint32();
      const limit = limits[field.limit];
      if (length > limit) {
        return `node ${field.name} of ${length} bytes is over the limit of ${limit} (--${CLIENT_LIMIT_FLAGS[field.limit]})`;
      }
      reader.skip(length);
    }
  } catch {
    return 'node is not a valid envoy.config.core.v3.Node message';
  }
  return undefined;
}
