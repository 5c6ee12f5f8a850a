// The contract between the xDS server and view resolution: from a client's Node (and its stream) to the
// view it gets, or a typed refusal the server turns into a gRPC status. Resolution knows no gRPC.
import { ClientRole, NodeInfo } from './node-info';
import { StreamKind } from './stream-kind';
import { ViewKey } from './view-key';

/**
 * Why a client gets no view: `not-servable`, the mesh has nothing for the node as it describes itself (no
 * or an unknown CLUSTER_ID, a gateway of a cluster without one); `invalid-metadata`, a metadata value is
 * malformed (not a port, not an address).
 */
export type ViewRefusalReason = 'not-servable' | 'invalid-metadata';

export interface ViewGranted {
  ok: true;
  view: ViewKey;
  clusterId: string;
  role: ClientRole;
  /** An Envoy sidecar's workload (full host), whose declared calls may change its view later. */
  workload?: string;
}

export interface ViewRefused {
  ok: false;
  reason: ViewRefusalReason;
  /** Says what the operator should set. */
  message: string;
}

export type ViewResolution = ViewGranted | ViewRefused;

export type ViewResolver = (node: NodeInfo, stream?: StreamKind) => ViewResolution;

/** The view a stream of `workload` should have now (its declared calls may have appeared or gone since it connected). */
export type ViewRescoper = (view: ViewKey, workload: string, stream: StreamKind) => ViewKey;
