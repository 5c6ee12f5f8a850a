// Interned, immutable sets of resource names. Thousands of sidecars of one view subscribe to the very same
// names; sharing one set (and one copy of its strings) per distinct list keeps per-client memory small,
// and lets a snapshot select and version each distinct subscription once for all the clients that share it.
import { createHash } from 'crypto';
import { ownedBytes } from '../resource/owned-bytes';

export class NameSet {
  readonly names: ReadonlySet<string>;
  private encoded?: Buffer;
  private encodedLength?: number;

  /** @internal use NameSetInterner.intern() */
  constructor(
    /** The names, sorted. */
    private readonly sorted: readonly string[],
    /** Digest of the sorted names (length-prefixed, so no crafted name can collide): the interning key. */
    readonly key: string,
    /** UTF-8 bytes of all names: what subscription limits count. */
    readonly bytes: number,
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
    if (!this.encoded) {
      // Built (the size of the names again) only for a list that may be it: same length, same first name.
      this.encodedLength ??= wireLength(this.sorted);
      if (region.length !== this.encodedLength || !startsWithFirstName(region, this.sorted)) return false;
      this.encoded = encodeAsResourceNames(this.sorted);
    }
    return region.length === this.encoded.length && region.equals(this.encoded);
  }

  /** Whether `names` holds exactly these names. */
  sameAs(names: ReadonlySet<string>): boolean {
    if (names.size !== this.names.size) return false;
    for (const name of names) if (!this.names.has(name)) return false;
    return true;
  }
}

/** resource_names is field 3 of DiscoveryRequest (length-delimited): tag 0x1a, length, UTF-8 bytes. */
function encodeAsResourceNames(sorted: readonly string[]): Buffer {
  // Kept as long as the set: a buffer of its own, not a slice pinning a shared slab.
  return ownedBytes(Buffer.concat(sorted.map(encodeAsResourceName)));
}

function encodeAsResourceName(name: string): Buffer {
  const text = Buffer.from(name, 'utf8');
  const header: number[] = [0x1a];
  for (let length = text.length; ; length >>>= 7) {
    if (length < 0x80) {
      header.push(length);
      break;
    }
    header.push((length & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from(header), text]);
}

/** Bytes of the names as resource_names fields (tag, varint length, UTF-8), without encoding them. */
function wireLength(sorted: readonly string[]): number {
  let total = 0;
  for (const name of sorted) {
    const bytes = Buffer.byteLength(name, 'utf8');
    let varint = 1;
    for (let rest = bytes; rest >= 0x80; rest >>>= 7) varint++;
    total += 1 + varint + bytes;
  }
  return total;
}

function startsWithFirstName(region: Buffer, sorted: readonly string[]): boolean {
  const first = sorted[0];
  if (first === undefined) return region.length === 0;
  const encoded = encodeAsResourceName(first);
  return region.subarray(0, encoded.length).equals(encoded);
}

/**
 * A short key instead of the names' text: a key as long as the list (up to megabytes) would be one more
 * copy of every name, kept as long as the set lives.
 */
function keyOf(sorted: readonly string[]): string {
  // One text hashed in one call (a call per name costs more than the hashing); the text is dropped after.
  let text = '';
  for (const name of sorted) text += `${name.length}:${name}`;
  return createHash('sha256').update(text).digest('base64');
}

/** UTF-8 bytes of all `names`. */
export function bytesOfNames(names: Iterable<string>): number {
  let bytes = 0;
  for (const name of names) bytes += Buffer.byteLength(name, 'utf8');
  return bytes;
}

/**
 * The table of shared sets, one per server. Weak references: a set lives as long as some subscription holds
 * it; the table forgets the entry once it has been collected, so clients that come and go with unique
 * lists leave nothing behind.
 */
export class NameSetInterner {
  private readonly interned = new Map<string, WeakRef<NameSet>>();
  private readonly forget = new FinalizationRegistry<string>((key) => {
    if (this.interned.get(key)?.deref() === undefined) this.interned.delete(key);
  });
  /** The empty set: what a subscription holds before it names anything. */
  readonly none: NameSet = this.intern(new Set());

  /** The one shared NameSet holding exactly `names` (`bytes`: their UTF-8 bytes, when already counted). */
  intern(names: ReadonlySet<string>, bytes = bytesOfNames(names)): NameSet {
    const sorted = [...names].sort();
    const key = keyOf(sorted);
    const existing = this.interned.get(key)?.deref();
    // Equal digests of different lists are not expected; if ever, the new list gets a set of its own.
    if (existing?.sameAs(names)) return existing;
    const set = new NameSet(sorted, key, bytes);
    if (!existing) {
      this.interned.set(key, new WeakRef(set));
      this.forget.register(set, key);
    }
    return set;
  }

  /** How many distinct name sets are alive (for tests and debugging). */
  get size(): number {
    return this.interned.size;
  }
}
