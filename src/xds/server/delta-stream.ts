// Incremental (delta) xDS on one stream: responses carry only resources whose version the client does not
// hold, and names of resources that are gone. A reconnecting client's initial_resource_versions are
// trusted, so it receives nothing it already has.
import { EncodedResource } from '../resource/encoded-resource';
import { Snapshot } from '../cache/snapshot';
import { CLUSTER_TYPE, ENDPOINT_TYPE, XdsTypeUrl } from '../resource-types';
import { StreamBase, TypeStateBase } from './stream-base';
import { Subscription } from './subscription';
import { CLIENT_LIMIT_FLAGS, ClientLimitError, MAX_NAMES_PER_TYPE } from './client-limits';
import { DeltaRequest, encodeDeltaResponse } from './wire';
import { PairMemo } from './pair-memo';

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

/** Holding nothing: shared, so even the first difference is computed once per view. */
const NOTHING: readonly EncodedResource[] = [];

// name -> version of a shared array, built once per array.
const versionMaps = new WeakMap<readonly EncodedResource[], ReadonlyMap<string, string>>();

function versionsOf(resources: readonly EncodedResource[]): ReadonlyMap<string, string> {
  let versions = versionMaps.get(resources);
  if (!versions) {
    versions = new Map(resources.map((r) => [r.name, r.version]));
    versionMaps.set(resources, versions);
  }
  return versions;
}

interface Difference {
  changed: readonly EncodedResource[];
  removed: readonly string[];
}

// From one shared array to the next: the same for every client of the view that held the first.
const differences = new PairMemo<readonly EncodedResource[], readonly EncodedResource[], Difference>();

function differenceBetween(held: readonly EncodedResource[], inScope: readonly EncodedResource[]): Difference {
  return differences.get(held, inScope, () => diff(versionsOf(held), inScope));
}

function diff(has: ReadonlyMap<string, string>, inScope: readonly EncodedResource[]): Difference {
  const inScopeNames = versionsOf(inScope);
  return {
    changed: inScope.filter((r) => has.get(r.name) !== r.version),
    removed: [...has.keys()].filter((name) => !inScopeNames.has(name)).sort(),
  };
}

/** The client's holdings as its own map (copied from the shared array the first time it is needed). */
function ownMap(state: DeltaTypeState): Map<string, string> {
  if (!state.clientHas) {
    state.clientHas = new Map(state.held ? versionsOf(state.held) : []);
    state.held = undefined;
  }
  return state.clientHas;
}

/** Whether the client holds `name` in this type, as far as the stream knows. */
function holds(state: DeltaTypeState | undefined, name: string): boolean {
  if (!state) return false;
  return state.clientHas ? state.clientHas.has(name) : versionsOf(state.held ?? NOTHING).has(name);
}

export class DeltaStream extends StreamBase<DeltaRequest, DeltaTypeState> {
  /** The client holds cluster `name` and has ACKed its endpoints: the cluster is warm in Envoy. */
  private holdsWarm(clusters: DeltaTypeState, name: string): boolean {
    const endpoints = this.states.get(ENDPOINT_TYPE);
    return holds(clusters, name) && endpoints !== undefined && !endpoints.awaitingAck && holds(endpoints, name);
  }

  protected newState(): DeltaTypeState {
    return {
      sub: new Subscription(this.names),
      awaitingAck: false,
      cacheChanged: false,
      namesChanged: false,
      responded: false,
      deferred: false,
      held: NOTHING,
    };
  }

  protected handle(typeUrl: XdsTypeUrl, request: DeltaRequest, state: DeltaTypeState, isFirstOfType: boolean): void {
    const nonce = request.responseNonce;
    if (nonce && nonce === state.lastNonce) {
      state.awaitingAck = false;
      if (request.errorDetail) this.recordNack(typeUrl, state.sentVersion ?? '', nonce, request.errorDetail.message);
      else this.recordAck(typeUrl, state.sentVersion ?? '');
    } else if (nonce && state.lastNonce) {
      this.logStaleNonce(nonce, state.lastNonce);
    }

    if (isFirstOfType) {
      this.checkInitialVersions(request.initialVersions);
      if (request.initialVersions.size > 0) {
        const has = ownMap(state);
        for (const [name, version] of request.initialVersions) has.set(name, version);
      }
    }
    const change = state.sub.applyDelta(request.subscribe, request.unsubscribe);
    // A name the client no longer wants is forgotten: if it subscribes again it must be sent again.
    if (change.removed.length > 0) {
      const has = ownMap(state);
      for (const name of change.removed) has.delete(name);
    }
    if (isFirstOfType || change.added.length > 0 || change.wildcardChanged) state.namesChanged = true;
  }

  /** A reconnect's initial_resource_versions are kept per stream: bounded like subscribed names. */
  private checkInitialVersions(initialVersions: ReadonlyMap<string, string>): void {
    if (initialVersions.size > MAX_NAMES_PER_TYPE) {
      throw new ClientLimitError(`initial_resource_versions has more than ${MAX_NAMES_PER_TYPE} entries`);
    }
    const limit = this.ctx.clientLimits.maxNamesBytesPerType;
    let bytes = 0;
    for (const [name, version] of initialVersions) bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(version, 'utf8');
    if (bytes > limit) {
      throw new ClientLimitError(`initial_resource_versions of ${bytes} bytes (limit --${CLIENT_LIMIT_FLAGS.maxNamesBytesPerType} ${limit})`);
    }
  }

  protected respond(typeUrl: XdsTypeUrl, state: DeltaTypeState, snapshot: Snapshot): boolean {
    const inScope = this.selectResources(typeUrl, state.sub, snapshot);
    const difference = state.held ? differenceBetween(state.held, inScope) : diff(state.clientHas ?? new Map(), inScope);
    let changed = difference.changed;
    let removed = difference.removed;
    let heldBack = false;
    if (typeUrl === CLUSTER_TYPE && removed.length > 0 && this.routesUnsettled()) {
      // Make before break: clusters go only after routes that may point at them are settled.
      state.deferred = true;
      removed = [];
      heldBack = true;
    }
    if (typeUrl === CLUSTER_TYPE && changed.some((r) => r.needs)) {
      // An aggregate fetched on demand goes only once the client holds its children and their endpoints:
      // Envoy replays the waiting request as soon as the aggregate arrives, and it must find hosts.
      const ready = changed.filter((r) => !r.needs || r.needs.every((child) => this.holdsWarm(state, child)));
      if (ready.length < changed.length) {
        changed = ready;
        state.deferred = true;
        heldBack = true;
      }
    }
    // The first response of a type is sent even when empty, so the client finishes its initial fetch.
    if (changed.length === 0 && removed.length === 0 && state.responded) {
      if (!heldBack && state.clientHas) {
        // It holds exactly what is in scope again: back to the shared form.
        state.held = inScope;
        state.clientHas = undefined;
      }
      return false;
    }
    const systemVersion = snapshot.typeVersion(typeUrl);
    this.sendResponse(typeUrl, state, systemVersion, (nonce) => encodeDeltaResponse(typeUrl, systemVersion, nonce, changed, removed));
    if (heldBack) {
      // It still holds the clusters being removed: only its own map can say so.
      const has = ownMap(state);
      for (const resource of changed) has.set(resource.name, resource.version);
    } else {
      // It now holds exactly what is in scope: share the snapshot's array instead of a map of its own.
      state.held = inScope;
      state.clientHas = undefined;
    }
    return true;
  }
}
