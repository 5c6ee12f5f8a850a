// An xDS client that reads only the response headers (version, type, nonce) and keeps the resources as
// bytes: like a proxy, it pays for receiving a 40 MB response, not for turning 50,000 clusters into
// JavaScript objects, so what the figures show is the server's time.
import * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/xds/protos';
import { ResponseHeader, readSotwResponse } from '../load/discovery-messages';

const ADS_SOTW = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const UNLIMITED = -1;

export class LightAdsClient {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private readonly queue: ResponseHeader[] = [];
  private wake?: () => void;
  private ended?: string;

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': UNLIMITED,
    });
    this.call = this.client.makeBidiStreamRequest(
      ADS_SOTW,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
    );
    this.call.on('data', (bytes: Buffer) => {
      this.queue.push(readSotwResponse(bytes));
      this.wake?.();
    });
    this.call.on('status', (status: grpc.StatusObject) => {
      this.ended = `${status.code}: ${status.details}`;
      this.wake?.();
    });
    this.call.on('error', () => undefined); // surfaced through 'status'
  }

  send(
    typeUrl: string,
    options: { node?: { id: string; metadata: Record<string, string> }; versionInfo?: string; nonce?: string } = {},
  ): void {
    const type = messageType('envoy.service.discovery.v3.DiscoveryRequest');
    const fields: Record<string, { stringValue: string }> = {};
    for (const [key, value] of Object.entries(options.node?.metadata ?? {})) fields[key] = { stringValue: value };
    const message = type.fromObject({
      node: options.node
        ? { id: options.node.id, metadata: { fields }, locality: { region: 'r1', zone: 'r1-a' } }
        : undefined,
      type_url: typeUrl,
      version_info: options.versionInfo ?? '',
      response_nonce: options.nonce ?? '',
    });
    this.call.write(Buffer.from(type.encode(message).finish()));
  }

  /** The next response of `typeUrl`, ACKed at once as a proxy would. */
  async next(typeUrl: string, timeoutMs: number): Promise<ResponseHeader> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.queue.findIndex((response) => response.typeUrl === typeUrl);
      if (index >= 0) {
        const [response] = this.queue.splice(index, 1) as [ResponseHeader];
        this.send(typeUrl, { versionInfo: response.versionInfo, nonce: response.nonce });
        return response;
      }
      if (this.ended) throw new Error(`stream ended (${this.ended}) while waiting for ${typeUrl}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${typeUrl} response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** Whether a response carries a resource whose bytes contain `name` (a scan, no decoding). */
export function carriesName(response: ResponseHeader, name: string): boolean {
  const needle = Buffer.from(name);
  return response.resources.some((resource) =>
    Buffer.from(resource.buffer, resource.byteOffset, resource.byteLength).includes(needle),
  );
}
