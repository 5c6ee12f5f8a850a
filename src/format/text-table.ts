// Plain-text building blocks of the terminal views (`spillway status|clients|what-if|drill|scope` and the
// demo's console): aligned columns, short ages, and cells made safe to print.

/**
 * Remote text (Envoy's NACK messages, user agents) must not break lines or send terminal escapes: control
 * characters (C0, DEL and C1, whose 0x9b is a terminal's CSI) and runs of white space become one space.
 */
export function cell(text: string): string {
  return text.replace(/[\p{Cc}\s]+/gu, ' ').trim();
}

/** Columns padded to their widest cell, two spaces apart; no trailing blanks. */
export function formatColumns(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows].map((row) => row.map(cell));
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((text, i) => text.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Elapsed time, short: "12s", "3m", "2h", "4d". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
