// Decoding of state-of-the-world discovery requests, lazily. An Envoy ACKs every EDS response with the
// full list of names it watches (a thousand services: ~50 KB and a thousand strings per ACK, per proxy);
// turning those into strings dominated the cost of a push. The small fields are read at once; the names
// are kept as raw bytes with a digest, and decoded only when the digest differs from the last request's.
import { createHash } from 'crypto';
import * as protobuf from 'protobufjs';
import { messageType } from '../protos';
import { SotwRequest } from './wire';
import { LazyNodeAndError } from './lazy-request-fields';

const WIRE_LENGTH_DELIMITED = 2;

class LazySotwRequest extends LazyNodeAndError implements SotwRequest {
  private names?: string[];
  private digest?: string;

  constructor(
    readonly versionInfo: string,
    readonly typeUrl: string,
    readonly responseNonce: string,
    nodeBytes: Uint8Array | undefined,
    errorBytes: Uint8Array | undefined,
    /** The resource_names fields as they came (tags included), when they were contiguous. */
    readonly namesRegion: Buffer | undefined,
    /** The whole request, to fall back on when the names were interleaved with other fields. */
    private readonly whole: Buffer,
  ) {
    super(nodeBytes, errorBytes);
  }

  get resourceNames(): string[] {
    this.names ??= this.namesRegion ? decodeNamesRegion(this.namesRegion) : fullDecodeNames(this.whole);
    return this.names;
  }

  /** Equal digests mean byte-identical name lists (same names, same order); undefined when not computable. */
  get namesDigest(): string | undefined {
    if (this.namesRegion === undefined) return undefined;
    this.digest ??= createHash('sha1').update(this.namesRegion).digest('base64');
    return this.digest;
  }
}

function decodeNamesRegion(region: Buffer): string[] {
  const reader = protobuf.Reader.create(region);
  const names: string[] = [];
  while (reader.pos < reader.len) {
    reader.uint32(); // the tag: the region holds only resource_names fields
    names.push(reader.string());
  }
  return names;
}

function fullDecodeNames(bytes: Buffer): string[] {
  const type = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  return (type.toObject(type.decode(bytes), { arrays: true }) as { resource_names?: string[] }).resource_names ?? [];
}

export function decodeSotwRequest(bytes: Buffer): SotwRequest {
  const reader = protobuf.Reader.create(bytes);
  let versionInfo = '';
  let typeUrl = '';
  let responseNonce = '';
  let nodeBytes: Uint8Array | undefined;
  let errorBytes: Uint8Array | undefined;
  let namesStart = -1;
  let namesEnd = -1;
  let namesContiguous = true;
  while (reader.pos < reader.len) {
    const tagStart = reader.pos;
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType !== WIRE_LENGTH_DELIMITED || field < 1 || field > 6) {
      // Not a field we read (or an unexpected wire type for one): skip it the way protobuf does.
      reader.skipType(wireType);
      continue;
    }
    switch (field) {
      case 1:
        versionInfo = reader.string();
        break;
      case 2:
        nodeBytes = reader.bytes();
        break;
      case 3:
        reader.skip(reader.uint32());
        if (namesStart < 0) namesStart = tagStart;
        else if (tagStart !== namesEnd) namesContiguous = false;
        namesEnd = reader.pos;
        break;
      case 4:
        typeUrl = reader.string();
        break;
      case 5:
        responseNonce = reader.string();
        break;
      case 6:
        errorBytes = reader.bytes();
        break;
    }
  }
  const namesRegion =
    namesStart < 0 ? Buffer.alloc(0) : namesContiguous ? bytes.subarray(namesStart, namesEnd) : undefined;
  return new LazySotwRequest(versionInfo, typeUrl, responseNonce, nodeBytes, errorBytes, namesRegion, bytes);
}
