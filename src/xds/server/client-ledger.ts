// The registry's record of one stream's client (what debug endpoints and metrics read): connected, which
// view it has, what it was sent, ACKed and NACKed, disconnected. Also the stream's log of the same events.
// Text the client controls is kept and logged only up to a bound.
import { shortTypeName, XdsTypeUrl } from '../resource-types';
import { ViewKey } from '../node/view-key';
import { bounded } from './bounded-text';
import { ClientInfo, ClientRegistry } from './client-registry';
import { StreamLog } from './stream-log';

export class ClientLedger {
  private client?: ClientInfo;

  constructor(
    private readonly registry: ClientRegistry,
    private readonly streamLog: StreamLog,
    /** --xds-max-nack-message-chars */
    private readonly maxNackMessageChars: number,
  ) {}

  /** The client's user agent, once connected. */
  get userAgent(): string | undefined {
    return this.client?.userAgent;
  }

  connected(client: ClientInfo): void {
    this.client = client;
    this.registry.add(client);
  }

  movedTo(view: ViewKey): void {
    if (this.client) this.client.view = view;
  }

  sent(typeUrl: XdsTypeUrl, version: string, nonce: string, bytes: number, changeSeenAtMs: number | undefined): void {
    if (this.client) this.registry.recordSent(this.client, shortTypeName(typeUrl), version, nonce, changeSeenAtMs);
    this.streamLog.log.debug({ type: shortTypeName(typeUrl), version, nonce, bytes }, 'response sent');
  }

  /** `version` is the client's version_info. */
  ack(typeUrl: XdsTypeUrl, version: string): void {
    const kept = bounded(version);
    if (this.client) this.registry.recordAck(this.client, shortTypeName(typeUrl), kept);
    this.streamLog.log.debug({ type: shortTypeName(typeUrl), version: kept }, 'ACK');
  }

  /** `message` is the client's error text. */
  nack(typeUrl: XdsTypeUrl, version: string, nonce: string, message: string): void {
    const kept = bounded(message, this.maxNackMessageChars);
    if (this.client)
      this.registry.recordNack(this.client, shortTypeName(typeUrl), {
        version,
        nonce,
        message: kept,
        atMs: Date.now(),
      });
    this.streamLog.log.warn(
      { type: shortTypeName(typeUrl), version, nonce, error: kept },
      'NACK: the client rejected the config and keeps its previous one',
    );
  }

  /** A nonce the client sent that is not ours to trust. */
  staleNonce(nonce: string, latest: string): void {
    this.streamLog.log.debug({ nonce: bounded(nonce), latest }, 'stale nonce ignored');
  }

  disconnected(): void {
    if (!this.client) return;
    this.registry.remove(this.client.streamId);
    this.streamLog.log.info('xDS client disconnected');
  }
}
