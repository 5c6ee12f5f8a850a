// Parses a mesh text again after an edit by re-parsing only the batches of services whose text changed.
// A 50,000-service file takes seconds to parse whole; a one-port change then takes a batch (~128 items).
// Every part goes through readMeshParts (mesh-file.ts) and the parts are joined by assembleMesh, the same
// two steps as parseMeshText, so the result is the one a full parse gives: same model, same errors with the
// same path:line. Whenever a shortcut cannot be sure (see service-list-scan.ts, cached-batch.ts) the whole
// text is parsed. A cached batch is looked up by its text (the preamble's is fixed while it is kept), so it
// holds wherever that text appears; only one text's batches are kept, so memory stays that of one parse.
import { MeshCluster } from '../../mesh/model';
import { CachedBatch, cacheBatch, fits, placeBatch } from './cached-batch';
import { ServiceItem, assembleMesh } from './mesh-assembly';
import { ErrorList, ErrorPlace } from '../../config-validation/error-list';
import { MeshParseResult, parseMeshText, readMeshParts } from './mesh-file';
import { MAX_SERVICES } from './mesh-limits';
import { DEFAULT_AVERAGE_BATCH_ITEMS, ServiceBatch, batchServices } from './service-batches';
import { ServiceListSplit, scanServiceList } from './service-list-scan';

/** What the text around the services list reads as: valid on its own, or no shortcut is taken. */
interface Preamble {
  text: string;
  clusters: Map<string, MeshCluster>;
}

export interface IncrementalStats {
  /** How the last parse went: every batch from the cache but the `parsedBatches`, or the whole text. */
  mode: 'batches' | 'whole';
  batches: number;
  parsedBatches: number;
}

/** What the parser keeps between texts, as plain data: the start parse hands it to the reload thread. */
export interface ParserCache {
  preamble: Preamble;
  batches: Map<string, CachedBatch>;
}

export interface IncrementalOptions {
  /** Items per batch on average (tests use small batches to get many on a small mesh). */
  averageBatchItems?: number;
}

export class IncrementalMeshParser {
  private preamble?: Preamble;
  private batches = new Map<string, CachedBatch>();
  private readonly averageBatchItems: number;
  /** For tests and logs: what the last parse did. */
  last: IncrementalStats = { mode: 'whole', batches: 0, parsedBatches: 0 };

  constructor(options: IncrementalOptions = {}) {
    this.averageBatchItems = options.averageBatchItems ?? DEFAULT_AVERAGE_BATCH_ITEMS;
  }

  parse(text: string): MeshParseResult {
    try {
      const split = scanServiceList(text);
      const preamble = split && split.itemStarts.length <= MAX_SERVICES ? this.preambleOf(split) : undefined;
      if (split && preamble) {
        const batches = batchServices(text, split, this.averageBatchItems);
        return this.parseBatches(text, split, batches, preamble) ?? this.parseWhole(text, split, batches);
      }
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
    }
    this.forget();
    this.last = { mode: 'whole', batches: 0, parsedBatches: 0 };
    return parseMeshText(text);
  }

  /** Drops what is cached (a full parse says nothing about batches). */
  forget(): void {
    this.preamble = undefined;
    this.batches = new Map();
  }

  /** What is cached, if anything: for another parser (on another thread) to go on from. */
  cache(): ParserCache | undefined {
    return this.preamble && this.batches.size > 0 ? { preamble: this.preamble, batches: this.batches } : undefined;
  }

  /** Goes on from another parser's cache (its batches hold wherever their text appears). */
  restore(cache: ParserCache): void {
    this.preamble = cache.preamble;
    this.batches = cache.batches;
  }

  /** The preamble parsed with an empty services list: it must be valid for its batches to be parsed alone. */
  private preambleOf(split: ServiceListSplit): Preamble | undefined {
    const text = split.head + split.tail;
    if (this.preamble?.text === text) return this.preamble;
    this.forget();
    const parts = readMeshParts(text);
    if (parts.kind !== 'read' || parts.checked.reported > 0 || !parts.clusters || parts.services) return undefined;
    this.preamble = { text, clusters: parts.clusters };
    return this.preamble;
  }

  /** Undefined when too much changed (one whole parse is then cheaper) or a batch's parse is not trusted. */
  private parseBatches(
    text: string,
    split: ServiceListSplit,
    batches: readonly ServiceBatch[],
    preamble: Preamble,
  ): MeshParseResult | undefined {
    let toParse = 0;
    for (const batch of batches) {
      const cached = this.batches.get(batch.text);
      if (!cached || !fits(cached, batch)) toParse += preamble.text.length + batch.text.length;
    }
    if (toParse > text.length / 2) return undefined;
    const kept = new Map<string, CachedBatch>();
    const items: ServiceItem[] = [];
    let parsedBatches = 0;
    for (const batch of batches) {
      let cached = kept.get(batch.text) ?? this.batches.get(batch.text);
      if (!cached || !fits(cached, batch)) {
        cached = this.parseBatch(split, batch);
        parsedBatches++;
        if (!cached) return undefined;
      }
      kept.set(batch.text, cached);
      placeBatch(cached, batch, items);
    }
    this.batches = kept;
    this.last = { mode: 'batches', batches: batches.length, parsedBatches };
    return assembleMesh({
      kind: 'read',
      checked: new ErrorList(),
      clusters: preamble.clusters,
      services: { at: servicesKey(split), count: items.length, items },
    });
  }

  /** One batch as a file of its own: the preamble with only this batch's items in the list. */
  private parseBatch(split: ServiceListSplit, batch: ServiceBatch): CachedBatch | undefined {
    const parts = readMeshParts(split.head + batch.text + split.tail, batch.firstIndex);
    if (parts.kind !== 'read' || parts.checked.reported > 0 || !parts.clusters || !parts.services) return undefined;
    return cacheBatch(parts.services.items, batch, split.headLines + 1);
  }

  /**
   * The plain full parse; its items then fill the cache, so the next edit parses batches only. A text with
   * a syntax error fills nothing and keeps the cache of the text before it: the fix is then quick.
   */
  private parseWhole(text: string, split: ServiceListSplit, batches: readonly ServiceBatch[]): MeshParseResult {
    const parts = readMeshParts(text);
    this.last = { mode: 'whole', batches: batches.length, parsedBatches: batches.length };
    const services = parts.kind === 'read' && parts.checked.reported === 0 ? parts.services : undefined;
    if (services?.count === split.itemStarts.length && services.items.length === services.count) {
      this.batches = new Map();
      for (const batch of batches) {
        const cached = cacheBatch(
          services.items.slice(batch.firstIndex, batch.firstIndex + batch.count),
          batch,
          batch.firstLine,
        );
        // A batch the check refuses is parsed alone next time, and checked again then.
        if (cached) this.batches.set(batch.text, cached);
      }
    }
    return assembleMesh(parts);
  }
}

function servicesKey(split: ServiceListSplit): ErrorPlace {
  return { path: 'services', line: split.headerLine };
}
