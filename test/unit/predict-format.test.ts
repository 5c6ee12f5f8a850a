// `spillway what-if` and `spillway drill` text: durations, the banner and the outcome, and the what-if
// table, from reports shaped as the admin API sends them.
import { drillBanner, formatDrillStatus, formatWhatIf, parseDuration } from '../../src/cli/predict-commands';
import type { WhatIfReport } from '../../src/predict/what-if';

const REPORT: WhatIfReport = {
  failures: ['east'],
  generatedAtMs: 0,
  loadWindowMs: 10_000,
  routes: [
    {
      clientCluster: 'east',
      service: 'checkout.shop.svc.cluster.local',
      port: 8080,
      subset: '',
      before: { east: 1 },
      after: { west: 2 / 3, south: 1 / 3 },
      thenAfter: [],
      requestsPerSecond: 30,
    },
    {
      clientCluster: 'east',
      service: 'checkout.shop.svc.cluster.local',
      port: 8080,
      subset: 'v2',
      before: { east: 1 },
      after: {},
      thenAfter: [],
      fallsBackTo: 'v1',
    },
    {
      clientCluster: 'west',
      service: 'ledger.shop.svc.cluster.local',
      port: 8080,
      subset: '',
      before: { west: 1 },
      after: {},
      thenAfter: [],
      deadEnd: 'ledger.shop: it is not exported, so no other cluster serves it — calls from west fail',
    },
  ],
  fit: [
    {
      service: 'checkout.shop.svc.cluster.local',
      port: 8080,
      cluster: 'south',
      readyEndpoints: 1,
      todayRps: 10,
      predictedRps: 20,
      factor: 2,
      overload: 'south would receive 2.0x its current load of checkout.shop:8080 on 1 endpoint (20 req/s, today 10)',
    },
  ],
  warnings: ['south would receive 2.0x its current load of checkout.shop:8080 on 1 endpoint (20 req/s, today 10)'],
};

describe('what-if and drill text', () => {
  test('durations: seconds, s and m; anything else is refused', () => {
    expect(parseDuration('120s')).toBe(120);
    expect(parseDuration('2m')).toBe(120);
    expect(parseDuration('90')).toBe(90);
    for (const bad of ['', '1h', '-5s', 'soon', '5 s s']) expect(parseDuration(bad)).toBeUndefined();
  });

  test('the what-if table: shares, fallback, dead end, load fit and warnings', () => {
    expect(formatWhatIf(REPORT)).toBe(
      [
        'If east failed:',
        '',
        'CLIENT  SERVICE             SUBSET  NOW        AFTER               THEN  LOAD',
        'east    checkout.shop:8080  all     east 100%  west 67% south 33%  -     30 req/s',
        'east    checkout.shop:8080  v2      east 100%  falls back to v1    -     -',
        'west    ledger.shop:8080    all     west 100%  FAILS               -     -',
        '',
        'Load fit (load reports, last 10 s):',
        'CLUSTER  SERVICE             READY  REQ/S NOW  REQ/S AFTER  FACTOR',
        'south    checkout.shop:8080  1      10         20           2x',
        '',
        'Warnings:',
        '  south would receive 2.0x its current load of checkout.shop:8080 on 1 endpoint (20 req/s, today 10)',
      ].join('\n'),
    );
  });

  test('the banner counts down on the server clock; an outcome under it', () => {
    const active = {
      id: 3,
      failure: 'east/checkout.shop',
      startedAtMs: 0,
      deadlineMs: 90_000,
      by: '127.0.0.1',
      phase: 'running' as const,
    };
    expect(drillBanner(active, 30_000)).toBe(
      'DRILL east/checkout.shop: these endpoints are served as not ready for 1m more (started by 127.0.0.1; spillway drill stop ends it)',
    );
    expect(drillBanner({ ...active, phase: 'ending' }, 95_000)).toMatch(
      /^DRILL east\/checkout\.shop: over, traffic coming back/,
    );
    const text = formatDrillStatus({
      generatedAtMs: 100_000,
      outcomes: [
        {
          id: 3,
          failure: 'east/checkout.shop',
          startedAtMs: 0,
          endedAtMs: 90_000,
          endedBy: 'deadline',
          requests: 900,
          failedRequests: 0,
          warnings: [],
          routes: [
            {
              clientCluster: 'east',
              service: 'checkout.shop.svc.cluster.local',
              port: 8080,
              subset: '',
              expected: { west: 2 / 3, south: 1 / 3 },
              measured: { west: 0.66, south: 0.34 },
              requests: 800,
            },
          ],
        },
      ],
    });
    expect(text).toBe(
      [
        'no drill running',
        '',
        'Drill 3 (east/checkout.shop) ended by deadline after 1m: 900 requests reported, 0 failed',
        'CLIENT  SERVICE             SUBSET  EXPECTED            MEASURED            REQUESTS',
        'east    checkout.shop:8080  all     west 67% south 33%  west 66% south 34%  800',
      ].join('\n'),
    );
  });
});
