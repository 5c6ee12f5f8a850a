// Interned subscription name sets: clients asking for the same names share one immutable set, and one
// client's change never leaks into another's.
import { StreamNames, Subscription } from '../../src/xds/server/subscription';
import { NameSet } from '../../src/xds/server/name-set';
import { NameSetBudget } from '../../src/xds/server/name-budget';
import { DEFAULT_CLIENT_LIMITS } from '../../src/xds/server/client-limits';

/** One server's budget, with the table of sets its streams share. */
const budget = new NameSetBudget();
const internNames = (names: ReadonlySet<string>): NameSet => budget.sets.intern(names);
/** A subscription on a stream of its own, on that server. */
const newSubscription = (): Subscription => new Subscription(new StreamNames(DEFAULT_CLIENT_LIMITS, budget));
import { Snapshot } from '../../src/xds/cache/snapshot';
import { encodeResource } from '../../src/xds/resource/encoded-resource';
import { ENDPOINT_TYPE } from '../../src/xds/resource-types';
import { messageType } from '../../src/xds/protos';

/** resource_names fields as a client puts them on the wire (a request holding only them). */
function wireNames(names: string[]): Buffer {
  const type = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  return Buffer.from(type.encode(type.fromObject({ resource_names: names })).finish());
}

describe('interned name sets', () => {
  test('equal sets are one object, whatever the order', () => {
    const a = internNames(new Set(['b', 'a', 'c']));
    const b = internNames(new Set(['c', 'b', 'a']));
    expect(a).toBe(b);
    expect([...a.names]).toEqual(['a', 'b', 'c']);
    expect(internNames(new Set(['a', 'b']))).not.toBe(a);
  });

  test('names crafted to look like several names do not collide with them', () => {
    const two = internNames(new Set(['a', 'b']));
    const crafted = internNames(new Set(['a1:b']));
    const crafted2 = internNames(new Set(['1:a1:b']));
    expect(new Set([two, crafted, crafted2]).size).toBe(3);
    expect(two.has('a')).toBe(true);
    expect(crafted.has('a')).toBe(false);
  });

  test('SotW: two clients with the same names share the set; one changing leaves the other alone', () => {
    const first = newSubscription();
    const second = newSubscription();
    first.applySotw(['x', 'y']);
    second.applySotw(['y', 'x', 'y']);
    expect(first.nameSet).toBe(second.nameSet);
    const change = second.applySotw(['x', 'z']);
    expect(change).toEqual({ added: ['z'], removed: ['y'], wildcardChanged: false });
    expect([...first.names].sort()).toEqual(['x', 'y']);
    expect([...second.names].sort()).toEqual(['x', 'z']);
    // The same names again (an ACK) is no change and keeps the shared set.
    const before = second.nameSet;
    expect(second.applySotw(['z', 'x'])).toEqual({ added: [], removed: [], wildcardChanged: false });
    expect(second.nameSet).toBe(before);
  });

  test('delta: copy on write, and a rejected request changes nothing', () => {
    const first = newSubscription();
    const second = newSubscription();
    first.applyDelta(['a', 'b'], []);
    second.applyDelta(['b', 'a'], []);
    expect(first.nameSet).toBe(second.nameSet);
    expect(second.applyDelta(['c'], ['a'])).toEqual({ added: ['c'], removed: ['a'], wildcardChanged: false });
    expect([...first.names].sort()).toEqual(['a', 'b']);
    expect([...second.names].sort()).toEqual(['b', 'c']);
    expect(() => second.applyDelta(['d', 'x'.repeat(5000)], [])).toThrow(/longer than/);
    expect([...second.names].sort()).toEqual(['b', 'c']);
  });

  test('a snapshot builds one selection per distinct subscription', () => {
    const snapshot = new Snapshot([encodeResource(ENDPOINT_TYPE, 'a', { cluster_name: 'a', endpoints: [] })]);
    const names = internNames(new Set(['a']));
    const resource = snapshot.get(ENDPOINT_TYPE, 'a');
    if (!resource) throw new Error('the snapshot lost its one resource');
    let built = 0;
    const select = () => {
      built++;
      return [resource];
    };
    const one = snapshot.selection(ENDPOINT_TYPE, false, names, select);
    const two = snapshot.selection(ENDPOINT_TYPE, false, internNames(new Set(['a'])), select);
    expect(two).toBe(one);
    expect(built).toBe(1);
    snapshot.selection(ENDPOINT_TYPE, true, names, select);
    expect(built).toBe(2);
  });

  test('a set recognises its own names, sorted, in wire form (long and non-ASCII names included)', () => {
    const long = 'x'.repeat(300); // a two-byte length
    const set = internNames(new Set(['b', 'ä-ü', long, 'a']));
    expect(set.isEncodedAs(wireNames(['a', 'b', long, 'ä-ü'].sort()))).toBe(true);
    expect(set.isEncodedAs(wireNames(['b', 'a', long, 'ä-ü']))).toBe(false);
    expect(set.isEncodedAs(wireNames(['a', 'b', long]))).toBe(false);
  });

  test('a subscription tells a repeated list (no change) from any change, wildcards included', () => {
    const named = newSubscription();
    named.applySotw(['b', 'a']);
    expect(named.repeatsEncoded(wireNames(['a', 'b']))).toBe(true);
    expect(named.repeatsEncoded(wireNames(['a']))).toBe(false);
    const legacy = newSubscription();
    legacy.applySotw([]);
    expect(legacy.repeatsEncoded(Buffer.alloc(0))).toBe(true);
    expect(legacy.repeatsEncoded(wireNames(['a']))).toBe(false);
    const explicit = newSubscription();
    explicit.applySotw(['*', 'a']);
    expect(explicit.repeatsEncoded(wireNames(['a']))).toBe(false); // dropping "*" is a change
    expect(newSubscription().repeatsEncoded(Buffer.alloc(0))).toBe(false); // nothing asked yet
  });
});
