// Client text (node ids, nonces, versions, NACK messages) goes into logs, the registry and /debug/clients
// only cut to a bound, saying that it was cut and how long it was, so no client can fill a disk or a page.

/** Client text of up to this many characters is logged as it is (nonces, versions, type URLs). */
export const LOG_TEXT_CHARS = 128;

/**
 * `text` if it has at most `maxChars` characters, else its first `maxChars` followed by a note of the
 * original length. The kept part is a copy: a slice would keep the whole original string alive.
 */
export function bounded(text: string, maxChars = LOG_TEXT_CHARS): string {
  if (text.length <= maxChars) return text;
  return `${copyOf(text.slice(0, maxChars))}... [truncated: ${text.length} characters]`;
}

function copyOf(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
