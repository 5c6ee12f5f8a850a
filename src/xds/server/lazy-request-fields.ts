// What SotW and delta requests share: the node and the error detail kept as bytes, decoded only when read
// (the node once per stream, after its size was checked; a NACK's text only when it is a NACK).
import { ErrorDetail, toErrorDetail } from './wire';
import { NodeInfo } from '../node/node-info';
import { decodeNode, decodePlain, toNodeInfo } from '../node/node-decoding';

export abstract class LazyNodeAndError {
  private decodedNode?: { value: NodeInfo | undefined };
  private decodedError?: { value: ErrorDetail | undefined };

  constructor(
    /** The node as it came; decoded only when `node` is read. */
    public nodeBytes: Uint8Array | undefined,
    public errorBytes: Uint8Array | undefined,
  ) {}

  get node(): NodeInfo | undefined {
    this.decodedNode ??= { value: toNodeInfo(decodeNode(this.nodeBytes)) };
    return this.decodedNode.value;
  }

  get errorDetail(): ErrorDetail | undefined {
    this.decodedError ??= { value: toErrorDetail(decodePlain('google.rpc.Status', this.errorBytes)) };
    return this.decodedError.value;
  }
}
