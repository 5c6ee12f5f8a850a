// A part rebuilt with a value equal to the one before (an endpoint change leaves a service's routes as
// they were) keeps the earlier value object, so a route table assembled from values is not built again,
// however many passes later that service changes.
import { ServiceEntry } from '../../src/mesh/model';
import { ServicePart, ServiceParts } from '../../src/xds/translate/service-parts';

function entry(name: string, ready: boolean): ServiceEntry {
  return {
    service: {
      name,
      namespace: 'shop',
      ports: [{ name: 'http', port: 8080, protocol: 'http' }],
      exported: true,
      subsetLabel: 'version',
      failover: 'cluster',
    },
    endpoints: [{ cluster: 'east', address: '10.0.0.1', ports: { http: 8080 }, labels: {}, ready }],
  };
}

const part = (route: string): ServicePart<{ route: string }> => ({ resources: [], value: { route } });

test('an equal value keeps its object across passes; a different one does not', () => {
  const parts = new ServiceParts();
  let builds = 0;
  const table = (used: ServicePart<{ route: string }>[]) => parts.assembled('scope', 'outbound', used, () => ++builds);
  const a = parts.part('scope', entry('a', true), () => part('a-routes'));
  const b = parts.part('scope', entry('b', true), () => part('b-routes'));
  expect(table([a, b])).toBe(1);
  parts.endPass();
  // Three passes in which only endpoints change, each a different service: the table is never built again.
  for (const [ready, name] of [
    [false, 'a'],
    [false, 'b'],
    [true, 'a'],
  ] as const) {
    const changed = parts.part('scope', entry(name, ready), () => part(`${name}-routes`));
    const other = parts.part('scope', entry(name === 'a' ? 'b' : 'a', name === 'a' ? ready : true), () =>
      part(`${name === 'a' ? 'b' : 'a'}-routes`),
    );
    expect(table(name === 'a' ? [changed, other] : [other, changed])).toBe(1);
    parts.endPass();
  }
  const routesChanged = parts.part('scope', entry('a', false), () => part('a-new-routes'));
  const b2 = parts.part('scope', entry('b', true), () => part('b-routes'));
  expect(table([routesChanged, b2])).toBe(2);
});
