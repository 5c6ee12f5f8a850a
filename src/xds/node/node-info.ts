// What an xDS client says about itself (its Envoy Node), decoded: what view resolution, the xDS server and
// load reporting all read. It sits below translate and server so that neither imports the other for it.

export interface NodeLocality {
  region?: string;
  zone?: string;
  sub_zone?: string;
}

export interface NodeInfo {
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
  locality?: NodeLocality;
  userAgentName: string;
  userAgentVersion: string;
}

/** What a client is in the mesh: a workload's sidecar (or proxyless client), or a cluster's gateway. */
export type ClientRole = 'sidecar' | 'gateway';
