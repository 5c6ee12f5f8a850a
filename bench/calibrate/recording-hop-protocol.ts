// Messages between the calibration harness and the recording hop process (fork IPC).

export type ToHop =
  /** Arm a flip: from now on, time every synced connection's response naming `edsName` and its ACK. */
  | { kind: 'arm'; edsName: string }
  /** Give up an armed flip (after a timeout). */
  | { kind: 'disarm' }
  | { kind: 'status' };

export interface HopStatus {
  /** Client connections open now, and how many of them hold and have ACKed CDS, EDS, LDS and RDS. */
  connections: number;
  synced: number;
  nacks: number;
  /** Bytes through the hop so far: server → clients, and clients → server. */
  bytesDown: number;
  bytesUp: number;
  responses: number;
  /** Connections whose bytes were not gRPC over plaintext HTTP/2 (forwarded, not timed). */
  unreadable: number;
  /** Why the first of those was not readable. */
  unreadableReason?: string;
}

export type FromHop =
  | { kind: 'listening'; port: number }
  | { kind: 'armed'; connections: number }
  | { kind: 'disarmed' }
  | { kind: 'status'; status: HopStatus }
  /**
   * An armed flip, complete: per connection, when the response carrying the change passed (hrtime ns,
   * decimal strings); the ACKs' times (connections that NACKed have none, and are counted).
   */
  | { kind: 'flip'; receivedNs: string[]; ackedNs: string[]; nacked: number }
  | { kind: 'failed'; message: string };
