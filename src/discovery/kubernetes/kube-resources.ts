// The resources discovery watches: where they live in the API, and how each object is read.
import {
  KubeEndpointSlice,
  KubeNodeLabels,
  KubePodLabels,
  KubeSecret,
  KubeService,
  KubeServiceExport,
  ReadResult,
  readEndpointSlice,
  readNodeLabels,
  readPodLabels,
  readSecret,
  readService,
  readServiceExport,
} from './kube-objects';

export interface ResourceKind<T> {
  /** Plural lower-case name, as in log lines and RBAC rules. */
  plural: string;
  /** API group; '' for the core group. */
  group: string;
  version: string;
  read: (object: unknown) => ReadResult<T>;
  /**
   * A resource from a CRD that may not be installed: its absence (404) is a normal state, re-checked
   * now and then, and means "no objects".
   */
  optional?: boolean;
  /** A 403 means "go without it" (looked for again like an absent CRD); the text says what is lost and how to grant it. */
  forbiddenMeans?: string;
  /** Ask for metadata only (PartialObjectMetadata): the rest of the object is large and never used. */
  metadataOnly?: boolean;
}

export const SERVICES: ResourceKind<KubeService> = { plural: 'services', group: '', version: 'v1', read: readService };

export const ENDPOINT_SLICES: ResourceKind<KubeEndpointSlice> = {
  plural: 'endpointslices',
  group: 'discovery.k8s.io',
  version: 'v1',
  read: readEndpointSlice,
};

export const SERVICE_EXPORTS: ResourceKind<KubeServiceExport> = {
  plural: 'serviceexports',
  group: 'multicluster.x-k8s.io',
  version: 'v1alpha1',
  read: readServiceExport,
  optional: true,
};

export const POD_LABELS: ResourceKind<KubePodLabels> = {
  plural: 'pods',
  group: '',
  version: 'v1',
  read: readPodLabels,
  metadataOnly: true,
};

/** Cluster-scoped: watched once per cluster, whatever namespaces are watched. */
export const NODE_LABELS: ResourceKind<KubeNodeLabels> = {
  plural: 'nodes',
  group: '',
  version: 'v1',
  read: readNodeLabels,
  metadataOnly: true,
  // A namespaced Role cannot grant Nodes: do not hold the whole cluster back for a nicety.
  forbiddenMeans:
    'endpoints whose EndpointSlice names no zone get the cluster zone; grant get, list and watch on nodes (a ClusterRole) to place them by their Node',
};

/** Remote-cluster Secrets, in Spillway's own namespace of its home cluster. */
export const SECRETS: ResourceKind<KubeSecret> = { plural: 'secrets', group: '', version: 'v1', read: readSecret };

/** `/api/v1/services`, `/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices`, ... */
export function collectionPath(kind: ResourceKind<unknown>, namespace?: string): string {
  const root = kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  return namespace === undefined
    ? `${root}/${kind.plural}`
    : `${root}/namespaces/${encodeURIComponent(namespace)}/${kind.plural}`;
}

/** What RBAC must allow, for the hint of a 403. */
export function describeKind(kind: ResourceKind<unknown>): string {
  return kind.group === '' ? kind.plural : `${kind.plural}.${kind.group}`;
}
