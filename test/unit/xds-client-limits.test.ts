// What one xDS client may make the server hold: bytes of subscribed names per type, per stream and
// server-wide (distinct sets counted once, released when the last holder lets go), and the node's size.
import { CLIENT_LIMIT_FLAGS, ClientLimitError, DEFAULT_CLIENT_LIMITS } from '../../src/xds/server/client-limits';
import { NameSetBudget } from '../../src/xds/server/name-budget';
import { StreamNames, Subscription } from '../../src/xds/server/subscription';
import { nodeSizeProblem } from '../../src/xds/server/node-limits';
import { bounded } from '../../src/xds/server/bounded-text';
import { messageType } from '../../src/xds/protos';

const names = (prefix: string, count: number, length = 10) =>
  Array.from({ length: count }, (_, i) => `${prefix}${i}`.padEnd(length, '.'));
const limits = { maxNamesBytesPerType: 1_000, maxNamesBytesPerStream: 1_500 };

describe('subscribed names are bounded in bytes', () => {
  test('per type: a list over the limit ends the stream, naming the flag; within it is fine', () => {
    const sub = new Subscription(new StreamNames(limits));
    sub.applySotw(names('a', 100)); // exactly 1,000 bytes
    expect(() => sub.applySotw(names('b', 101))).toThrow(ClientLimitError);
    expect(() => sub.applySotw(names('b', 101))).toThrow(`--${CLIENT_LIMIT_FLAGS.maxNamesBytesPerType} 1000`);
    const delta = new Subscription(new StreamNames(limits));
    delta.applyDelta(names('a', 60), []);
    expect(() => delta.applyDelta(names('b', 41), [])).toThrow(/for one type/);
    delta.applyDelta(names('b', 40), names('a', 0)); // 1,000 bytes again
    expect(delta.nameSet.bytes).toBe(1_000);
  });

  test('per stream: the types of one stream together', () => {
    const stream = new StreamNames(limits);
    const eds = new Subscription(stream);
    const rds = new Subscription(stream);
    eds.applySotw(names('e', 100));
    expect(() => rds.applySotw(names('r', 51))).toThrow(`--${CLIENT_LIMIT_FLAGS.maxNamesBytesPerStream} 1500`);
    rds.applySotw(names('r', 50));
    expect(stream.bytes).toBe(1_500);
    // Shrinking one type makes room in the other.
    eds.applySotw(names('e', 50));
    rds.applySotw(names('r', 100));
    expect(stream.bytes).toBe(1_500);
  });

  test('server-wide: distinct sets count once however many streams share them; released when the last goes', () => {
    const budget = new NameSetBudget(2_500);
    const open = () => new Subscription(new StreamNames(DEFAULT_CLIENT_LIMITS, budget));
    const sharing = Array.from({ length: 100 }, () => open());
    for (const sub of sharing) sub.applySotw(names('shared', 100)); // one set of 1,000 bytes, 100 holders
    expect(budget.bytes).toBe(1_000);
    expect(budget.distinctSets).toBe(1);
    const other = open();
    other.applySotw(names('other', 100));
    expect(budget.bytes).toBe(2_000);
    expect(() => open().applySotw(names('third', 100))).toThrow(`--${CLIENT_LIMIT_FLAGS.maxNamesBytesTotal} 2500`);
    // A holder moving from its own set to a new one of the same size fits (its old set is freed).
    other.applySotw(names('moved', 100));
    expect(budget.bytes).toBe(2_000);
    for (const sub of sharing.slice(1)) sub.release();
    expect(budget.bytes).toBe(2_000);
    sharing[0]?.release();
    expect(budget.bytes).toBe(1_000);
    other.release();
    expect(budget.bytes).toBe(0);
    expect(budget.distinctSets).toBe(0);
  });

  test('a refused change leaves the subscription and the totals as they were', () => {
    const budget = new NameSetBudget(1_000);
    const stream = new StreamNames(limits, budget);
    const sub = new Subscription(stream);
    sub.applySotw(names('a', 50));
    const before = sub.nameSet;
    new Subscription(new StreamNames(limits, budget)).applySotw(names('x', 50)); // the budget is now full
    expect(() => sub.applySotw(names('b', 60))).toThrow(/distinct subscribed resource names/);
    expect(sub.nameSet).toBe(before);
    expect(stream.bytes).toBe(500);
    expect(budget.bytes).toBe(1_000);
  });
});

describe('node size', () => {
  const Node = messageType('envoy.config.core.v3.Node');
  const encode = (node: Record<string, unknown>) => Node.encode(Node.fromObject(node)).finish();
  const metadata = (bytes: number) => ({ fields: { LABELS: { stringValue: 'l'.repeat(bytes) } } });
  const node = { maxNodeBytes: 10_000, maxNodeMetadataBytes: 5_000, maxNodeFieldBytes: 100 };

  test('an Istio-sized node passes the defaults', () => {
    const istio = encode({
      id: 'sidecar~10.1.2.3~checkout-v1-6b746f74dc-9stvs.shop~shop.svc.cluster.local',
      cluster: 'checkout.shop',
      metadata: metadata(20_000),
      user_agent_name: 'envoy',
    });
    expect(nodeSizeProblem(istio, DEFAULT_CLIENT_LIMITS)).toBeUndefined();
  });

  test.each([
    [
      'id',
      { id: 'i'.repeat(101) },
      `node id of 101 bytes is over the limit of 100 (--${CLIENT_LIMIT_FLAGS.maxNodeFieldBytes})`,
    ],
    ['cluster', { id: 'a', cluster: 'c'.repeat(200) }, 'node cluster of 200 bytes'],
    ['user agent', { id: 'a', user_agent_name: 'u'.repeat(101) }, 'node user_agent_name of 101 bytes'],
    ['metadata', { id: 'a', metadata: metadata(6_000) }, `(--${CLIENT_LIMIT_FLAGS.maxNodeMetadataBytes})`],
  ])('%s over its bound: a short message naming the flag, never the value', (_, fields, expected) => {
    const problem = nodeSizeProblem(encode(fields), node);
    expect(problem).toContain(expected);
    expect((problem ?? '').length).toBeLessThan(200);
  });

  test('the whole node, when every field fits (metadata merged from several parts)', () => {
    const part = (i: number) =>
      encode({ id: 'a', metadata: { fields: { [`K${i}`]: { stringValue: 'v'.repeat(4_000) } } } });
    const merged = Buffer.concat([part(0), part(1), part(2)]);
    expect(nodeSizeProblem(merged, node)).toContain(
      `node of ${merged.length} bytes is over the limit of 10000 (--${CLIENT_LIMIT_FLAGS.maxNodeBytes})`,
    );
  });

  test('garbage bytes are refused, not thrown', () => {
    expect(nodeSizeProblem(Buffer.from([0x0a, 0x05, 0x61, 0x62]), node)).toMatch(/not a valid/); // id cut short
  });
});

describe('client text in logs and on /debug/clients', () => {
  test('is kept up to a bound, saying it was cut and how long it was', () => {
    expect(bounded('short')).toBe('short');
    expect(bounded('x'.repeat(3_000_000), 10)).toBe('xxxxxxxxxx... [truncated: 3000000 characters]');
  });
});
