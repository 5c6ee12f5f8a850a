// gRPC clients refuse messages over 4 MiB unless told otherwise, and then say only "Received message
// larger than max": say, once per stream and type, what the operator can do about it.
import type { Logger } from 'pino';
import { shortTypeName, XdsTypeUrl } from '../resource-types';

/** What a gRPC client (grpc-js, grpc-go) accepts in one message unless configured otherwise. */
export const GRPC_DEFAULT_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

export class GrpcSizeWarning {
  /** Types already warned about (once per stream and type). */
  private readonly warned = new Set<string>();

  check(typeUrl: XdsTypeUrl, bytes: number, userAgent: string | undefined, log: Logger): void {
    if (bytes <= GRPC_DEFAULT_MAX_RECEIVE_BYTES || userAgent === undefined || !/grpc/i.test(userAgent)) return;
    const type = shortTypeName(typeUrl);
    if (this.warned.has(type)) return;
    this.warned.add(type);
    log.warn(
      { type, bytes, limit: GRPC_DEFAULT_MAX_RECEIVE_BYTES },
      `this ${type} response (${(bytes / 1048576).toFixed(1)} MiB) is over the 4 MiB gRPC clients accept by default: the client will fail with "Received message larger than max"; raise its grpc.max_receive_message_length, or split the mesh (docs/OPERATIONS.md, big meshes)`,
    );
  }
}
