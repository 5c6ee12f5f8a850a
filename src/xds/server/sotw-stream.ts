// State-of-the-world xDS on one stream (ADS or a per-type service). A CDS or LDS response carries the
// full set of subscribed resources; EDS and RDS responses carry only what the client does not hold yet
// (the protocol groups those types per resource, as in delta), so one endpoint change costs one
// assignment, not every assignment the client watches. Versions derive from content.
import { EncodedResource } from '../resource/encoded-resource';
import { Snapshot, byName, versionOfSet } from '../cache/snapshot';
import { CLUSTER_TYPE, XdsTypeUrl, isCompleteSetType } from '../resource-types';
import { PushState } from './push-state';
import { StreamBase, TypeStateBase } from './stream-base';
import { Subscription } from './subscription';
import { SotwRequest } from './wire';

interface SotwTypeState extends TypeStateBase {
  /** What the client was last sent (shared, immutable resources: no copies per client). */
  sent: readonly EncodedResource[];
  /** The version a reconnecting client said it holds, until the first response is due. */
  heldVersion?: string;
  /** Digest of the last request's name list: an ACK repeating it byte for byte needs no decoding. */
  namesDigest?: string;
}

export class SotwStream extends StreamBase<SotwRequest, SotwTypeState> {
  protected newState(): SotwTypeState {
    return { sub: new Subscription(this.names), push: new PushState(), sent: [] };
  }

  protected handle(typeUrl: XdsTypeUrl, request: SotwRequest, state: SotwTypeState, isFirstOfType: boolean): void {
    // A stale nonce's ACK/NACK is ignored, but the names it lists are its current wishes and are honoured below.
    this.receiveAnswer(typeUrl, state.push, request, request.versionInfo);

    // Cheapest first: the list is the current names in sorted order (one memcmp); else the same bytes as
    // the stream's last request (a digest). Either way nothing changes and the names are not decoded.
    const region = request.namesRegion;
    if (!isFirstOfType && region !== undefined && state.sub.repeatsEncoded(region)) return;
    const digest = request.namesDigest;
    const sameNames = !isFirstOfType && digest !== undefined && digest === state.namesDigest;
    state.namesDigest = digest;
    // The same list as last time changes nothing (applying a list is idempotent): skip decoding it.
    if (sameNames) return;
    const change = state.sub.applySotw(request.resourceNames);
    const subscriptionChanged = change.added.length > 0 || change.removed.length > 0 || change.wildcardChanged;

    if (isFirstOfType) {
      // A reconnecting client tells us the version it holds: compared with what we would send once the
      // view's snapshot is there (a new view on a big mesh is built in the background).
      if (request.versionInfo !== '') state.heldVersion = request.versionInfo;
      state.push.markNamesChanged();
      return;
    }
    if (subscriptionChanged) state.push.markNamesChanged();
    // A NACK or ACK with pending cache changes is handled by flush(); an ACK with nothing new sends nothing.
  }

  protected respond(typeUrl: XdsTypeUrl, state: SotwTypeState, snapshot: Snapshot): boolean {
    const push = state.push;
    let resources = this.selectResources(typeUrl, state.sub, snapshot);
    if (typeUrl === CLUSTER_TYPE) resources = this.keepRemovedClustersWhileRoutesSettle(resources, state);
    const version = versionOfSet(resources);
    if (state.heldVersion !== undefined && !push.hasResponded) {
      const held = state.heldVersion;
      state.heldVersion = undefined;
      if (held === version) {
        // It already has exactly this: sending it again would only cost both sides.
        state.sent = resources;
        push.recordHeld(version);
        this.log.info({ type: typeUrl, version }, 'client already holds the current version; nothing resent');
        return false;
      }
    }
    if (push.sentExactly(version)) return false;
    const fullSet = isCompleteSetType(typeUrl) || !push.hasResponded;
    const toSend = fullSet ? resources : this.ctx.sotwDifferences.notYetHeld(resources, state.sent);
    if (!fullSet && toSend.length === 0) {
      // Only names the client dropped: it forgets them itself, nothing to send.
      state.sent = resources;
      push.recordVersion(version);
      return false;
    }
    this.sendResponse(typeUrl, push, version, this.ctx.responses.sharedSotw(typeUrl, version, toSend));
    state.sent = resources;
    return true;
  }

  /**
   * Make before break: a cluster that disappears stays in the CDS set until listeners and routes that may
   * still point at it are settled; then CDS is sent again without it.
   */
  private keepRemovedClustersWhileRoutesSettle(
    resources: readonly EncodedResource[],
    state: SotwTypeState,
  ): readonly EncodedResource[] {
    if (!this.order.routesUnsettled()) return resources;
    const present = new Set(resources.map((r) => r.name));
    const removed = state.sent.filter((r) => !present.has(r.name));
    if (removed.length === 0) return resources;
    state.push.defer(); // come back once routes are settled
    return [...resources, ...removed].sort(byName);
  }
}
