// The few facts an Envoy-like client needs from discovery responses: the header (version, type, nonce),
// the EDS names that clusters ask for, and the RDS names that listeners ask for. Field numbers are those
// of envoy.service.discovery.v3 and envoy.config.*.v3.
import { forEachBytesField, stringField, utf8, varintFields } from './wire-scan';

export const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export interface ResponseHeader {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  /** `value` of each resource's Any, undecoded. */
  resources: Uint8Array[];
}

/** DiscoveryResponse: version_info 1, resources 2 (Any: type_url 1, value 2), type_url 4, nonce 5. */
export function readSotwResponse(bytes: Uint8Array): ResponseHeader {
  const header: ResponseHeader = { versionInfo: '', typeUrl: '', nonce: '', resources: [] };
  forEachBytesField(bytes, (field, value) => {
    if (field === 1) header.versionInfo = utf8(value);
    else if (field === 4) header.typeUrl = utf8(value);
    else if (field === 5) header.nonce = utf8(value);
    else if (field === 2) header.resources.push(anyValue(value));
  });
  return header;
}

/**
 * DeltaDiscoveryResponse: system_version_info 1, resources 2 (Resource: resource 2 is the Any),
 * type_url 4, nonce 5.
 */
export function readDeltaResponse(bytes: Uint8Array): ResponseHeader {
  const header: ResponseHeader = { versionInfo: '', typeUrl: '', nonce: '', resources: [] };
  forEachBytesField(bytes, (field, value) => {
    if (field === 1) header.versionInfo = utf8(value);
    else if (field === 4) header.typeUrl = utf8(value);
    else if (field === 5) header.nonce = utf8(value);
    else if (field === 2) {
      let any: Uint8Array | undefined;
      forEachBytesField(value, (inner, innerValue) => {
        if (inner === 2) any = innerValue;
      });
      if (any) header.resources.push(anyValue(any));
    }
  });
  return header;
}

function anyValue(any: Uint8Array): Uint8Array {
  let value: Uint8Array = new Uint8Array();
  forEachBytesField(any, (field, bytes) => {
    if (field === 2) value = bytes;
  });
  return value;
}

const EDS_DISCOVERY_TYPE = 3;

/** Cluster: name 1, type 2 (EDS = 3), eds_cluster_config 3 (service_name 2). */
export function edsNameOf(cluster: Uint8Array): string | undefined {
  let name = '';
  let serviceName: string | undefined;
  let hasEdsConfig = false;
  forEachBytesField(cluster, (field, value) => {
    if (field === 1) name = utf8(value);
    else if (field === 3) {
      hasEdsConfig = true;
      serviceName = stringField(value, 2);
    }
  });
  const isEds = hasEdsConfig || varintFields(cluster).get(2) === EDS_DISCOVERY_TYPE;
  if (!isEds) return undefined;
  return serviceName && serviceName.length > 0 ? serviceName : name;
}

/**
 * Listener: filter_chains 3 (filters 3: typed_config 4), default_filter_chain 25, api_listener 19
 * (api_listener 1). An HttpConnectionManager names its routes in rds 3 (route_config_name 2).
 */
export function routeNamesOf(listener: Uint8Array): string[] {
  const names: string[] = [];
  const fromHcmAny = (any: Uint8Array) => {
    if (stringField(any, 1) !== HCM_TYPE) return;
    const hcm = anyValue(any);
    forEachBytesField(hcm, (field, value) => {
      if (field === 3) {
        const name = stringField(value, 2);
        if (name) names.push(name);
      }
    });
  };
  const fromFilterChain = (chain: Uint8Array) => {
    forEachBytesField(chain, (field, filter) => {
      if (field !== 3) return;
      forEachBytesField(filter, (filterField, typedConfig) => {
        if (filterField === 4) fromHcmAny(typedConfig);
      });
    });
  };
  forEachBytesField(listener, (field, value) => {
    if (field === 3 || field === 25) fromFilterChain(value);
    else if (field === 19) {
      forEachBytesField(value, (inner, any) => {
        if (inner === 1) fromHcmAny(any);
      });
    }
  });
  return names;
}

/** ClusterLoadAssignment: cluster_name 1. */
export function assignmentNameOf(assignment: Uint8Array): string {
  return stringField(assignment, 1) ?? '';
}

/** RouteConfiguration: name 1. */
export function resourceNameOf(resource: Uint8Array): string {
  return stringField(resource, 1) ?? '';
}

/**
 * The clusters a RouteConfiguration routes to: virtual_hosts 2 → routes 3 → route 2 (RouteAction:
 * cluster 1, weighted_clusters 3 → clusters 1 → name 1), as grpc-js-xds collects them.
 */
export function routeClustersOf(routeConfiguration: Uint8Array): string[] {
  const clusters: string[] = [];
  forEachBytesField(routeConfiguration, (field, virtualHost) => {
    if (field !== 2) return;
    forEachBytesField(virtualHost, (vhField, route) => {
      if (vhField !== 3) return;
      forEachBytesField(route, (routeField, action) => {
        if (routeField !== 2) return;
        forEachBytesField(action, (actionField, value) => {
          if (actionField === 1) clusters.push(utf8(value));
          else if (actionField === 3) {
            forEachBytesField(value, (wcField, weighted) => {
              if (wcField !== 1) return;
              const name = stringField(weighted, 1);
              if (name) clusters.push(name);
            });
          }
        });
      });
    });
  });
  return clusters;
}

/** What a gRPC client reads from an API listener: its name, and RDS names or the inline routes' clusters. */
export interface ApiListenerFacts {
  name: string;
  rdsNames: string[];
  inlineClusters: string[];
}

/** Listener: name 1, api_listener 19 (api_listener 1: Any of HCM: rds 3 (route_config_name 2), route_config 4). */
export function apiListenerOf(listener: Uint8Array): ApiListenerFacts {
  const facts: ApiListenerFacts = { name: '', rdsNames: [], inlineClusters: [] };
  forEachBytesField(listener, (field, value) => {
    if (field === 1) facts.name = utf8(value);
    else if (field === 19) {
      forEachBytesField(value, (inner, any) => {
        if (inner !== 1 || stringField(any, 1) !== HCM_TYPE) return;
        forEachBytesField(anyValue(any), (hcmField, hcmValue) => {
          if (hcmField === 3) {
            const name = stringField(hcmValue, 2);
            if (name) facts.rdsNames.push(name);
          } else if (hcmField === 4) facts.inlineClusters.push(...routeClustersOf(hcmValue));
        });
      });
    }
  });
  return facts;
}
