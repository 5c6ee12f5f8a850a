// Make before break, across the types of one stream: on ADS, listeners and routes wait until clusters and
// endpoints are settled, so a route never points at a cluster the client does not have yet; a cluster
// removal waits until listeners and routes that may still point at it are settled.
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, PUSH_ORDER, ROUTE_TYPE, XdsTypeUrl } from '../resource-types';
import { PushState } from './push-state';

export class PushOrder {
  constructor(private readonly stateOf: (typeUrl: XdsTypeUrl) => PushState | undefined) {}

  /** The types in the order responses go out. */
  get types(): readonly XdsTypeUrl[] {
    return PUSH_ORDER;
  }

  /** Whether a response of `typeUrl` may go now: something is due and nothing it depends on is unsettled. */
  mayPush(typeUrl: XdsTypeUrl, push: PushState): boolean {
    return push.isDue(() => this.routesUnsettled()) && !this.mustWaitForClusters(typeUrl);
  }

  /** Whether listeners or routes still have something to send or confirm (cluster removals wait for them). */
  routesUnsettled(): boolean {
    return ([LISTENER_TYPE, ROUTE_TYPE] as const).some((typeUrl) => this.stateOf(typeUrl)?.isUnsettled === true);
  }

  /** Whether a held-back cluster removal may go now (and is not waiting for its own ACK). */
  deferredDue(): boolean {
    const clusters = this.stateOf(CLUSTER_TYPE);
    return clusters !== undefined && clusters.isDeferred && !clusters.isAwaitingAck && !this.routesUnsettled();
  }

  private mustWaitForClusters(typeUrl: XdsTypeUrl): boolean {
    if (typeUrl !== LISTENER_TYPE && typeUrl !== ROUTE_TYPE) return false;
    return ([CLUSTER_TYPE, ENDPOINT_TYPE] as const).some((dependency) => {
      const push = this.stateOf(dependency);
      return push !== undefined && push.hasResponded && push.isUnsettled;
    });
  }
}
