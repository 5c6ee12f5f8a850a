// Strict UTF-8 decoding for mesh files. A lenient decoder turns a stray Latin-1 byte into U+FFFD, and
// that replacement character would then be served as part of a name or zone: refuse instead, and say
// where the bad byte is so the operator can fix that one line.

export type Utf8Result = { ok: true; text: string } | { ok: false; line: number; column: number; byte: number };

const strict = new TextDecoder('utf-8', { fatal: true });
// Keeps a byte order mark as a character, so character and byte offsets stay in step below.
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });
const REPLACEMENT = '\uFFFD';
/** U+FFFD as UTF-8: a replacement character the file really contains is not an error. */
const REPLACEMENT_BYTES = Buffer.from(REPLACEMENT, 'utf8');

export function decodeUtf8(bytes: Uint8Array): Utf8Result {
  try {
    return { ok: true, text: strict.decode(bytes) };
  } catch {
    return locateInvalidByte(bytes);
  }
}

/** Slow path, only for invalid input: the first U+FFFD of a lenient decode that the bytes do not spell. */
function locateInvalidByte(bytes: Uint8Array): Utf8Result {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = lenient.decode(bytes);
  let byteOffset = 0;
  let charIndex = 0;
  for (;;) {
    const found = text.indexOf(REPLACEMENT, charIndex);
    // Unreachable when the strict decoder failed; kept so the loop always ends.
    if (found < 0) return { ok: false, line: 1, column: 1, byte: buffer[0] ?? 0 };
    // Everything before the first bad byte decoded exactly, so its UTF-8 length is its byte length.
    byteOffset += Buffer.byteLength(text.slice(charIndex, found), 'utf8');
    if (!buffer.subarray(byteOffset, byteOffset + REPLACEMENT_BYTES.length).equals(REPLACEMENT_BYTES)) {
      const before = text.slice(0, found);
      const lineStart = before.lastIndexOf('\n') + 1;
      return { ok: false, line: countLines(before), column: found - lineStart + 1, byte: buffer[byteOffset] ?? 0 };
    }
    byteOffset += REPLACEMENT_BYTES.length;
    charIndex = found + 1;
  }
}

function countLines(text: string): number {
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
}
