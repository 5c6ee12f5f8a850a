// Turns Envoy admin endpoint JSON (/clusters, /stats, /config_dump) into small typed shapes.
import { asArray, asNumber, asRecord, asString } from './json-shape';
import { Locality } from './envoy-bootstrap';

export interface HostStatus {
  address: string;
  port: number;
  /** EDS-assigned health; Envoy omits it for UNKNOWN. */
  edsHealthStatus: string;
  /** Names of every health_status flag that is set, e.g. ["failed_outlier_check"]. */
  healthFlags: string[];
  /** True when EDS says HEALTHY/UNKNOWN and no failure flag is set: the host can take traffic. */
  healthy: boolean;
  priority: number;
  locality: Locality;
  weight: number;
  /** Per-host counters/gauges (rq_total, rq_success, cx_active, ...); omitted zeros read as 0. */
  stats: Record<string, number>;
}

export interface ClusterStatus {
  name: string;
  addedViaApi: boolean;
  hosts: HostStatus[];
}

const TRAFFIC_TAKING_EDS_STATES = new Set(['HEALTHY', 'UNKNOWN']);

function parseLocality(value: unknown): Locality {
  const json = asRecord(value);
  const locality: Locality = {};
  if (typeof json.region === 'string') locality.region = json.region;
  if (typeof json.zone === 'string') locality.zone = json.zone;
  if (typeof json.sub_zone === 'string') locality.subZone = json.sub_zone;
  return locality;
}

function parseHost(value: unknown): HostStatus {
  const json = asRecord(value);
  const socket = asRecord(asRecord(json.address).socket_address);
  const health = asRecord(json.health_status);
  const edsHealthStatus = asString(health.eds_health_status, 'UNKNOWN');
  const healthFlags = Object.entries(health)
    .filter(([, flag]) => flag === true)
    .map(([name]) => name);
  const stats: Record<string, number> = {};
  for (const stat of asArray(json.stats)) {
    const { name, value: statValue } = asRecord(stat);
    if (typeof name === 'string') stats[name] = asNumber(statValue);
  }
  return {
    address: asString(socket.address),
    port: asNumber(socket.port_value),
    edsHealthStatus,
    healthFlags,
    healthy: TRAFFIC_TAKING_EDS_STATES.has(edsHealthStatus) && healthFlags.length === 0,
    priority: asNumber(json.priority),
    locality: parseLocality(json.locality),
    weight: asNumber(json.weight, 1),
    stats,
  };
}

/** Parses GET /clusters?format=json. */
export function parseClusters(body: unknown): ClusterStatus[] {
  return asArray(asRecord(body).cluster_statuses).map((value) => {
    const json = asRecord(value);
    return {
      name: asString(json.name),
      addedViaApi: json.added_via_api === true,
      hosts: asArray(json.host_statuses).map(parseHost),
    };
  });
}

/** Parses GET /stats?format=json into counters and gauges; histograms and text readouts are skipped. */
export function parseStats(body: unknown): Map<string, number> {
  const stats = new Map<string, number>();
  for (const entry of asArray(asRecord(body).stats)) {
    const { name, value } = asRecord(entry);
    if (typeof name === 'string' && typeof value === 'number') stats.set(name, value);
  }
  return stats;
}

const CONFIG_DUMP_TYPE_PREFIX = 'type.googleapis.com/envoy.admin.v3.';

/** One section of /config_dump by short type name, e.g. configDumpSection(dump, 'ClustersConfigDump'). */
export function configDumpSection(dump: unknown, shortType: string): Record<string, unknown> {
  const wanted = CONFIG_DUMP_TYPE_PREFIX + shortType;
  const section = asArray(asRecord(dump).configs).find((config) => asRecord(config)['@type'] === wanted);
  return asRecord(section);
}

/** Names of dynamic_active_clusters (those delivered over CDS). */
export function dynamicActiveClusterNames(dump: unknown): string[] {
  return asArray(configDumpSection(dump, 'ClustersConfigDump').dynamic_active_clusters)
    .map((entry) => asString(asRecord(asRecord(entry).cluster).name))
    .filter((name) => name !== '');
}

/** Names of static listeners and of dynamic listeners that are active (warming ones are left out). */
export function activeListenerNames(dump: unknown): string[] {
  const section = configDumpSection(dump, 'ListenersConfigDump');
  const staticNames = asArray(section.static_listeners).map((entry) =>
    asString(asRecord(asRecord(entry).listener).name),
  );
  const dynamicNames = asArray(section.dynamic_listeners)
    .filter((entry) => asRecord(entry).active_state !== undefined)
    .map((entry) => asString(asRecord(entry).name));
  return [...staticNames, ...dynamicNames].filter((name) => name !== '');
}
