// A view key carries the view it names: equal views give equal keys (one cache entry), the view cannot be
// changed through the key, and reports and logs show the key's canonical text.
import { ViewKey } from '../../src/xds/node/view-key';
import { SnapshotCache } from '../../src/xds/cache/snapshot-cache';
import { Snapshot } from '../../src/xds/cache/snapshot';

const EAST = { clusterId: 'east', role: 'sidecar', outboundAddress: '127.0.0.1', outboundPort: 15001 } as const;

test('equal views give equal keys, whatever the order of their fields', () => {
  const a = ViewKey.of({ ...EAST, inbound: { port: 15006, bindAddress: '0.0.0.0' }, tlsDir: '/certs' });
  const b = ViewKey.of({ tlsDir: '/certs', inbound: { bindAddress: '0.0.0.0', port: 15006 }, ...EAST });
  expect(a.equals(b)).toBe(true);
  expect(a.id).toBe('sidecar|east|127.0.0.1|15001|tls=/certs|in=15006,0.0.0.0');
  expect(a.equals(ViewKey.of({ ...EAST, outboundPort: 15002 }))).toBe(false);
});

test('the view read from a key is the one it was made from, and cannot be changed through it', () => {
  const source = { ...EAST, inbound: { port: 15006, bindAddress: '0.0.0.0' } };
  const key = ViewKey.of(source);
  source.inbound.port = 1;
  expect(key.view.inbound?.port).toBe(15006);
  expect(Object.isFrozen(key.view)).toBe(true);
  expect(Object.isFrozen(key.view.inbound)).toBe(true);
});

test('reports and logs show the canonical text', () => {
  const key = ViewKey.of({ clusterId: 'west', role: 'gateway', outboundAddress: '10.0.0.2', outboundPort: 0 });
  expect(JSON.stringify({ view: key })).toBe('{"view":"gateway|west|10.0.0.2"}');
  expect(String(key)).toBe('gateway|west|10.0.0.2');
});

test('the cache holds one entry for equal keys made apart', () => {
  let builds = 0;
  const cache = new SnapshotCache(() => {
    builds++;
    return new Snapshot([]);
  });
  const cancel = cache.watch(ViewKey.of(EAST), () => undefined);
  expect(cache.snapshot(ViewKey.of({ ...EAST }))).toBe(cache.ready(ViewKey.of(EAST)));
  expect(cache.viewKeys().map((key) => key.id)).toEqual([ViewKey.of(EAST).id]);
  expect(builds).toBe(1);
  cancel();
  expect(cache.viewKeys()).toEqual([]);
});
