// Every connected xDS client and, per type, what it was sent and what it ACKed or NACKed: the state
// that debug endpoints and metrics read. The server writes it; nothing here talks to clients.

import { ClientRole } from '../node/node-info';
import { StreamMode } from '../node/stream-kind';
import type { ViewKey } from '../node/view-key';

export interface NackRecord {
  version: string;
  nonce: string;
  message: string;
  atMs: number;
}

export interface TypeStatus {
  sentVersion?: string;
  sentNonce?: string;
  sentAtMs?: number;
  responses: number;
  ackedVersion?: string;
  ackedAtMs?: number;
  lastNack?: NackRecord;
  nacks: number;
}

export interface ClientInfo {
  streamId: number;
  nodeId: string;
  clusterId: string;
  role: ClientRole;
  /** Reports show its text. */
  view: ViewKey;
  userAgent: string;
  mode: StreamMode;
  service: string;
  peer: string;
  connectedAtMs: number;
  types: Record<string, TypeStatus>;
}

export interface RegistryTotals {
  streamsOpened: number;
  responses: number;
  acks: number;
  nacks: number;
  rejectedStreams: number;
}

type RegistryEvent =
  | { kind: 'sent'; client: ClientInfo; type: string; version: string; atMs: number; changeSeenAtMs?: number }
  | { kind: 'ack'; client: ClientInfo; type: string; version: string; atMs: number; sentAtMs?: number }
  | { kind: 'nack'; client: ClientInfo; type: string; nack: NackRecord };

export type { RegistryEvent };
export type RegistryListener = (event: RegistryEvent) => void;

export class ClientRegistry {
  private readonly clients = new Map<number, ClientInfo>();
  private readonly listeners = new Set<RegistryListener>();
  readonly totals: RegistryTotals = { streamsOpened: 0, responses: 0, acks: 0, nacks: 0, rejectedStreams: 0 };

  add(client: ClientInfo): void {
    this.clients.set(client.streamId, client);
    this.totals.streamsOpened++;
  }

  remove(streamId: number): void {
    this.clients.delete(streamId);
  }

  list(): ClientInfo[] {
    return [...this.clients.values()];
  }

  /** Connected streams. */
  get size(): number {
    return this.clients.size;
  }

  /**
   * At most `limit` clients for a page or a command to show: those whose last word was a NACK first (what
   * an operator looks for), then the others in the order they connected.
   */
  firstClients(limit: number): ClientInfo[] {
    if (this.clients.size <= limit) return this.list();
    const nacking: ClientInfo[] = [];
    const others: ClientInfo[] = [];
    for (const client of this.clients.values()) {
      if (isNacking(client)) nacking.push(client);
      else if (others.length < limit) others.push(client);
    }
    return [...nacking, ...others].slice(0, limit);
  }

  onEvent(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  recordSent(client: ClientInfo, type: string, version: string, nonce: string, changeSeenAtMs?: number): void {
    const status = typeStatus(client, type);
    status.sentVersion = version;
    status.sentNonce = nonce;
    status.sentAtMs = Date.now();
    status.responses++;
    this.totals.responses++;
    this.emit({ kind: 'sent', client, type, version, atMs: status.sentAtMs, changeSeenAtMs });
  }

  recordAck(client: ClientInfo, type: string, version: string): void {
    const status = typeStatus(client, type);
    status.ackedVersion = version;
    status.ackedAtMs = Date.now();
    this.totals.acks++;
    this.emit({ kind: 'ack', client, type, version, atMs: status.ackedAtMs, sentAtMs: status.sentAtMs });
  }

  recordNack(client: ClientInfo, type: string, nack: NackRecord): void {
    const status = typeStatus(client, type);
    status.lastNack = nack;
    status.nacks++;
    this.totals.nacks++;
    this.emit({ kind: 'nack', client, type, nack });
  }

  recordRejectedStream(): void {
    this.totals.rejectedStreams++;
  }

  private emit(event: RegistryEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function isNacking(client: ClientInfo): boolean {
  return Object.values(client.types).some(
    (status) => status.lastNack !== undefined && status.lastNack.atMs >= (status.ackedAtMs ?? -Infinity),
  );
}

function typeStatus(client: ClientInfo, type: string): TypeStatus {
  let status = client.types[type];
  if (!status) {
    status = { responses: 0, nacks: 0 };
    client.types[type] = status;
  }
  return status;
}
