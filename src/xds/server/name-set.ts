// Interned, immutable sets of resource names. Thousands of sidecars of one view subscribe to the very same
// names; sharing one set (and one copy of its strings) per distinct list keeps per-client memory small,
// and lets a snapshot select and version each distinct subscription once for all the clients that share it.

export class NameSet {
  readonly names: ReadonlySet<string>;
  private encoded?: Buffer;

  /** @internal use internNames() */
  constructor(
    /** The names, sorted. */
    private readonly sorted: readonly string[],
    /** Unambiguous text of the sorted names (length-prefixed, so no crafted name can collide). */
    readonly key: string,
  ) {
    this.names = new Set(sorted);
  }

  get size(): number {
    return this.names.size;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  /**
   * Whether `region` is exactly these names, sorted, as DiscoveryRequest.resource_names fields on the wire:
   * an ACK that repeats the list in that order is recognised with one memcmp, without decoding or hashing.
   */
  isEncodedAs(region: Buffer): boolean {
    this.encoded ??= encodeAsResourceNames(this.sorted);
    return region.length === this.encoded.length && region.equals(this.encoded);
  }

  /** Whether `names` holds exactly these names. */
  sameAs(names: ReadonlySet<string>): boolean {
    if (names.size !== this.names.size) return false;
    for (const name of names) if (!this.names.has(name)) return false;
    return true;
  }
}

// Weak references: a set lives as long as some subscription holds it; the registry forgets the entry
// once it has been collected, so clients that come and go with unique lists leave nothing behind.
const interned = new Map<string, WeakRef<NameSet>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (interned.get(key)?.deref() === undefined) interned.delete(key);
});

/** resource_names is field 3 of DiscoveryRequest (length-delimited): tag 0x1a, length, UTF-8 bytes. */
function encodeAsResourceNames(sorted: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const name of sorted) {
    const text = Buffer.from(name, 'utf8');
    const header: number[] = [0x1a];
    for (let length = text.length; ; length >>>= 7) {
      if (length < 0x80) {
        header.push(length);
        break;
      }
      header.push((length & 0x7f) | 0x80);
    }
    parts.push(Buffer.from(header), text);
  }
  return Buffer.concat(parts);
}

function keyOf(sorted: readonly string[]): string {
  let key = '';
  for (const name of sorted) key += `${name.length}:${name}`;
  return key;
}

/** The one shared NameSet holding exactly `names`. */
export function internNames(names: ReadonlySet<string>): NameSet {
  const sorted = [...names].sort();
  const key = keyOf(sorted);
  const existing = interned.get(key)?.deref();
  if (existing) return existing;
  const set = new NameSet(sorted, key);
  interned.set(key, new WeakRef(set));
  forget.register(set, key);
  return set;
}

/** How many distinct name sets are alive (for tests and debugging). */
export function internedNameSetCount(): number {
  return interned.size;
}

export const NO_NAMES = internNames(new Set());
