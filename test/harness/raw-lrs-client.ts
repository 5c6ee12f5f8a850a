// A bare load reporting (LRS) client: sends exactly the LoadStatsRequests a test writes, as Envoy or a
// hostile process would, and records the server's responses and final status.
import * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/xds/protos';
import { RawNode, StreamEnd } from './raw-ads-client';
import { EventSignal } from './event-signal';

const PATH = '/envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats';

export interface RawLocalityLoad {
  /** The mesh cluster that served the requests (Spillway puts it in the locality's sub_zone). */
  subZone: string;
  successful: number;
  errors?: number;
  priority?: number;
}

export interface RawClusterLoad {
  name: string;
  localities: RawLocalityLoad[];
}

function nodeMessage(node: RawNode): Record<string, unknown> {
  const fields: Record<string, { stringValue: string }> = {};
  for (const [key, value] of Object.entries(node.metadata ?? {})) fields[key] = { stringValue: value };
  return { id: node.id, cluster: 'raw-lrs-test', metadata: { fields }, user_agent_name: 'raw-lrs-client' };
}

/** Encodes one LoadStatsRequest, as Envoy does (node in every report). */
export function encodeLoadReport(node: RawNode | undefined, clusters: readonly RawClusterLoad[]): Buffer {
  const type = messageType('envoy.service.load_stats.v3.LoadStatsRequest');
  const message = type.fromObject({
    node: node ? nodeMessage(node) : undefined,
    cluster_stats: clusters.map((cluster) => ({
      cluster_name: cluster.name,
      upstream_locality_stats: cluster.localities.map((locality) => ({
        locality: { region: 'r', zone: 'z', sub_zone: locality.subZone },
        priority: locality.priority ?? 0,
        total_successful_requests: locality.successful,
        total_error_requests: locality.errors ?? 0,
      })),
      load_report_interval: { seconds: 1 },
    })),
  });
  return Buffer.from(type.encode(message).finish());
}

export class RawLrsClient {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private ended?: StreamEnd;
  private readonly signal = new EventSignal();
  responses = 0;

  constructor(address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {
    // Own channel per stream, and no client-side size limit: the tests send what an attacker would.
    this.client = new grpc.Client(address, credentials, {
      'grpc.max_send_message_length': -1,
      'grpc.use_local_subchannel_pool': 1,
    });
    this.call = this.client.makeBidiStreamRequest(
      PATH,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
    );
    this.call.on('data', () => {
      this.responses++;
      this.signal.notify();
    });
    this.call.on('status', (status: grpc.StatusObject) => {
      this.ended = { code: status.code, details: status.details };
      this.signal.notify();
    });
    this.call.on('error', () => {
      /* surfaced through 'status' */
    });
  }

  report(node: RawNode | undefined, clusters: readonly RawClusterLoad[]): void {
    this.sendRaw(encodeLoadReport(node, clusters));
  }

  sendRaw(bytes: Buffer): void {
    if (!this.ended) this.call.write(bytes);
  }

  /** Waits for the server's first LoadStatsResponse (the stream was accepted). */
  async accepted(timeoutMs = 3_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses === 0) {
      if (this.ended)
        throw new Error(`LRS stream ended (${this.ended.code}: ${this.ended.details}) before any response`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no LoadStatsResponse within ${timeoutMs} ms`);
      await this.signal.wait(left);
    }
  }

  /** The stream's final status, or undefined if it is still open after timeoutMs. */
  async end(timeoutMs = 3_000): Promise<StreamEnd | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await this.signal.wait(left);
    }
    return this.ended;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}
