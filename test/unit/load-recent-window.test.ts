// The window failover states are decided on: the newest second of reports when it holds enough requests,
// else up to the last three; the 10 s window still gives the shares.
import { LoadReportStore, MIN_RECENT_REQUESTS } from '../../src/lrs/load-report-store';

const CLUSTER = 'outbound|8080||checkout.shop.svc.cluster.local';

function store(): {
  loads: LoadReportStore;
  at: (ms: number) => void;
  report: (target: string, requests: number) => void;
} {
  let now = 100_000;
  const loads = new LoadReportStore(1000, 10_000, () => now);
  return {
    loads,
    at: (ms) => (now = 100_000 + ms),
    report: (target, requests) =>
      loads.record([{ clientCluster: 'east', envoyCluster: CLUSTER, targetCluster: target, requests, errors: 0 }]),
  };
}

describe('recent load window', () => {
  test('steady traffic: the newest second decides, so a move shows one report later', () => {
    const { loads, at, report } = store();
    for (let s = 0; s < 8; s++) {
      at(s * 1000 + 10);
      report('east', 20);
    }
    at(8010);
    report('west', 20);
    expect(loads.measureRecent('east', [CLUSTER])).toEqual({
      byTarget: { west: 20 },
      requests: 20,
      errors: 0,
      windowMs: 1000,
    });
    // The 10 s window still holds the history the page shows.
    expect(loads.measure('east', [CLUSTER]).byTarget).toEqual({ east: 160, west: 20 });
  });

  test('sparse traffic looks back up to three seconds, never further', () => {
    const { loads, at, report } = store();
    at(10);
    report('east', 4);
    at(1010);
    report('west', 3);
    at(2010);
    report('west', MIN_RECENT_REQUESTS - 8);
    const recent = loads.measureRecent('east', [CLUSTER]);
    expect(recent.windowMs).toBe(3000);
    expect(recent.byTarget).toEqual({ east: 4, west: 5 });
    at(3500);
    expect(loads.measureRecent('east', [CLUSTER]).byTarget).toEqual({ west: 5 });
    at(6000);
    expect(loads.measureRecent('east', [CLUSTER]).requests).toBe(0);
  });
});
