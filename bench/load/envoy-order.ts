// The order in which a real Envoy lists EDS names in its SotW requests, as captured from Envoy 1.40 by
// test/e2e/envoy-request-order.test.ts (docs/BENCHMARKS.md, Method):
// - neither sorted nor in the CDS response's order, but a fixed permutation from Envoy's own hashing: two
//   Envoy processes given the same clusters list them in the same order;
// - every later request of the stream (ACKs included) repeats that list unchanged;
// - a cluster added later goes first (Envoy puts each new watch at the front of its list).
// Spillway recognises an ACK whose names are byte-equal to its sorted subscription without decoding it,
// so a client that sorts would take a path real Envoys do not. The permutation here is not Envoy's (that
// comes from its internal hash) but has the same properties.

/** FNV-1a of the name: a stable, order-free position, the same in every client. */
function positionOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * EDS names of a SotW request, given the EDS clusters of the newest CDS response and the names the
 * client listed before on this stream (empty on a fresh stream): new names first (in hash order), then
 * the ones it kept, in the order it had them.
 */
export function envoySotwEdsNames(clusters: Iterable<string>, previous: readonly string[]): string[] {
  const wanted = new Set(clusters);
  const held = new Set(previous);
  const added = [...wanted].filter((name) => !held.has(name));
  added.sort((a, b) => positionOf(a) - positionOf(b) || (a < b ? -1 : a > b ? 1 : 0));
  return [...added, ...previous.filter((name) => wanted.has(name))];
}
