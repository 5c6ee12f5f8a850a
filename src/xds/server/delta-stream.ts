// Incremental (delta) xDS on one stream: responses carry only resources whose version the client does not
// hold, and names of resources that are gone. A reconnecting client's initial_resource_versions are
// trusted, so it receives nothing it already has.
import { EncodedResource } from '../cache/resource';
import { Snapshot } from '../cache/snapshot';
import { CLUSTER_TYPE, XdsTypeUrl } from '../resource-types';
import { StreamBase, StreamClosedError, TypeStateBase } from './stream-base';
import { Subscription, MAX_NAMES_PER_TYPE } from './subscription';
import { DeltaRequest, encodeDeltaResponse } from './wire';
import * as grpc from '@grpc/grpc-js';

interface DeltaTypeState extends TypeStateBase {
  /** Name -> version the client holds (as far as we know). */
  readonly clientHas: Map<string, string>;
}

export class DeltaStream extends StreamBase<DeltaRequest, DeltaTypeState> {
  protected newState(): DeltaTypeState {
    return {
      sub: new Subscription(),
      awaitingAck: false,
      cacheChanged: false,
      namesChanged: false,
      responded: false,
      deferred: false,
      clientHas: new Map(),
    };
  }

  protected handle(typeUrl: XdsTypeUrl, request: DeltaRequest, state: DeltaTypeState, isFirstOfType: boolean): void {
    const nonce = request.responseNonce;
    if (nonce && nonce === state.lastNonce) {
      state.awaitingAck = false;
      if (request.errorDetail) this.recordNack(typeUrl, state.sentVersion ?? '', nonce, request.errorDetail.message);
      else this.recordAck(typeUrl, state.sentVersion ?? '');
    } else if (nonce && state.lastNonce) {
      this.log.debug({ nonce, latest: state.lastNonce }, 'stale nonce ignored');
    }

    if (isFirstOfType) {
      if (request.initialVersions.size > MAX_NAMES_PER_TYPE) {
        throw new StreamClosedError(grpc.status.RESOURCE_EXHAUSTED, `initial_resource_versions has more than ${MAX_NAMES_PER_TYPE} entries`);
      }
      for (const [name, version] of request.initialVersions) state.clientHas.set(name, version);
    }
    const change = state.sub.applyDelta(request.subscribe, request.unsubscribe);
    // A name the client no longer wants is forgotten: if it subscribes again it must be sent again.
    for (const name of change.removed) state.clientHas.delete(name);
    if (isFirstOfType || change.added.length > 0 || change.wildcardChanged) state.namesChanged = true;
  }

  protected respond(typeUrl: XdsTypeUrl, state: DeltaTypeState, snapshot: Snapshot): boolean {
    const inScope = this.selectResources(typeUrl, state.sub, snapshot);
    const inScopeNames = new Set(inScope.map((r) => r.name));
    const changed: EncodedResource[] = inScope.filter((r) => state.clientHas.get(r.name) !== r.version);
    let removed = [...state.clientHas.keys()].filter((name) => !inScopeNames.has(name)).sort();
    if (typeUrl === CLUSTER_TYPE && removed.length > 0 && this.routesUnsettled()) {
      // Make before break: clusters go only after routes that may point at them are settled.
      state.deferred = true;
      removed = [];
    }
    // The first response of a type is sent even when empty, so the client finishes its initial fetch.
    if (changed.length === 0 && removed.length === 0 && state.responded) return false;
    const systemVersion = snapshot.typeVersion(typeUrl);
    this.sendResponse(typeUrl, state, systemVersion, (nonce) => encodeDeltaResponse(typeUrl, systemVersion, nonce, changed, removed));
    for (const resource of changed) state.clientHas.set(resource.name, resource.version);
    for (const name of removed) state.clientHas.delete(name);
    return true;
  }
}
