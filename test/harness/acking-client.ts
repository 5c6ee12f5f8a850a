// A well-behaved xDS client (SotW or delta) that subscribes to the types a test names, ACKs every response
// the way Envoy does, and keeps what it holds per type, so a test can wait for a state ("CDS without this
// cluster") while other things happen to the server.
import { RawAdsClient, RawNode, RawResponse } from './raw-ads-client';

export interface Subscribed {
  typeUrl: string;
  /** Named resources; empty or absent: wildcard. */
  names?: string[];
}

export class AckingClient {
  /** Every response, in order of arrival. */
  readonly responses: RawResponse[] = [];
  /** Per type: the names the client holds now (SotW: the last full set; delta: added minus removed). */
  private readonly held = new Map<string, Set<string>>();
  private readonly raw: RawAdsClient;
  private stopped = false;
  private failure?: Error;
  private readonly loop: Promise<void>;

  constructor(
    address: string,
    readonly mode: 'sotw' | 'delta',
    private readonly node: RawNode,
    private readonly subscriptions: Subscribed[],
  ) {
    this.raw = new RawAdsClient(address, mode);
    for (const sub of subscriptions) {
      if (mode === 'sotw') this.raw.sendSotw({ typeUrl: sub.typeUrl, node, resourceNames: sub.names ?? [] });
      else this.raw.sendDelta({ typeUrl: sub.typeUrl, node, subscribe: sub.names ?? [] });
    }
    this.loop = this.receive();
  }

  holds(typeUrl: string): string[] {
    return [...(this.held.get(typeUrl) ?? [])].sort();
  }

  /** Waits until what the client holds of `typeUrl` satisfies `predicate`. */
  async waitForHeld(
    typeUrl: string,
    what: string,
    predicate: (names: string[]) => boolean,
    timeoutMs = 5_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (predicate(this.holds(typeUrl))) return;
      if (this.failure) throw new Error(`client failed while waiting for ${what}: ${this.failure.message}`);
      if (Date.now() > deadline)
        throw new Error(`no ${what} within ${timeoutMs} ms; holds [${this.holds(typeUrl).join(', ')}]`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.raw.close();
    await this.loop;
  }

  private async receive(): Promise<void> {
    while (!this.stopped) {
      let response: RawResponse;
      try {
        response = await this.raw.next(1_000);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (message.startsWith('no response')) continue; // quiet between changes
        if (!this.stopped) this.failure = new Error(message);
        return;
      }
      this.responses.push(response);
      this.apply(response);
      const names = this.subscriptions.find((s) => s.typeUrl === response.typeUrl)?.names ?? [];
      if (this.mode === 'sotw') this.raw.ackSotw(response, this.node, names);
      else this.raw.ackDelta(response);
    }
  }

  private apply(response: RawResponse): void {
    const names = response.resources.map((r) => r.name);
    if (this.mode === 'sotw') {
      const previous = this.held.get(response.typeUrl) ?? new Set<string>();
      // CDS and LDS are complete sets; EDS and RDS responses carry only what changed.
      const complete = response.typeUrl.endsWith('Cluster') || response.typeUrl.endsWith('Listener');
      this.held.set(response.typeUrl, complete ? new Set(names) : new Set([...previous, ...names]));
      return;
    }
    const set = this.held.get(response.typeUrl) ?? new Set<string>();
    for (const name of names) set.add(name);
    for (const name of response.removed) set.delete(name);
    this.held.set(response.typeUrl, set);
  }
}
