// A batch of service items as parsed once, kept apart from where it sits in the file: lines are counted
// from the batch's first line, so the batch can be placed again after edits above it moved it (other
// lines, other item indexes) without a new parse.
import type { ServiceItem } from './mesh-assembly';
import type { MeshFileError } from './mesh-file';
import type { ServiceBatch } from './service-batches';

export interface CachedBatch {
  /** Index of its first item when parsed: item paths (`services[i]`) name it. */
  firstIndex: number;
  /** Items with every line relative to the batch's first line. */
  items: ServiceItem[];
  /** Some error message quotes an item's path ("first at services[3].ports[0]"): a move needs a new parse. */
  quotesPaths: boolean;
}

/**
 * Keeps parsed items of `batch`, whose first item was on `firstLine` of the parsed text. Undefined when
 * the parse did not see the items the line scan saw, or an item reported something outside its own lines:
 * then the split cannot be trusted and the caller parses the whole file.
 */
export function cacheBatch(
  items: readonly ServiceItem[],
  batch: ServiceBatch,
  firstLine: number,
): CachedBatch | undefined {
  if (items.length !== batch.count) return undefined;
  const batchLines = lineCount(batch.text);
  let quotesPaths = false;
  const relative: ServiceItem[] = [];
  for (let k = 0; k < items.length; k++) {
    const item = items[k];
    const from = firstLine + batch.itemOffsets[k];
    const to = firstLine + (k + 1 < items.length ? batch.itemOffsets[k + 1] : batchLines);
    const within = (line: number | undefined): boolean => line !== undefined && line >= from && line < to;
    if (
      item.path !== `services[${batch.firstIndex + k}]` ||
      !within(item.line) ||
      (item.nameLine !== undefined && !within(item.nameLine))
    )
      return undefined;
    for (const error of item.errors) {
      if (!within(error.line) || !error.path.startsWith(item.path)) return undefined;
      if (error.message.includes(item.path)) quotesPaths = true;
    }
    relative.push(moved(item, item.path, -firstLine));
  }
  return { firstIndex: batch.firstIndex, items: relative, quotesPaths };
}

/** Whether the cached parse still holds where `batch` now is. */
export function fits(cached: CachedBatch, batch: ServiceBatch): boolean {
  return !cached.quotesPaths || cached.firstIndex === batch.firstIndex;
}

/** The cached items where `batch` now is: its lines and item indexes. */
export function placeBatch(cached: CachedBatch, batch: ServiceBatch, into: ServiceItem[]): void {
  for (let k = 0; k < cached.items.length; k++) {
    const item = cached.items[k];
    into.push(moved(item, `services[${batch.firstIndex + k}]`, batch.firstLine));
  }
}

function moved(item: ServiceItem, path: string, lineShift: number): ServiceItem {
  const renamed = path !== item.path;
  // Most items have no errors: their (empty) list is shared, a 50,000-item placement stays cheap.
  const errors =
    item.errors.length === 0
      ? item.errors
      : item.errors.map((error): MeshFileError => ({
          path: renamed ? path + error.path.slice(item.path.length) : error.path,
          ...(error.line !== undefined ? { line: error.line + lineShift } : {}),
          message: error.message,
        }));
  const placed: ServiceItem = {
    path,
    line: item.line + lineShift,
    errors,
    unlisted: item.unlisted,
    errorsBeforeKey: item.errorsBeforeKey,
  };
  if (item.key !== undefined) placed.key = item.key;
  if (item.nameLine !== undefined) placed.nameLine = item.nameLine + lineShift;
  if (item.calls) placed.calls = item.calls;
  if (item.entry) placed.entry = item.entry;
  return placed;
}

/** Lines the text spans: its newlines, plus an unterminated last line. */
function lineCount(text: string): number {
  let lines = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lines++;
  return text.endsWith('\n') || text === '' ? lines : lines + 1;
}
