// A well-behaved SotW client for tests that change the mesh under a running server: subscribes to every
// cluster (CDS wildcard), ACKs each response like Envoy, and records what it was sent, in order, so a test
// can assert both that it kept receiving updates and that it never saw a state it must not see.
import { CLUSTER_TYPE } from '../../src/xds/resource-types';
import { RawAdsClient, RawNode } from './raw-ads-client';

export interface CdsUpdate {
  atMs: number;
  version: string;
  names: string[];
}

export class CdsWatcher {
  readonly updates: CdsUpdate[] = [];
  private readonly client: RawAdsClient;
  private stopped = false;
  private readonly loop: Promise<void>;
  /** Set when the stream ended or a response could not be read: every later wait fails with it. */
  private failure?: Error;

  constructor(
    address: string,
    private readonly node: RawNode,
  ) {
    this.client = new RawAdsClient(address, 'sotw');
    this.client.sendSotw({ typeUrl: CLUSTER_TYPE, node });
    this.loop = this.receive();
  }

  latest(): CdsUpdate | undefined {
    return this.updates[this.updates.length - 1];
  }

  /** Resolves with the first update from index `from` on that satisfies `predicate`. */
  async waitFor(
    what: string,
    predicate: (update: CdsUpdate) => boolean,
    from = 0,
    timeoutMs = 10_000,
  ): Promise<CdsUpdate> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.updates.slice(from).find(predicate);
      if (found) return found;
      if (this.failure) throw new Error(`CDS client failed while waiting for ${what}: ${this.failure.message}`);
      if (Date.now() > deadline) {
        const seen = this.updates.slice(from).map((u) => `[${u.names.join(' ')}]`);
        throw new Error(`CDS client: no update with ${what} within ${timeoutMs} ms; got ${seen.join(', ') || 'none'}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.client.close();
    await this.loop;
  }

  private async receive(): Promise<void> {
    while (!this.stopped) {
      try {
        const response = await this.client.next(1_000, CLUSTER_TYPE);
        this.updates.push({
          atMs: Date.now(),
          version: response.versionInfo,
          names: response.resources.map((r) => r.name).sort(),
        });
        this.client.ackSotw(response, this.node);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // A quiet second is normal between mesh changes; anything else ends the watch.
        if (message.startsWith('no response')) continue;
        if (!this.stopped) this.failure = new Error(message);
        return;
      }
    }
  }
}
