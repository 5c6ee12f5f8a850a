// Rules on the mesh model that translation and visibility share.
import { MeshEndpoint, MeshModel, MeshService, ServiceEntry, ServicePort } from './model';

/** An endpoint receives traffic only when ready and not terminating. */
export function isRoutable(endpoint: MeshEndpoint): boolean {
  return endpoint.ready && !endpoint.terminating;
}

export function portOf(endpoint: MeshEndpoint, port: ServicePort): number | undefined {
  return endpoint.ports[port.name];
}

/**
 * Where callers connect to reach this endpoint: the app's port, or for an mTLS service the port where the
 * workload's sidecar terminates mTLS.
 */
export function connectPortOf(service: MeshService, endpoint: MeshEndpoint, port: ServicePort): number | undefined {
  return service.mtls ? endpoint.sidecarPort : portOf(endpoint, port);
}

/** Endpoints of a subset (undefined subset = all) that serve this port. */
export function endpointsFor(entry: ServiceEntry, port: ServicePort, subset?: string): MeshEndpoint[] {
  return entry.endpoints.filter(
    (endpoint) =>
      portOf(endpoint, port) !== undefined &&
      (subset === undefined || endpoint.labels[entry.service.subsetLabel] === subset),
  );
}

/**
 * A client in `cluster` sees a service when it runs there, or when it is exported from elsewhere.
 * An unexported service stays inside the clusters that run it.
 */
export function isVisibleFrom(entry: ServiceEntry, cluster: string): boolean {
  return entry.service.exported || entry.endpoints.some((endpoint) => endpoint.cluster === cluster);
}

/** Whether the service's endpoints in `cluster` may be reached from other clusters (through its gateway). */
export function isExportedFrom(entry: ServiceEntry, cluster: string): boolean {
  if (!entry.service.exported) return false;
  return entry.service.exportedFrom === undefined || entry.service.exportedFrom.includes(cluster);
}

/** Subset values present on the service's endpoints, sorted. */
export function subsetsOf(entry: ServiceEntry): string[] {
  const values = new Set<string>();
  for (const endpoint of entry.endpoints) {
    const value = endpoint.labels[entry.service.subsetLabel];
    if (value) values.add(value);
  }
  if (entry.service.canary) {
    values.add(entry.service.canary.stable);
    values.add(entry.service.canary.canary);
  }
  return [...values].sort();
}

const sortedByModel = new WeakMap<MeshModel, readonly ServiceEntry[]>();

/** The model's services by host: sorted once per model (every view of every rebuild walks them). */
export function sortedServices(model: MeshModel): readonly ServiceEntry[] {
  let sorted = sortedByModel.get(model);
  if (!sorted) {
    sorted = [...model.services.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
    sortedByModel.set(model, sorted);
  }
  return sorted;
}

export function describeService(service: MeshService): string {
  return `${service.namespace}/${service.name}`;
}
