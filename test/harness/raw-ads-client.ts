// A bare xDS client for protocol tests: sends exactly the requests a test writes and queues every
// response, decoded, so each rule of the protocol can be checked one message at a time.
import * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/xds/protos';
import { EventSignal } from './event-signal';

export type RawMode = 'sotw' | 'delta';

export interface RawNode {
  id: string;
  metadata?: Record<string, string>;
  locality?: { region?: string; zone?: string };
  /** node.user_agent_name (default raw-ads-client); e.g. grpc-node-js to look like a proxyless client. */
  userAgent?: string;
}

export interface DecodedResource {
  name: string;
  version?: string;
  message: Record<string, unknown>;
}

export interface RawResponse {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: DecodedResource[];
  removed: string[];
}

export interface StreamEnd {
  code: number;
  details: string;
}

const TO_OBJECT = { longs: String, enums: String, defaults: false, arrays: true, objects: true };

function nodeMessage(node: RawNode | undefined): Record<string, unknown> | undefined {
  if (!node) return undefined;
  const fields: Record<string, { stringValue: string }> = {};
  for (const [key, value] of Object.entries(node.metadata ?? {})) fields[key] = { stringValue: value };
  return {
    id: node.id,
    cluster: 'raw-test',
    metadata: { fields },
    locality: node.locality,
    user_agent_name: node.userAgent ?? 'raw-ads-client',
  };
}

function decodeAny(any: { type_url?: string; value?: Uint8Array }): Record<string, unknown> {
  const typeName = (any.type_url ?? '').split('/').pop() as string;
  const type = messageType(typeName);
  return type.toObject(type.decode(any.value ?? new Uint8Array()), TO_OBJECT);
}

function nameOf(message: Record<string, unknown>): string {
  const name = message.name ?? message.cluster_name;
  return typeof name === 'string' ? name : '';
}

function decodeResponse(mode: RawMode, bytes: Buffer): RawResponse {
  if (mode === 'sotw') {
    const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
    const raw = type.toObject(type.decode(bytes), TO_OBJECT) as {
      version_info?: string;
      type_url?: string;
      nonce?: string;
      resources?: { type_url?: string; value?: Uint8Array }[];
    };
    const resources = (raw.resources ?? []).map((any) => {
      const message = decodeAny(any);
      return { name: nameOf(message), message };
    });
    return {
      versionInfo: raw.version_info ?? '',
      typeUrl: raw.type_url ?? '',
      nonce: raw.nonce ?? '',
      resources,
      removed: [],
    };
  }
  const type = messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  const raw = type.toObject(type.decode(bytes), TO_OBJECT) as {
    system_version_info?: string;
    type_url?: string;
    nonce?: string;
    resources?: { name?: string; version?: string; resource?: { type_url?: string; value?: Uint8Array } }[];
    removed_resources?: string[];
  };
  const resources = (raw.resources ?? []).map((r) => ({
    name: r.name ?? '',
    version: r.version,
    message: r.resource ? decodeAny(r.resource) : {},
  }));
  return {
    versionInfo: raw.system_version_info ?? '',
    typeUrl: raw.type_url ?? '',
    nonce: raw.nonce ?? '',
    resources,
    removed: raw.removed_resources ?? [],
  };
}

export interface SotwRequestInput {
  typeUrl: string;
  node?: RawNode;
  resourceNames?: string[];
  versionInfo?: string;
  responseNonce?: string;
  errorMessage?: string;
}

export interface DeltaRequestInput {
  typeUrl: string;
  node?: RawNode;
  subscribe?: string[];
  unsubscribe?: string[];
  initialVersions?: Record<string, string>;
  responseNonce?: string;
  errorMessage?: string;
}

const SERVICES: Record<string, { sotw: string; delta: string }> = {
  ads: {
    sotw: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
    delta: '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources',
  },
  cds: {
    sotw: '/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters',
    delta: '/envoy.service.cluster.v3.ClusterDiscoveryService/DeltaClusters',
  },
};

