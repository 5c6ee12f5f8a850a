// Incremental (delta) xDS on one stream: responses carry only resources whose version the client does not
// hold, and names of resources that are gone. A reconnecting client's initial_resource_versions are
// trusted, so it receives nothing it already has.
import { EncodedResource } from '../resource/encoded-resource';
import { Snapshot } from '../cache/snapshot';
import { CLUSTER_TYPE, ENDPOINT_TYPE, XdsTypeUrl } from '../resource-types';
import { StreamBase, TypeStateBase } from './stream-base';
import { Subscription } from './subscription';
import { CLIENT_LIMIT_FLAGS, ClientLimitError, MAX_NAMES_PER_TYPE } from './client-limits';
import { DeltaRequest } from './wire';
import { NOTHING } from './delta-differences';
import { PushState } from './push-state';

interface DeltaTypeState extends TypeStateBase {
  /**
   * What the client holds (as far as we know), in one of two forms: `held`, a shared snapshot array whose
   * resources it holds exactly at their versions (the usual case: the clients of a view then share it and
   * the difference to the next array is computed once for all of them), or, after anything else
   * (initial_resource_versions, unsubscribing, a held-back removal), its own name -> version map.
   */
  held?: readonly EncodedResource[];
  clientHas?: Map<string, string>;
}

export class DeltaStream extends StreamBase<DeltaRequest, DeltaTypeState> {
  protected newState(): DeltaTypeState {
    return { sub: new Subscription(this.names), push: new PushState(), held: NOTHING };
  }

  protected handle(typeUrl: XdsTypeUrl, request: DeltaRequest, state: DeltaTypeState, isFirstOfType: boolean): void {
    this.receiveAnswer(typeUrl, state.push, request, state.push.version);

    if (isFirstOfType) {
      this.checkInitialVersions(request.initialVersions);
      if (request.initialVersions.size > 0) {
        const has = this.ownMap(state);
        for (const [name, version] of request.initialVersions) has.set(name, version);
      }
    }
    const change = state.sub.applyDelta(request.subscribe, request.unsubscribe);
    // A name the client no longer wants is forgotten: if it subscribes again it must be sent again.
    if (change.removed.length > 0) {
      const has = this.ownMap(state);
      for (const name of change.removed) has.delete(name);
    }
    if (isFirstOfType || change.added.length > 0 || change.wildcardChanged) state.push.markNamesChanged();
  }

  /** A reconnect's initial_resource_versions are kept per stream: bounded like subscribed names. */
  private checkInitialVersions(initialVersions: ReadonlyMap<string, string>): void {
    if (initialVersions.size > MAX_NAMES_PER_TYPE) {
      throw new ClientLimitError(`initial_resource_versions has more than ${MAX_NAMES_PER_TYPE} entries`);
    }
    const limit = this.ctx.clientLimits.maxNamesBytesPerType;
    let bytes = 0;
    for (const [name, version] of initialVersions)
      bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(version, 'utf8');
    if (bytes > limit) {
      throw new ClientLimitError(
        `initial_resource_versions of ${bytes} bytes (limit --${CLIENT_LIMIT_FLAGS.maxNamesBytesPerType} ${limit})`,
      );
    }
  }

  protected respond(typeUrl: XdsTypeUrl, state: DeltaTypeState, snapshot: Snapshot): boolean {
    const differences = this.ctx.deltaDifferences;
    const inScope = this.selectResources(typeUrl, state.sub, snapshot);
    const difference = state.held
      ? differences.between(state.held, inScope)
      : differences.from(state.clientHas ?? new Map(), inScope);
    let changed = difference.changed;
    let removed = difference.removed;
    let heldBack = false;
    if (typeUrl === CLUSTER_TYPE && removed.length > 0 && this.order.routesUnsettled()) {
      // Make before break: clusters go only after routes that may point at them are settled.
      state.push.defer();
      removed = [];
      heldBack = true;
    }
    if (typeUrl === CLUSTER_TYPE && changed.some((r) => r.needs)) {
      // An aggregate fetched on demand goes only once the client holds its children and their endpoints:
      // Envoy replays the waiting request as soon as the aggregate arrives, and it must find hosts.
      const ready = changed.filter((r) => !r.needs || r.needs.every((child) => this.holdsWarm(state, child)));
      if (ready.length < changed.length) {
        changed = ready;
        state.push.defer();
        heldBack = true;
      }
    }
    // The first response of a type is sent even when empty, so the client finishes its initial fetch.
    if (changed.length === 0 && removed.length === 0 && state.push.hasResponded) {
      if (!heldBack && state.clientHas) {
        // It holds exactly what is in scope again: back to the shared form.
        state.held = inScope;
        state.clientHas = undefined;
      }
      return false;
    }
    const systemVersion = snapshot.typeVersion(typeUrl);
    this.sendResponse(typeUrl, state.push, systemVersion, (nonce) =>
      this.ctx.responses.delta(typeUrl, systemVersion, nonce, changed, removed),
    );
    if (heldBack) {
      // It still holds the clusters being removed: only its own map can say so.
      const has = this.ownMap(state);
      for (const resource of changed) has.set(resource.name, resource.version);
    } else {
      // It now holds exactly what is in scope: share the snapshot's array instead of a map of its own.
      state.held = inScope;
      state.clientHas = undefined;
    }
    return true;
  }

  /** The client holds cluster `name` and has ACKed its endpoints: the cluster is warm in Envoy. */
  private holdsWarm(clusters: DeltaTypeState, name: string): boolean {
    const endpoints = this.stateOf(ENDPOINT_TYPE);
    return (
      this.holds(clusters, name) &&
      endpoints !== undefined &&
      !endpoints.push.isAwaitingAck &&
      this.holds(endpoints, name)
    );
  }

  /** Whether the client holds `name` in this type, as far as the stream knows. */
  private holds(state: DeltaTypeState, name: string): boolean {
    return state.clientHas
      ? state.clientHas.has(name)
      : this.ctx.deltaDifferences.versionsOf(state.held ?? NOTHING).has(name);
  }

  /** The client's holdings as its own map (copied from the shared array the first time it is needed). */
  private ownMap(state: DeltaTypeState): Map<string, string> {
    if (!state.clientHas) {
      state.clientHas = new Map(state.held ? this.ctx.deltaDifferences.versionsOf(state.held) : []);
      state.held = undefined;
    }
    return state.clientHas;
  }
}
