// How the server learns which view a client gets: a resolver decides from the client's Node.
import * as grpc from '@grpc/grpc-js';
import { ViewKey } from '../cache/snapshot-cache';
import { ClientRole, StreamMode } from './client-registry';
import { NodeInfo } from './wire';

export type ViewResolution =
  | { ok: true; view: ViewKey; clusterId: string; role: ClientRole; /** An Envoy sidecar's workload (full host), whose declared calls may change its view later. */ workload?: string }
  | { ok: false; code: grpc.status; message: string };

/** The stream a view is resolved for: on-demand configuration needs delta xDS over ADS, so it may decide the view. */
export interface StreamKind {
  mode: StreamMode;
  /** The aggregated service (all types on one stream), not a per-type one. */
  ads: boolean;
}

export type ViewResolver = (node: NodeInfo, stream?: StreamKind) => ViewResolution;
