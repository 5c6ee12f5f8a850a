// How often one stream may send discovery requests: a client that floods them is cut off instead of
// burning the server's CPU.
import * as grpc from '@grpc/grpc-js';
import { TokenBucket } from '../../net/token-bucket';
import { StreamLimits } from './stream-context';
import { StreamClosedError } from './stream-end';

export class RequestRate {
  private readonly bucket: TokenBucket;

  constructor(private readonly limits: StreamLimits) {
    this.bucket = new TokenBucket(limits.requestsPerSecond, limits.requestBurst);
  }

  /** Counts one request; throws when the stream is over its rate. */
  admit(): void {
    if (this.bucket.take()) return;
    throw new StreamClosedError(
      grpc.status.RESOURCE_EXHAUSTED,
      `more than ${this.limits.requestsPerSecond} discovery requests per second (burst ${this.limits.requestBurst}) on one stream; the client is misbehaving`,
    );
  }
}
