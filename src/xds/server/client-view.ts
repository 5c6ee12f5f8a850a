// How the server learns which view a client gets: a resolver decides from the client's Node.
import * as grpc from '@grpc/grpc-js';
import { ViewKey } from '../cache/snapshot-cache';
import { ClientRole, StreamMode } from './client-registry';
import { NodeInfo } from './wire';

export type ViewResolution =
  | { ok: true; view: ViewKey; clusterId: string; role: ClientRole }
  | { ok: false; code: grpc.status; message: string };

/** `mode`: the stream's protocol; on-demand configuration needs delta xDS, so it may decide the view. */
export type ViewResolver = (node: NodeInfo, mode?: StreamMode) => ViewResolution;
