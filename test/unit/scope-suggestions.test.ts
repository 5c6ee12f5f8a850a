// Learned scope suggestions: what load reports teach about who calls whom (bounded), the per-workload
// report (declared vs observed, a calls: list and annotation to paste) and its text form.
import { formatScope } from '../../src/cli/scope-command';
import { LoadSample } from '../../src/lrs/load-report-store';
import { ObservedCalls, calleeOf } from '../../src/visibility/observed-calls';
import { scopeReport } from '../../src/visibility/scope-report';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const CHECKOUT = 'checkout.shop.svc.cluster.local';
const LEDGER = 'ledger.shop.svc.cluster.local';
const WEB = 'web.shop.svc.cluster.local';

const sample = (envoyCluster: string, requests = 10): LoadSample => ({
  clientCluster: 'east',
  envoyCluster,
  targetCluster: 'east',
  requests,
  errors: 0,
});

function mesh(webCalls?: string[]) {
  return sampleMesh({
    extraServices: [
      {
        service: httpService('web', 'shop', 8081, webCalls ? { calls: webCalls } : {}),
        endpoints: [endpoint('east', 18088)],
      },
    ],
  });
}

describe('observed calls from load reports', () => {
  it('reads the callee from outbound clusters only', () => {
    expect(calleeOf(`outbound|8080|v2-or-v1|${CHECKOUT}`)).toBe(CHECKOUT);
    expect(calleeOf('inbound|8080||')).toBeUndefined();
    expect(calleeOf('spillway_xds')).toBeUndefined();
  });

  it('sums requests per (workload, callee); reports without a known workload or callee are not kept', () => {
    const model = mesh();
    const observed = new ObservedCalls(100, (host) => model.services.has(host));
    observed.record(
      WEB,
      [
        sample(`outbound|8080|v1|${CHECKOUT}`, 5),
        sample(`outbound|8080|v2|${CHECKOUT}`, 3),
        sample(`outbound|8080||${LEDGER}`, 0),
      ],
      1_000,
    );
    observed.record(WEB, [sample(`outbound|8080||${CHECKOUT}`, 2), sample('outbound|1||made-up.example')], 2_000);
    observed.record(undefined, [sample(`outbound|8080||${CHECKOUT}`)]);
    observed.record('nobody.nowhere.svc.cluster.local', [sample(`outbound|8080||${CHECKOUT}`)]);
    expect([...(observed.entries().get(WEB) ?? new Map())]).toEqual([[CHECKOUT, { requests: 10, lastSeenMs: 2_000 }]]);
    expect(observed.entries().size).toBe(1);
    expect(observed.unidentified).toBe(2);
  });

  it('at the limit, forgets pairs of services that left the mesh before refusing new ones', () => {
    const inMesh = new Set([WEB, CHECKOUT, LEDGER, 'gone.shop.svc.cluster.local']);
    const observed = new ObservedCalls(2, (host) => inMesh.has(host));
    observed.record(
      WEB,
      [sample(`outbound|8080||${CHECKOUT}`), sample('outbound|8080||gone.shop.svc.cluster.local')],
      1_000,
    );
    inMesh.delete('gone.shop.svc.cluster.local');
    observed.record(WEB, [sample(`outbound|8080||${LEDGER}`)], 2_000);
    expect([...(observed.entries().get(WEB)?.keys() ?? [])].sort()).toEqual([CHECKOUT, LEDGER]);
    expect(observed.dropped).toBe(0);
  });

  it('keeps at most the configured number of pairs and counts the rest', () => {
    const observed = new ObservedCalls(2);
    observed.record(WEB, [
      sample('outbound|1||a.x.svc.cluster.local'),
      sample('outbound|1||b.x.svc.cluster.local'),
      sample('outbound|1||c.x.svc.cluster.local'),
    ]);
    observed.record(WEB, [sample('outbound|1||a.x.svc.cluster.local'), sample('outbound|1||d.x.svc.cluster.local')]);
    expect(observed.size).toBe(2);
    expect(observed.dropped).toBe(2);
    expect(observed.entries().get(WEB)?.get('a.x.svc.cluster.local')?.requests).toBe(20);
  });
});

