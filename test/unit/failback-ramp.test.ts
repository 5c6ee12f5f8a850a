// Spillway's ramp between priorities: when a cluster's ready endpoints of a service with
// slowStartWindowMs go from none to some, its sidecars' EDS puts them in one priority with the remote
// gateways, weighted to the elapsed share of the window, and back to the usual layout after it.
import { MeshEndpoint, MeshModel, ServiceEntry } from '../../src/mesh/model';
import { FailbackRamp } from '../../src/predict/failback-ramp';
import { firstShares, routingOf } from '../../src/predict/served-routing';
import { sidecarLoadAssignment } from '../../src/xds/translate/endpoint-builder';

const PORT = { name: 'http', port: 8080, protocol: 'http' as const };

function model(eastReady: boolean, windowMs?: number): MeshModel {
  const endpoint = (cluster: string, address: string, ready = true): MeshEndpoint => ({
    cluster,
    address,
    ports: { http: 8080 },
    labels: {},
    ready,
  });
  const entry: ServiceEntry = {
    service: {
      name: 'checkout',
      namespace: 'shop',
      ports: [PORT],
      exported: true,
      subsetLabel: 'version',
      failover: 'cluster',
      ...(windowMs ? { slowStartWindowMs: windowMs } : {}),
    },
    endpoints: [
      endpoint('east', '10.1.0.1', eastReady),
      endpoint('east', '10.1.0.2', eastReady),
      endpoint('west', '10.2.0.1'),
      endpoint('west', '10.2.0.2'),
      endpoint('south', '10.3.0.1'),
    ],
  };
  return {
    clusters: new Map([
      ['east', { name: 'east', region: 'r1', zone: 'a', gateway: { address: '10.0.0.1', port: 15443 } }],
      ['west', { name: 'west', region: 'r1', zone: 'b', gateway: { address: '10.0.0.2', port: 15443 } }],
      ['south', { name: 'south', region: 'r2', zone: 'c', gateway: { address: '10.0.0.3', port: 15443 } }],
    ]),
    services: new Map([['checkout.shop.svc.cluster.local', entry]]),
  };
}

function eastView(served: MeshModel) {
  const entry = served.services.get('checkout.shop.svc.cluster.local') as ServiceEntry;
  const assignment = sidecarLoadAssignment(
    'outbound|8080||checkout.shop.svc.cluster.local',
    served,
    served.clusters.get('east') as never,
    { entry, port: PORT },
  );
  return routingOf(assignment);
}

describe('failback ramp', () => {
  test('east back after having none: its share grows with the window, then the usual priorities', () => {
    let now = 0;
    const ramp = new FailbackRamp(() => now);
    let steps = 0;
    ramp.onChange(() => steps++);
    expect(ramp.apply(model(false, 10_000)).services.size).toBe(1);
    const back = model(true, 10_000);
    now = 2_500;
    let routing = eastView(ramp.apply(back));
    expect(routing.map((p) => p.priority)).toEqual([0]);
    expect(firstShares({ edsName: '', port: 8080, subset: '', host: '', priorities: routing }).east).toBeCloseTo(
      0.01,
      2,
    );
    now = 7_500;
    routing = eastView(ramp.apply(model(true, 10_000)));
    // A new model object of the same state: the ramp goes on (it started at 2.5 s).
    const shares = firstShares({ edsName: '', port: 8080, subset: '', host: '', priorities: routing });
    expect(shares.east).toBeCloseTo(0.5, 2);
    expect(shares.west).toBeCloseTo((0.5 * 2) / 3, 2);
    now = 12_600;
    const after = ramp.apply(back);
    expect(after).toBe(back);
    expect(eastView(after).map((p) => [p.priority, Object.keys(p.weights).sort()])).toEqual([
      [0, ['east']],
      [1, ['south', 'west']],
    ]);
    ramp.close();
  });

  test('no window, the first model seen, or a cluster that had endpoints all along: no ramp', () => {
    const ramp = new FailbackRamp(() => 0);
    const first = model(true, 10_000);
    expect(ramp.apply(first)).toBe(first);
    const plain = new FailbackRamp(() => 0);
    plain.apply(model(false));
    const back = model(true);
    expect(plain.apply(back)).toBe(back);
    expect(plain.active()).toEqual([]);
  });
});