export class RawAdsClient {
  private readonly queue: RawResponse[] = [];
  private readonly signal = new EventSignal();
  private ended?: StreamEnd;
  readonly client: grpc.Client;
  private readonly ownsChannel: boolean;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;

  constructor(
    address: string,
    readonly mode: RawMode,
    service: 'ads' | 'cds' = 'ads',
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    channelOptions: grpc.ChannelOptions = {},
    /** Open this stream on an existing channel (several streams on one HTTP/2 connection). */
    sharedChannel?: grpc.Client,
  ) {
    this.client = sharedChannel ?? new grpc.Client(address, credentials, channelOptions);
    this.ownsChannel = sharedChannel === undefined;
    const path = SERVICES[service][mode];
    this.call = this.client.makeBidiStreamRequest(
      path,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
    );
    this.call.on('data', (bytes: Buffer) => {
      this.queue.push(decodeResponse(mode, bytes));
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

  sendSotw(input: SotwRequestInput): void {
    const type = messageType('envoy.service.discovery.v3.DiscoveryRequest');
    const message = type.fromObject({
      version_info: input.versionInfo ?? '',
      node: nodeMessage(input.node),
      resource_names: input.resourceNames ?? [],
      type_url: input.typeUrl,
      response_nonce: input.responseNonce ?? '',
      error_detail: input.errorMessage ? { code: 3, message: input.errorMessage } : undefined,
    });
    this.call.write(Buffer.from(type.encode(message).finish()));
  }

  sendDelta(input: DeltaRequestInput): void {
    const type = messageType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
    const message = type.fromObject({
      node: nodeMessage(input.node),
      type_url: input.typeUrl,
      resource_names_subscribe: input.subscribe ?? [],
      resource_names_unsubscribe: input.unsubscribe ?? [],
      initial_resource_versions: input.initialVersions ?? {},
      response_nonce: input.responseNonce ?? '',
      error_detail: input.errorMessage ? { code: 3, message: input.errorMessage } : undefined,
    });
    this.call.write(Buffer.from(type.encode(message).finish()));
  }

  /** Sends bytes as they are (a request assembled by hand, see hostile-requests.ts). */
  sendRaw(bytes: Buffer): void {
    this.call.write(bytes);
  }

  /** ACK a response the way Envoy does (SotW: version + nonce + same names). */
  ackSotw(response: RawResponse, node: RawNode | undefined, resourceNames: string[] = []): void {
    this.sendSotw({
      typeUrl: response.typeUrl,
      node,
      versionInfo: response.versionInfo,
      responseNonce: response.nonce,
      resourceNames,
    });
  }

  ackDelta(response: RawResponse): void {
    this.sendDelta({ typeUrl: response.typeUrl, responseNonce: response.nonce });
  }

  /** The next response (optionally of one type), or a clear error after timeoutMs. */
  async next(timeoutMs = 3_000, typeUrl?: string): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.queue.findIndex((r) => !typeUrl || r.typeUrl === typeUrl);
      if (index >= 0) return this.queue.splice(index, 1)[0];
      if (this.ended)
        throw new Error(`stream ended (${this.ended.code}: ${this.ended.details}) while waiting for a response`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response${typeUrl ? ` of ${typeUrl}` : ''} within ${timeoutMs} ms`);
      await this.signal.wait(left);
    }
  }

  /** Asserts that no response arrives for `ms`. */
  async expectNothing(ms = 300): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (this.queue.length > 0) {
      const unexpected = this.queue.map(
        (r) => `${r.typeUrl.split('.').pop()} v${r.versionInfo} [${r.resources.map((x) => x.name).join(', ')}]`,
      );
      throw new Error(`expected no response, got: ${unexpected.join('; ')}`);
    }
  }

  /** Resolves with the stream's final status. */
  async end(timeoutMs = 3_000): Promise<StreamEnd> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`stream still open after ${timeoutMs} ms`);
      await this.signal.wait(left);
    }
    return this.ended;
  }

  pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.call.cancel();
    if (this.ownsChannel) this.client.close();
  }
}