describe('the scope report', () => {
  const report = (webCalls: string[] | undefined, observedCallees: string[]) => {
    const observed = new ObservedCalls();
    observed.record(
      WEB,
      observedCallees.map((callee) => sample(`outbound|8080||${callee}`)),
      5_000,
    );
    return scopeReport({
      model: mesh(webCalls),
      observed: observed.entries(),
      observingSinceMs: 0,
      defaultScope: 'all',
      limit: 10,
      observedPairs: observed.size,
      droppedPairs: 0,
      unidentifiedReports: 0,
      nowMs: 6_000,
    });
  };

  it('an undeclared workload: the observed callees are the suggestion', () => {
    const [web] = report(undefined, [LEDGER, CHECKOUT]).workloads;
    expect(web).toEqual({
      workload: 'web.shop',
      observed: [
        { service: 'checkout.shop', requests: 10, lastSeenMs: 5_000 },
        { service: 'ledger.shop', requests: 10, lastSeenMs: 5_000 },
      ],
      observedNotDeclared: [],
      declaredNotObserved: [],
      suggestion: {
        calls: ['checkout.shop', 'ledger.shop'],
        meshFile: 'calls: [checkout.shop, ledger.shop]',
        annotation: 'spillway.io/calls: "checkout.shop, ledger.shop"',
      },
    });
  });

  it('a declared workload: what was seen but not declared, and declared but not seen; the suggestion drops nothing declared', () => {
    const [web] = report([CHECKOUT, 'payments.billing.svc.cluster.local'], [CHECKOUT, LEDGER]).workloads;
    expect(web?.declared).toEqual(['checkout.shop', 'payments.billing']);
    expect(web?.observedNotDeclared).toEqual(['ledger.shop']);
    expect(web?.declaredNotObserved).toEqual(['payments.billing']);
    expect(web?.suggestion.calls).toEqual(['checkout.shop', 'ledger.shop', 'payments.billing']);
  });

  it('is bounded by its limit and says how many there are', () => {
    const many = new ObservedCalls();
    const model = sampleMesh({
      extraServices: Array.from({ length: 5 }, (_, i) => ({
        service: httpService(`w${i}`, 'shop', 8081),
        endpoints: [],
      })),
    });
    for (let i = 0; i < 5; i++) many.record(`w${i}.shop.svc.cluster.local`, [sample(`outbound|8080||${CHECKOUT}`)]);
    const answer = scopeReport({
      model,
      observed: many.entries(),
      observingSinceMs: 0,
      defaultScope: 'on-demand',
      limit: 2,
      observedPairs: 5,
      droppedPairs: 0,
      unidentifiedReports: 0,
    });
    expect(answer.total).toBe(5);
    expect(answer.workloads.map((w) => w.workload)).toEqual(['w0.shop', 'w1.shop']);
  });

  it('leaves out workloads and callees no longer in the mesh', () => {
    const observed = new ObservedCalls();
    observed.record('gone.shop.svc.cluster.local', [sample(`outbound|8080||${CHECKOUT}`)]);
    observed.record(WEB, [sample(`outbound|8080||${CHECKOUT}`), sample('outbound|8080||old.shop.svc.cluster.local')]);
    const answer = scopeReport({
      model: mesh(),
      observed: observed.entries(),
      observingSinceMs: 0,
      defaultScope: 'all',
      limit: 10,
      observedPairs: 3,
      droppedPairs: 0,
      unidentifiedReports: 0,
    });
    expect(answer.workloads.map((w) => [w.workload, w.suggestion.calls])).toEqual([['web.shop', ['checkout.shop']]]);
  });

  it('prints one block per workload with the lines to paste', () => {
    const text = formatScope(report([CHECKOUT], [CHECKOUT, LEDGER]), 6_000);
    expect(text).toBe(
      [
        'Sidecars whose workload declares no calls get: all (serve --scope)',
        "Observed from load reports for 6s; Spillway never trims a proxy's configuration on its own.",
        '',
        'web.shop',
        '  declared:    checkout.shop',
        '  observed:    checkout.shop (10 requests, last 1s ago), ledger.shop (10 requests, last 1s ago)',
        '  not declared but called: ledger.shop (its sidecars answer 404 for these: add them)',
        '  mesh file:   calls: [checkout.shop, ledger.shop]',
        '  annotation:  spillway.io/calls: "checkout.shop, ledger.shop"',
      ].join('\n'),
    );
  });
});
