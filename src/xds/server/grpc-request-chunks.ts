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
  write(data: Buffer): Buffer[];
}

interface DecoderModule {
  StreamDecoder?: { new (maxReadMessageLength: number): DecoderInternals; prototype: DecoderInternals };
}

/** grpc-js's ReadState.NO_DATA: between messages (the last one is complete). */
const NO_DATA = 0;
const NO_FLAG = Buffer.alloc(1);
let applied: boolean | undefined;

/** Installs the fix once per process; returns whether it is in place. */
export function releaseRequestChunksAfterDecoding(): boolean {
  applied ??= install();
  return applied;
}

function install(): boolean {
  let decoderModule: DecoderModule;
  try {
    decoderModule = require('@grpc/grpc-js/build/src/stream-decoder') as DecoderModule;
  } catch {
    return false;
  }
  const Decoder = decoderModule.StreamDecoder;
  if (!Decoder || !looksAsExpected(new Decoder(1))) return false;
  const write = Decoder.prototype.write;
  Decoder.prototype.write = function writeAndRelease(this: DecoderInternals, data: Buffer): Buffer[] {
    const messages = write.call(this, data);
    if (this.readState === NO_DATA) {
      this.readPartialMessage = [];
      this.readCompressFlag = NO_FLAG;
    }
    return messages;
  };
  return true;
}

function looksAsExpected(decoder: DecoderInternals): boolean {
  return decoder.readState === NO_DATA && Array.isArray(decoder.readPartialMessage) && Buffer.isBuffer(decoder.readCompressFlag) && typeof decoder.write === 'function';
}
