// What the recording hop keeps about one client connection's SotW ADS stream: which types it holds and
// has ACKed (synced), NACKs, and, while a flip is armed, when the response carrying the changed EDS
// resource passed and when the client's ACK of it passed. The same for every kind of client, because it
// reads only what goes over the wire.
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  LISTENER_TYPE,
  ROUTE_TYPE,
  assignmentNameOf,
  readSotwResponse,
} from '../load/discovery-messages';
import { forEachBytesField, utf8 } from '../load/wire-scan';

const SYNC_TYPES = [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE];
const TYPE_URL_PREFIX = 'type.googleapis.com/';

interface RequestFacts {
  version: string;
  typeUrl: string;
  nonce: string;
  nack: boolean;
}

/** DiscoveryRequest: version_info 1, type_url 4, response_nonce 5, error_detail 6 (a NACK). */
function readRequest(bytes: Uint8Array): RequestFacts {
  const facts: RequestFacts = { version: '', typeUrl: '', nonce: '', nack: false };
  forEachBytesField(bytes, (field, value) => {
    if (field === 1) facts.version = utf8(value);
    else if (field === 4) facts.typeUrl = utf8(value);
    else if (field === 5) facts.nonce = utf8(value);
    else if (field === 6) facts.nack = true;
  });
  return facts;
}

/** One armed flip as one connection saw it (hrtime ns; undefined until it happened). */
export interface FlipSighting {
  receivedNs?: bigint;
  nonce?: string;
  ackedNs?: bigint;
  nacked?: boolean;
}

export class AdsWatch {
  /** The ADS stream's id once its first request has been seen (an LRS stream on the same connection is not it). */
  private adsStream?: number;
  private readonly notAds = new Set<number>();
  private readonly lastNonce = new Map<string, string>();
  /**
   * Types the client says it holds: it sent a request (not a NACK) with a version, an ACK on this stream
   * or, on a stream opened again, the version it kept (a server may then send nothing new).
   */
  private readonly acked = new Set<string>();
  nacks = 0;
  requests = 0;
  responses = 0;
  private armedName?: string;
  sighting?: FlipSighting;

  get synced(): boolean {
    return SYNC_TYPES.every((type) => this.acked.has(type));
  }

  arm(edsName: string): void {
    this.armedName = edsName;
    this.sighting = {};
  }

  /** A flip is complete for this connection once its ACK (or NACK) of the carrying response passed. */
  get flipDone(): boolean {
    return this.sighting !== undefined && (this.sighting.ackedNs !== undefined || this.sighting.nacked === true);
  }

  disarm(): void {
    this.armedName = undefined;
    this.sighting = undefined;
  }

  fromClient(streamId: number, message: Buffer, atNs: bigint): void {
    if (this.notAds.has(streamId)) return;
    if (this.adsStream === undefined) {
      const first = readRequest(message);
      if (!first.typeUrl.startsWith(TYPE_URL_PREFIX)) {
        this.notAds.add(streamId);
        return;
      }
      this.adsStream = streamId;
    }
    if (streamId !== this.adsStream) return;
    const request = readRequest(message);
    this.requests++;
    if (!request.nack && request.version !== '') this.acked.add(request.typeUrl);
    if (request.nack && request.nonce !== '' && this.lastNonce.get(request.typeUrl) === request.nonce) this.nacks++;
    this.sightAck(request, atNs);
  }

  private sightAck(request: RequestFacts, atNs: bigint): void {
    const sighting = this.sighting;
    if (sighting?.nonce === undefined || sighting.ackedNs !== undefined || sighting.nacked) return;
    if (request.typeUrl !== ENDPOINT_TYPE || request.nonce !== sighting.nonce) return;
    if (request.nack) sighting.nacked = true;
    else sighting.ackedNs = atNs;
  }

  fromServer(streamId: number, message: Buffer, atNs: bigint): void {
    if (streamId !== this.adsStream) return;
    const header = readSotwResponse(message);
    this.responses++;
    this.lastNonce.set(header.typeUrl, header.nonce);
    const sighting = this.sighting;
    if (!sighting || sighting.receivedNs !== undefined || header.typeUrl !== ENDPOINT_TYPE) return;
    if (header.resources.some((resource) => assignmentNameOf(resource) === this.armedName)) {
      sighting.receivedNs = atNs;
      sighting.nonce = header.nonce;
    }
  }
}
