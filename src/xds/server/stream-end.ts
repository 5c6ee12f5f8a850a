// How a stream ends on purpose: any part may throw StreamClosedError, and the stream closes with its
// status (bounded: it travels in HTTP/2 trailers).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { bounded } from './bounded-text';

export class StreamClosedError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** Status details stay short: they travel in HTTP/2 trailers, and a long one never reaches the client. */
export const MAX_STATUS_CHARS = 1024;

/** Ends the call with `code` and a bounded `message` the client sees. */
export function endWithStatus(
  call: { emit(event: 'error', error: grpc.ServiceError): boolean },
  code: grpc.status,
  message: string,
  log: Logger,
): void {
  const details = bounded(message, MAX_STATUS_CHARS);
  log.warn({ code: grpc.status[code], message: details }, 'closing xDS stream');
  call.emit('error', { code, details, message: details, name: 'StreamClosedError' } as grpc.ServiceError);
}
