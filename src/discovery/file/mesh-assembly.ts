// Turns what a mesh file's parse read (mesh-file.ts readMeshParts) into the result: the rules that span
// services (duplicates, the service count), the error cap and the model. Each service item is read on its
// own, so the items may come from one parse of the whole file or from parses of its parts
// (incremental-mesh-parser.ts): either way this one function decides, and the results are the same.
import { MeshCluster, ServiceEntry, serviceHost } from '../../mesh/model';
import { shortHost } from '../../mesh/calls';
import { ErrorList, ErrorPlace } from '../../config-validation/error-list';
import type { MeshFileError, MeshParseResult } from './mesh-file';
import { MAX_SERVICES } from './mesh-limits';

/** One host of a service's `calls:` list: checked against every service once the whole file is read. */
export interface CallSite {
  host: string;
  /** Index in the `calls` list. */
  index: number;
  /** Line of the host, minus the item's line. */
  lineOffset: number;
}

/** One item of the `services:` list, read alone. */
export interface ServiceItem {
  /** `services[i]`: every error path of the item starts with it. */
  path: string;
  /** Line of the item's node. */
  line: number;
  /** `name.namespace` when both are valid: what the duplicate rule compares. */
  key?: string;
  /** Line of the `name` field, where a duplicate is reported (set with `key`). */
  nameLine?: number;
  /** The item's own errors in the order found, at most MAX_LISTED_ERRORS; `unlisted` counts the rest. */
  errors: MeshFileError[];
  unlisted: number;
  /** Errors found before the duplicate check: a duplicate's error goes right after them. */
  errorsBeforeKey: number;
  /** Where each `calls:` host was written (relative to the item, so a moved item keeps them). */
  calls?: CallSite[];
  /** The service, when the item alone is valid enough to make one. */
  entry?: ServiceEntry;
}

export interface ServiceList {
  /** The `services` key. */
  at: ErrorPlace;
  /** Items in the list; only read (`items`) when within MAX_SERVICES. */
  count: number;
  items: ServiceItem[];
}

/** What one parse of a mesh text read, short of the rules across services. */
export type MeshParts =
  /** Syntax or alias errors: the verdict on the whole text, nothing was checked. */
  | { kind: 'refused'; errors: MeshFileError[] }
  | {
      kind: 'read';
      /** Errors outside the service items (top-level keys, clusters, mtls, `services` not a list). */
      checked: ErrorList;
      /** Absent when the file has no usable top level (empty, not a mapping). */
      clusters?: Map<string, MeshCluster>;
      services?: ServiceList;
    };

export function assembleMesh(parts: MeshParts): MeshParseResult {
  if (parts.kind === 'refused') return { ok: false, errors: parts.errors };
  const errors = new ErrorList();
  errors.replay(parts.checked.errors);
  errors.unlisted += parts.checked.unlisted;
  const services = parts.services ? mergeServices(errors, parts.services) : new Map<string, ServiceEntry>();
  if (parts.services) checkCalls(errors, parts.services, services);
  if (errors.errors.length > 0 || !parts.clusters) return { ok: false, errors: errors.finished() };
  let endpoints = 0;
  for (const entry of services.values()) endpoints += entry.endpoints.length;
  const model = { clusters: new Map(parts.clusters), services };
  return { ok: true, model, summary: { clusters: model.clusters.size, services: services.size, endpoints } };
}

/** The items' errors in file order, with the duplicate-service rule applied across all of them. */
function mergeServices(errors: ErrorList, list: ServiceList): Map<string, ServiceEntry> {
  const services = new Map<string, ServiceEntry>();
  if (list.count > MAX_SERVICES) {
    errors.report(
      list.at,
      `${list.count} services, more than the ${MAX_SERVICES} a mesh file may hold (a built-in limit, see docs/OPERATIONS.md); serve part of it from Kubernetes discovery (--kube-clusters)`,
    );
    return services;
  }
  const firstAt = new Map<string, string>();
  for (const item of list.items) {
    const before = Math.min(item.errorsBeforeKey, item.errors.length);
    errors.replay(item.errors, 0, before);
    if (item.key !== undefined && item.nameLine !== undefined) {
      const first = firstAt.get(item.key);
      if (first !== undefined)
        errors.report(
          { path: `${item.path}.name`, line: item.nameLine },
          `duplicate service ${item.key} (first defined at ${first})`,
        );
      else firstAt.set(item.key, item.path);
    }
    errors.replay(item.errors, before);
    errors.unlisted += item.unlisted;
    if (item.entry) services.set(serviceHost(item.entry.service), item.entry);
  }
  return services;
}

/** A call must name a service of this file: a typo would otherwise cut a workload off from its callee. */
function checkCalls(errors: ErrorList, list: ServiceList, services: ReadonlyMap<string, ServiceEntry>): void {
  for (const item of list.items) {
    for (const site of item.calls ?? []) {
      if (services.has(site.host)) continue;
      errors.report(
        { path: `${item.path}.calls[${site.index}]`, line: item.line + site.lineOffset },
        `calls unknown service ${shortHost(site.host)} (no service of this file has that name and namespace)`,
      );
    }
  }
}
