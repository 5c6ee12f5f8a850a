// Hand-assembled encoding of discovery responses. A response is its few header fields followed by resource
// fields that were encoded once in the cache (protobuf concatenation appends repeated fields), so serving
// a client costs no re-encoding. One encoder per server: it holds the shared SotW responses.
import * as protobuf from 'protobufjs';
import { EncodedResource } from '../resource/encoded-resource';
import { ownedBytes } from '../resource/owned-bytes';

/** What ControlPlane{identifier} says unless the server is told otherwise. */
export const DEFAULT_CONTROL_PLANE_IDENTIFIER = 'spillway';

export interface SharedSotwResponse {
  nonce: string;
  bytes: Buffer;
}

export class ResponseEncoder {
  // One encoded response per (resource array, type, version), shared by every stream that sends exactly
  // that: clients of a view get the same arrays (snapshot selection memo), so a storm or a push to
  // thousands of sidecars encodes and copies each distinct response once. Its nonce is tied to the content
  // (version + which array), so it is the same on every stream that gets it; within one stream a nonce
  // still names one content, which is all an ACK or NACK refers to.
  private readonly sharedResponses = new WeakMap<readonly EncodedResource[], Map<string, SharedSotwResponse>>();
  private readonly arrayIds = new WeakMap<readonly EncodedResource[], string>();
  private arrayCounter = 0;

  constructor(
    /** Shared responses' nonces start with it (unique per process and across restarts, see nonce.ts). */
    private readonly noncePrefix: string,
    /** ControlPlane{identifier}, so clients can tell which server (and replica) answered. */
    private readonly controlPlaneIdentifier = DEFAULT_CONTROL_PLANE_IDENTIFIER,
  ) {}

  sotw(typeUrl: string, versionInfo: string, nonce: string, resources: readonly EncodedResource[]): Buffer {
    const writer = protobuf.Writer.create()
      .uint32((1 << 3) | 2)
      .string(versionInfo)
      .uint32((4 << 3) | 2)
      .string(typeUrl)
      .uint32((5 << 3) | 2)
      .string(nonce)
      .uint32((6 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 2)
      .string(this.controlPlaneIdentifier)
      .ldelim();
    return Buffer.concat([writer.finish(), ...resources.map((r) => r.sotwField)]);
  }

  /** The SotW response for exactly these resources at this version, encoded once for every stream that sends it. */
  sharedSotw(typeUrl: string, versionInfo: string, resources: readonly EncodedResource[]): SharedSotwResponse {
    let byVersion = this.sharedResponses.get(resources);
    if (!byVersion) {
      byVersion = new Map();
      this.sharedResponses.set(resources, byVersion);
    }
    const key = `${typeUrl} ${versionInfo}`;
    let response = byVersion.get(key);
    if (!response) {
      const nonce = `${this.noncePrefix}-${this.arrayId(resources)}-${versionInfo}`;
      // Kept while its resource array lives: a buffer of its own, not a slice pinning a shared slab.
      response = { nonce, bytes: ownedBytes(this.sotw(typeUrl, versionInfo, nonce, resources)) };
      byVersion.set(key, response);
    }
    return response;
  }

  delta(
    typeUrl: string,
    systemVersion: string,
    nonce: string,
    resources: readonly EncodedResource[],
    removed: readonly string[],
  ): Buffer {
    const writer = protobuf.Writer.create()
      .uint32((1 << 3) | 2)
      .string(systemVersion)
      .uint32((4 << 3) | 2)
      .string(typeUrl)
      .uint32((5 << 3) | 2)
      .string(nonce)
      .uint32((7 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 2)
      .string(this.controlPlaneIdentifier)
      .ldelim();
    for (const name of removed) writer.uint32((6 << 3) | 2).string(name);
    return Buffer.concat([writer.finish(), ...resources.map((r) => r.deltaField)]);
  }

  private arrayId(resources: readonly EncodedResource[]): string {
    let id = this.arrayIds.get(resources);
    if (id === undefined) {
      id = (++this.arrayCounter).toString(36);
      this.arrayIds.set(resources, id);
    }
    return id;
  }
}
