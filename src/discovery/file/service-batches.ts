// Groups a services list's items into batches whose boundaries depend on the items' own text (a batch
// ends after an item whose hash is 0 mod the average batch size), not on their positions: inserting,
// removing or editing a service changes its own batch (and at most the next one), the other batches keep
// their text and so their cached parse.
import type { ServiceListSplit } from './service-list-scan';

export interface ServiceBatch {
  /** The batch's items, verbatim: what its cached parse is looked up by. */
  text: string;
  /** Index in the whole list of its first item. */
  firstIndex: number;
  count: number;
  /** 1-based line of its first item in the whole file. */
  firstLine: number;
  /** Line of each item relative to the batch's first line (0 for the first). */
  itemOffsets: number[];
}

/** Expected items per batch: small enough to re-parse in a few tens of milliseconds. */
export const DEFAULT_AVERAGE_BATCH_ITEMS = 128;
/** Bounds a run of items whose hashes never end a batch, in average batches. */
const MAX_AVERAGE_BATCHES = 4;
/** Bounds a batch of a few huge services. */
const MAX_BYTES = 256 * 1024;
/** The hash reads an item's start: name and namespace, usually; a port change does not move a boundary. */
const HASHED_CHARS = 128;

export function batchServices(
  text: string,
  split: ServiceListSplit,
  averageItems = DEFAULT_AVERAGE_BATCH_ITEMS,
): ServiceBatch[] {
  const { itemStarts, itemLines, itemsEnd } = split;
  const maxItems = averageItems * MAX_AVERAGE_BATCHES;
  const batches: ServiceBatch[] = [];
  let first = 0;
  for (let i = 0; i < itemStarts.length; i++) {
    const start = itemStarts[i];
    const end = i + 1 < itemStarts.length ? itemStarts[i + 1] : itemsEnd;
    const batchStart = itemStarts[first];
    const last = i + 1 === itemStarts.length;
    if (
      last ||
      hash(text, start, Math.min(end, start + HASHED_CHARS)) % averageItems === 0 ||
      i + 1 - first >= maxItems ||
      end - batchStart >= MAX_BYTES
    ) {
      const firstLine = itemLines[first];
      batches.push({
        text: text.slice(batchStart, end),
        firstIndex: first,
        count: i + 1 - first,
        firstLine,
        itemOffsets: itemLines.slice(first, i + 1).map((line) => line - firstLine),
      });
      first = i + 1;
    }
  }
  return batches;
}

/** FNV-1a over UTF-16 code units: fast, and spread well enough for choosing boundaries. */
function hash(text: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
