// Load reports, piece by piece: the wire reader keeps only what counts and stops at the entry limits,
// attribution admits only what the node was sent, and the store is bounded and forgets after the window.
import { attribute } from '../../src/lrs/attribution';
import { LoadReportStore, LoadSample } from '../../src/lrs/load-report-store';
import { decodeLoadReport } from '../../src/lrs/report-decoder';
import { ReportingClients } from '../../src/lrs/reporting-clients';
import { encodeLoadReport } from '../harness/raw-lrs-client';

const LIMITS = { maxClustersPerReport: 3, maxLocalitiesPerReport: 4 };
const sample = (envoyCluster: string, targetCluster: string, requests: number): LoadSample => ({
  clientCluster: 'east',
  envoyCluster,
  targetCluster,
  requests,
  errors: 0,
});

describe('report decoder', () => {
  test('reads names, sub_zones and counts; drops idle localities; keeps the node bytes', () => {
    const bytes = encodeLoadReport({ id: 'n1', metadata: { CLUSTER_ID: 'east' } }, [
      {
        name: 'a',
        localities: [
          { subZone: 'east', successful: 7, errors: 2 },
          { subZone: 'west', successful: 0 },
        ],
      },
      { name: 'b', localities: [] },
    ]);
    const result = decodeLoadReport(bytes, LIMITS);
    if (!result.ok) throw new Error(result.message);
    expect(result.report.clusters).toEqual([
      { name: 'a', localities: [{ subZone: 'east', requests: 9, errors: 2 }] },
      { name: 'b', localities: [] },
    ]);
    expect(result.report.node?.length).toBeGreaterThan(0);
  });

  test('stops at the first entry over a limit, naming the flag', () => {
    const clusters = decodeLoadReport(
      encodeLoadReport(
        undefined,
        ['a', 'b', 'c', 'd'].map((name) => ({ name, localities: [] })),
      ),
      LIMITS,
    );
    expect(clusters).toMatchObject({ ok: false, reason: 'too_many_clusters' });
    expect(!clusters.ok && clusters.message).toContain('--lrs-max-clusters-per-report');
    const localities = decodeLoadReport(
      encodeLoadReport(undefined, [
        { name: 'a', localities: Array.from({ length: 5 }, () => ({ subZone: 'east', successful: 1 })) },
      ]),
      LIMITS,
    );
    expect(localities).toMatchObject({ ok: false, reason: 'too_many_localities' });
  });

  test('garbage is invalid, not a crash', () => {
    expect(decodeLoadReport(Buffer.from([0x12, 0xff, 0xff, 0x01]), LIMITS)).toMatchObject({
      ok: false,
      reason: 'invalid',
    });
  });
});

describe('attribution', () => {
  const clients: ReportingClients = {
    isMeshCluster: (name) => name === 'east' || name === 'west',
    sentClusters: (nodeId, clusterId) =>
      nodeId === 'proxy' && clusterId === 'east' ? new Set(['checkout']) : undefined,
  };
  const clusters = [
    {
      name: 'checkout',
      localities: [
        { subZone: 'west', requests: 5, errors: 0 },
        { subZone: 'mars', requests: 1, errors: 0 },
      ],
    },
    { name: 'ledger', localities: [{ subZone: 'west', requests: 3, errors: 0 }] },
  ];

  test("counts only sent clusters and known targets, for the node's own cluster", () => {
    const result = attribute({ nodeId: 'proxy', cluster: 'east' }, clusters, clients);
    expect(result.samples).toEqual([sample('checkout', 'west', 5)]);
    expect(result.dropped).toEqual({ unknown_locality: 1, cluster_not_sent: 1 });
  });

  test('a node without a live xDS stream in that cluster counts for nothing', () => {
    expect(attribute({ nodeId: 'proxy', cluster: 'west' }, clusters, clients)).toMatchObject({
      samples: [],
      dropped: { no_xds_stream: 3 },
    });
    expect(attribute({ nodeId: 'rogue', cluster: 'east' }, clusters, clients).samples).toEqual([]);
  });
});

describe('load report store', () => {
  test('sums per series over the window, then forgets', () => {
    let now = 100_000;
    const store = new LoadReportStore(10, 10_000, () => now);
    store.record([sample('checkout', 'east', 4), sample('checkout', 'west', 1)]);
    now += 500;
    store.record([sample('checkout', 'east', 4)]);
    expect(store.measure('east', ['checkout'])).toEqual({ byTarget: { east: 8, west: 1 }, requests: 9, errors: 0 });
    expect(store.measure('east', ['other'])).toEqual({ byTarget: {}, requests: 0, errors: 0 });
    now += 12_000;
    expect(store.measure('east', ['checkout']).requests).toBe(0);
    expect(store.series).toBe(0);
  });

  test('a full store refuses new series, keeps counting existing ones, and frees room as series expire', () => {
    let now = 100_000;
    const store = new LoadReportStore(2, 10_000, () => now);
    expect(store.record([sample('a', 'east', 1), sample('b', 'east', 1), sample('c', 'east', 1)])).toBe(1);
    expect(store.record([sample('a', 'east', 1)])).toBe(0);
    expect(store.series).toBe(2);
    now += 12_000;
    expect(store.record([sample('c', 'east', 1)])).toBe(0);
    expect(store.series).toBe(1);
  });
});
