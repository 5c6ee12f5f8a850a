// grpc-js (1.14) keeps the chunks of a stream's last request in its decoder until the stream's next
// request arrives: on an idle stream that is its whole last request (up to --max-request-bytes), and since
// chunks are slices of the 64 KiB buffers HTTP/2 reads into, even a small ACK pins 64 KiB. Thousands of
// streams, or a few hostile ones, keep that much alive for as long as they stay open. This drops those
// references as soon as a request is complete (the decoder would drop them itself at the next request).
// It touches grpc-js internals, so it checks them first and does nothing if they are not as expected;
// test/unit/grpc-request-chunks.test.ts fails when an upgrade changes them.

interface DecoderInternals {
  readState: number;
  readPartialMessage: Buffer[];
  readCompressFlag: Buffer;
  /** A property, not a method: it is taken off the prototype and called with the decoder as `this`. */
  write: (this: DecoderInternals, data: Buffer) => Buffer[];
}

interface DecoderModule {
  StreamDecoder?: { new (maxReadMessageLength: number): DecoderInternals; prototype: DecoderInternals };
}

/** grpc-js's ReadState.NO_DATA: between messages (the last one is complete). */
const NO_DATA = 0;
const NO_FLAG = Buffer.alloc(1);
/**
 * Marks grpc-js's write once it is ours. The patch is of a library shared by the whole process, so whether
 * it is in place is read from the library itself, not kept here: every server after the first finds it.
 */
const RELEASES_CHUNKS = Symbol.for('spillway.releasesRequestChunks');

type DecoderWrite = DecoderInternals['write'] & { [RELEASES_CHUNKS]?: true };

/** Installs the fix (once per process, whichever server comes first); returns whether it is in place. */
export function releaseRequestChunksAfterDecoding(): boolean {
  let decoderModule: DecoderModule;
  try {
    // An internal module of grpc-js: loaded only if it is there (an import would fail the whole server).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    decoderModule = require('@grpc/grpc-js/build/src/stream-decoder') as DecoderModule;
  } catch {
    return false;
  }
  const Decoder = decoderModule.StreamDecoder;
  if (!Decoder) return false;
  if ((Decoder.prototype.write as DecoderWrite)[RELEASES_CHUNKS]) return true;
  if (!looksAsExpected(new Decoder(1))) return false;
  const write = Decoder.prototype.write;
  const writeAndRelease: DecoderWrite = function writeAndRelease(this: DecoderInternals, data: Buffer): Buffer[] {
    const messages = write.call(this, data);
    if (this.readState === NO_DATA) {
      this.readPartialMessage = [];
      this.readCompressFlag = NO_FLAG;
    }
    return messages;
  };
  writeAndRelease[RELEASES_CHUNKS] = true;
  Decoder.prototype.write = writeAndRelease;
  return true;
}

function looksAsExpected(decoder: DecoderInternals): boolean {
  return (
    decoder.readState === NO_DATA &&
    Array.isArray(decoder.readPartialMessage) &&
    Buffer.isBuffer(decoder.readCompressFlag) &&
    typeof decoder.write === 'function'
  );
}
