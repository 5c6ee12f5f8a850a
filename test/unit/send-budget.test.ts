// The server-wide send budget: streams take turns in arrival order once it is used up, a finished write
// gives its bytes back, and a write that never finishes stops counting after the stall timeout.
import { SendBudget } from '../../src/xds/server/send-budget';
import { CLUSTER_TYPE } from '../../src/xds/resource-types';
import { startInProcess } from '../harness/in-process';
import * as grpc from '@grpc/grpc-js';
import { RawAdsClient } from '../harness/raw-ads-client';
import { sampleMesh } from '../harness/sample-mesh';

describe('send budget', () => {
  test('waiting streams resume in arrival order, only while there is room', () => {
    const budget = new SendBudget(100, 60_000);
    const first = budget.take(150);
    expect(budget.canSend()).toBe(false);
    const resumed: string[] = [];
    const b = () => {
      resumed.push('b');
      budget.take(150); // uses the room up again: c must keep waiting
    };
    const c = () => resumed.push('c');
    budget.waitTurn(b);
    budget.waitTurn(c);
    expect(budget.streamsWaiting).toBe(2);
    first.release();
    first.release(); // idempotent
    expect(resumed).toEqual(['b']);
    expect(budget.bytesInFlight).toBe(150);
    expect(budget.streamsWaiting).toBe(1);
  });

  test('a cancelled (closed) stream is not resumed', () => {
    const budget = new SendBudget(10, 60_000);
    const ticket = budget.take(10);
    const resumed: string[] = [];
    const gone = () => resumed.push('gone');
    budget.waitTurn(gone);
    budget.cancel(gone);
    ticket.release();
    expect(resumed).toEqual([]);
    expect(budget.canSend()).toBe(true);
  });

  test('a write that never finishes stops counting after the stall timeout', async () => {
    const budget = new SendBudget(10, 50);
    budget.take(10_000);
    let resumed = false;
    budget.waitTurn(() => (resumed = true));
    expect(budget.canSend()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(resumed).toBe(true);
    expect(budget.bytesInFlight).toBe(0);
  });

  test('with a budget of one byte, 30 clients connecting at once are all served, in turn', async () => {
    const server = await startInProcess(sampleMesh(), { serverOptions: { sendBudgetBytes: 1 } });
    // A connection each, like separate proxies (grpc-js would otherwise share one connection).
    const clients = Array.from(
      { length: 30 },
      () =>
        new RawAdsClient(server.address, 'sotw', 'ads', grpc.credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1,
        }),
    );
    try {
      clients.forEach((client, i) =>
        client.sendSotw({ typeUrl: CLUSTER_TYPE, node: { id: `sidecar-${i}`, metadata: { CLUSTER_ID: 'east' } } }),
      );
      const responses = await Promise.all(clients.map((client) => client.next(5_000)));
      expect(new Set(responses.map((r) => r.versionInfo)).size).toBe(1);
      expect(responses.every((r) => r.resources.length > 0)).toBe(true);
    } finally {
      for (const client of clients) client.close();
      await server.stop();
    }
  });
});
