// A thin typed client for the test Echo service; works with plain targets ("127.0.0.1:50051") and,
// once @grpc/grpc-js-xds is registered in the process, with "xds:///..." targets.
import * as grpc from '@grpc/grpc-js';
import { echoServiceDefinition, toWhoReply, WhoReply } from './echo-proto';

const DEFAULT_DEADLINE_MS = 2000;

/** A failed call, keeping the gRPC status name (e.g. "UNAVAILABLE") for tallies. */
export class EchoCallError extends Error {
  constructor(
    readonly statusName: string,
    message: string,
  ) {
    super(message);
  }
}

export function statusName(code: grpc.status): string {
  return grpc.status[code] ?? `CODE_${code}`;
}

export class EchoClient {
  private readonly client: grpc.Client;

  constructor(target: string, credentials = grpc.credentials.createInsecure()) {
    this.client = new grpc.Client(target, credentials);
  }

  who(payload: string, deadlineMs = DEFAULT_DEADLINE_MS): Promise<WhoReply> {
    const method = echoServiceDefinition().Who;
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        { payload },
        { deadline: Date.now() + deadlineMs },
        (err, reply) => {
          if (err) {
            reject(new EchoCallError(statusName(err.code), err.message));
            return;
          }
          try {
            resolve(toWhoReply(reply));
          } catch (parseErr) {
            reject(new EchoCallError('INTERNAL', String(parseErr)));
          }
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** One Who call on a fresh channel, e.g. to check a gRPC backend directly. */
export async function callEcho(target: string, payload = 'ping', deadlineMs = DEFAULT_DEADLINE_MS): Promise<WhoReply> {
  const client = new EchoClient(target);
  try {
    return await client.who(payload, deadlineMs);
  } finally {
    client.close();
  }
}
