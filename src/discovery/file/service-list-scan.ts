// Splits a mesh text, by its lines alone, into the `services:` list's items and everything else, so the
// items can be parsed apart (incremental-mesh-parser.ts). Sound because the YAML lexer ends every construct
// of an item (quoted scalars, flow collections, block scalars) at a line indented no deeper than the list's
// dashes: such a line starting `- ` always starts the next item, or the document has a syntax error.
// Anything this scan is not sure of (aliases, tabs, carriage returns, several documents, flow-style lists,
// odd indentation) makes it answer `undefined`, and the caller parses the whole text instead.

export interface ServiceListSplit {
  /** Everything up to the first item: the `services:` line and what comes before it. */
  head: string;
  /** Everything after the last item (more top-level keys), or ''. */
  tail: string;
  /** Offsets of each item in the text: from its dash's line to the next item (comment lines included). */
  itemStarts: number[];
  /** Where the last item ends (where `tail` starts). */
  itemsEnd: number;
  /** 1-based line of each item's first line. */
  itemLines: number[];
  /** Lines of the head: the first item is on line headLines + 1. */
  headLines: number;
  /** 1-based line of `services:`. */
  headerLine: number;
}

/** `services:`, optionally with a comment: a block list follows on the next lines. */
const HEADER = /^services:(?: +(?:#.*)?)?$/;
/** `&name` or `*name` where a YAML node may start; also matches some that are not, which is fine. */
const ANCHOR_OR_ALIAS = /(?:^|[\s[{,:])[&*]/;
const SPACE = 32;
const DASH = 45;
const HASH = 35;

export function scanServiceList(text: string): ServiceListSplit | undefined {
  // A byte order mark past the start may begin a document of its own.
  if (text.includes('\t') || text.includes('\r') || text.includes('\uFEFF', 1)) return undefined;
  const mayHaveAliases = text.includes('&') || text.includes('*');
  let head = -1;
  let headLines = 0;
  let headerLine = 0;
  let indent = -1;
  const itemStarts: number[] = [];
  const itemLines: number[] = [];
  let itemsEnd = -1;
  let line = 0;
  for (let start = 0; start < text.length;) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    const next = newline < 0 ? text.length : newline + 1;
    line++;
    const content = firstNonSpace(text, start, end);
    const blankOrComment = content === end || text.charCodeAt(content) === HASH;
    if (!blankOrComment && (isMarker(text, start) || (mayHaveAliases && hasAnchorOrAlias(text.slice(content, end)))))
      return undefined;
    if (head < 0) {
      if (start === content && text.startsWith('services', start)) {
        if (!HEADER.test(text.slice(start, end))) return undefined;
        head = next;
        headerLine = line;
      }
    } else if (itemsEnd < 0 && !blankOrComment) {
      const lineIndent = content - start;
      const itemStart =
        text.charCodeAt(content) === DASH && (content + 1 === end || text.charCodeAt(content + 1) === SPACE);
      if (indent < 0) {
        // The first line after `services:` sets the list's indentation; no item there means no block list.
        if (!itemStart) return undefined;
        indent = lineIndent;
        headLines = line - 1;
        head = start;
      }
      if (lineIndent === indent && itemStart) {
        itemStarts.push(start);
        itemLines.push(line);
      } else if (lineIndent === 0) itemsEnd = start;
      else if (lineIndent <= indent) return undefined;
    }
    start = next;
  }
  if (itemStarts.length === 0) return undefined;
  if (itemsEnd < 0) itemsEnd = text.length;
  return {
    head: text.slice(0, head),
    tail: text.slice(itemsEnd),
    itemStarts,
    itemsEnd,
    itemLines,
    headLines,
    headerLine,
  };
}

function firstNonSpace(text: string, from: number, end: number): number {
  let at = from;
  while (at < end && text.charCodeAt(at) === SPACE) at++;
  return at;
}

/** Document markers and directives: several documents, or YAML read another way. */
function isMarker(text: string, start: number): boolean {
  return text.startsWith('---', start) || text.startsWith('...', start) || text.startsWith('%', start);
}

/** A trailing comment may hold `&` or `*` freely; only when no quote could hide a `#` is it cut off. */
function hasAnchorOrAlias(line: string): boolean {
  if (!ANCHOR_OR_ALIAS.test(line)) return false;
  if (line.includes('"') || line.includes("'")) return true;
  const comment = line.indexOf(' #');
  return comment < 0 || ANCHOR_OR_ALIAS.test(line.slice(0, comment));
}
