// Answers for names the view lacks: an empty assignment per EDS name, and an unknown-target listener per
// proxyless `host:port` name, at most MAX_UNKNOWN_TARGETS_PER_NAME_SET per name set (each is encoded).
import { ENDPOINT_TYPE, LISTENER_TYPE } from '../../src/xds/resource-types';
import { EmptyResources, MAX_UNKNOWN_TARGETS_PER_NAME_SET } from '../../src/xds/server/empty-resources';

test('unknown-target listeners stop at the bound for one name set; another set has its own', () => {
  const empties = new EmptyResources();
  const hostileSet = {};
  const names = Array.from({ length: MAX_UNKNOWN_TARGETS_PER_NAME_SET + 10 }, (_, i) => `made-up-${i}.example:80`);
  const answered = names.filter((name) => empties.for(LISTENER_TYPE, name, hostileSet) !== undefined);
  expect(answered).toEqual(names.slice(0, MAX_UNKNOWN_TARGETS_PER_NAME_SET));
  // Asking again for an answered name gives the same resource (not counted twice).
  expect(empties.for(LISTENER_TYPE, names[0], hostileSet)).toBe(empties.for(LISTENER_TYPE, names[0], hostileSet));
  expect(empties.for(LISTENER_TYPE, 'checkout.shop:8080', {})?.name).toBe('checkout.shop:8080');
  // EDS names are cheap (no encoding kept) and are not bounded here: the name-bytes limits bound them.
  expect(empties.for(ENDPOINT_TYPE, 'outbound|1||x', hostileSet)?.name).toBe('outbound|1||x');
});
