// Reads gRPC messages out of one direction of a plaintext HTTP/2 connection, from a copy of the bytes
// (the recording hop forwards the originals untouched). Only DATA frames matter: a gRPC message is a
// 5-byte prefix (compressed flag, length) and the message, split over a stream's DATA frames at will.
// Headers are HPACK-encoded and not needed, so they are skipped.

const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER_BYTES = 9;
const FRAME_DATA = 0;
const FRAME_RST_STREAM = 3;
const FLAG_PADDED = 0x8;
const GRPC_PREFIX_BYTES = 5;
/** A message larger than this is not an xDS message the hop should hold (bounds the hop's memory). */
export const MAX_GRPC_MESSAGE_BYTES = 64 * 2 ** 20;

/** Joins chunks only when a read needs bytes from more than one of them. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first `n` bytes, without removing them (n <= length). */
  peek(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  take(n: number): Buffer {
    const bytes = this.peek(n);
    this.drop(n);
    return bytes;
  }

  drop(n: number): void {
    this.length -= n;
    while (n > 0) {
      const first = this.chunks[0];
      if (first.length <= n) {
        this.chunks.shift();
        n -= first.length;
      } else {
        this.chunks[0] = first.subarray(n);
        n = 0;
      }
    }
  }
}

export type MessageHandler = (streamId: number, message: Buffer) => void;

/** One direction of one connection: feed it the bytes as they pass; it calls `onMessage` per gRPC message. */
export class GrpcOverH2Reader {
  private readonly input = new ByteQueue();
  private readonly streams = new Map<number, ByteQueue>();
  private prefaceLeft: number;

  /** `fromClient`: the client's side starts with the connection preface, the server's with a frame. */
  constructor(
    fromClient: boolean,
    private readonly onMessage: MessageHandler,
  ) {
    this.prefaceLeft = fromClient ? CLIENT_PREFACE.length : 0;
  }

  /** Throws on what is not gRPC over HTTP/2 (the hop then stops reading that connection, not forwarding it). */
  feed(chunk: Buffer): void {
    this.input.push(chunk);
    if (this.prefaceLeft > 0) {
      if (this.input.length < this.prefaceLeft) return;
      if (!this.input.take(this.prefaceLeft).equals(CLIENT_PREFACE))
        throw new Error('not an HTTP/2 connection (no client preface)');
      this.prefaceLeft = 0;
    }
    while (this.input.length >= FRAME_HEADER_BYTES) {
      const header = this.input.peek(FRAME_HEADER_BYTES);
      const length = header.readUIntBE(0, 3);
      if (this.input.length < FRAME_HEADER_BYTES + length) return;
      const type = header[3];
      const flags = header[4];
      const streamId = header.readUInt32BE(5) & 0x7fffffff;
      this.input.drop(FRAME_HEADER_BYTES);
      const payload = this.input.take(length);
      if (type === FRAME_DATA) this.data(streamId, flags, payload);
      else if (type === FRAME_RST_STREAM) this.streams.delete(streamId);
    }
  }

  private data(streamId: number, flags: number, payload: Buffer): void {
    let body = payload;
    if (flags & FLAG_PADDED) body = payload.subarray(1, payload.length - payload[0]);
    let stream = this.streams.get(streamId);
    if (!stream) {
      stream = new ByteQueue();
      this.streams.set(streamId, stream);
    }
    // Node hands every socket read a fresh Buffer, so keeping a view of it is safe.
    stream.push(body);
    while (stream.length >= GRPC_PREFIX_BYTES) {
      const prefix = stream.peek(GRPC_PREFIX_BYTES);
      if (prefix[0] !== 0)
        throw new Error(`stream ${streamId}: compressed gRPC message (the hop reads uncompressed ones only)`);
      const length = prefix.readUInt32BE(1);
      if (length > MAX_GRPC_MESSAGE_BYTES)
        throw new Error(`stream ${streamId}: a ${length}-byte message, above ${MAX_GRPC_MESSAGE_BYTES}`);
      if (stream.length < GRPC_PREFIX_BYTES + length) return;
      stream.drop(GRPC_PREFIX_BYTES);
      this.onMessage(streamId, stream.take(length));
    }
  }
}
