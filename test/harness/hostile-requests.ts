// Discovery requests assembled by hand, for tests that play a hostile client: tens of megabytes of resource
// names are written straight into a buffer (one fill and a few bytes per name), not built as strings and
// encoded, so a test can send what an attacker would without spending its own time and memory on it.
import { messageType } from '../../src/xds/protos';

export interface HostileNode {
  id: string;
  cluster?: string;
  /** String metadata values (CLUSTER_ID, or padding to make a node large). */
  metadata?: Record<string, string>;
  userAgentName?: string;
}

const TAG_LENGTH_DELIMITED = 2;

function varint(value: number): number[] {
  const bytes: number[] = [];
  for (let rest = value; ; rest = Math.floor(rest / 128)) {
    if (rest < 0x80) {
      bytes.push(rest);
      return bytes;
    }
    bytes.push((rest % 128) | 0x80);
  }
}

/** One length-delimited field: tag, length, bytes. */
export function field(fieldNumber: number, bytes: Uint8Array | string): Buffer {
  const body =
    typeof bytes === 'string'
      ? Buffer.from(bytes, 'utf8')
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Buffer.concat([Buffer.from([(fieldNumber << 3) | TAG_LENGTH_DELIMITED, ...varint(body.length)]), body]);
}

/**
 * `count` distinct names of exactly `length` ASCII characters (`prefix-i-xxxx...`), each as field
 * `fieldNumber`: SotW resource_names is 3, delta resource_names_subscribe is 3 too.
 */
export function namesRegion(fieldNumber: number, prefix: string, count: number, length: number): Buffer {
  const header = Buffer.from([(fieldNumber << 3) | TAG_LENGTH_DELIMITED, ...varint(length)]);
  const stride = header.length + length;
  const region = Buffer.alloc(count * stride, 'x');
  for (let i = 0; i < count; i++) {
    const at = i * stride;
    header.copy(region, at);
    region.write(`${prefix}-${i}-`, at + header.length, 'latin1');
  }
  return region;
}

export function encodeNode(node: HostileNode): Buffer {
  const fields: Record<string, { stringValue: string }> = {};
  for (const [key, value] of Object.entries(node.metadata ?? {})) fields[key] = { stringValue: value };
  const type = messageType('envoy.config.core.v3.Node');
  const message = type.fromObject({
    id: node.id,
    cluster: node.cluster ?? 'hostile',
    metadata: { fields },
    user_agent_name: node.userAgentName ?? 'hostile-client',
  });
  return Buffer.from(type.encode(message).finish());
}

/** A node as fields (or its bytes as they are: several encoded nodes concatenated are one merged node). */
function nodeBytes(node: HostileNode | Buffer | undefined): Buffer | undefined {
  return node === undefined || Buffer.isBuffer(node) ? node : encodeNode(node);
}

/** DiscoveryRequest{version_info = 1, node = 2, resource_names = 3 (the region), type_url = 4, response_nonce = 5}. */
export function sotwRequest(
  typeUrl: string,
  names: Buffer,
  node?: HostileNode | Buffer,
  ack?: { versionInfo: string; nonce: string },
): Buffer {
  const bytes = nodeBytes(node);
  const none = Buffer.alloc(0);
  return Buffer.concat([
    ack ? field(1, ack.versionInfo) : none,
    bytes ? field(2, bytes) : none,
    names,
    field(4, typeUrl),
    ack ? field(5, ack.nonce) : none,
  ]);
}

/** DeltaDiscoveryRequest{node = 1, type_url = 2, resource_names_subscribe = 3 (the region)}. */
export function deltaRequest(typeUrl: string, subscribe: Buffer, node?: HostileNode | Buffer): Buffer {
  const bytes = nodeBytes(node);
  return Buffer.concat([bytes ? field(1, bytes) : Buffer.alloc(0), field(2, typeUrl), subscribe]);
}
