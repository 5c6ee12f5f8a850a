// A multi-cluster mesh on loopback: each cluster's east-west gateway is a real Envoy on its own 127.x
// address, backends are real processes, and Spillway (the real CLI) configures everything from a mesh file.
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { EnvoyProcess, startEnvoy } from './envoy';
import { freePort } from './ports';
import { SpillwayProcess, startSpillwayProcess } from './spillway-process';
import { testOutputDir } from './output';

export interface ClusterSpec {
  name: string;
  region: string;
  zone: string;
  /** Loopback address of the cluster's gateway, e.g. 127.0.0.3. */
  gatewayAddress: string;
}

export type MeshDocument = Record<string, unknown> & {
  clusters: Record<string, unknown>[];
  services: Record<string, unknown>[];
};

export function clustersYaml(clusters: ClusterSpec[], gatewayPort: number): Record<string, unknown>[] {
  return clusters.map((c) => ({
    name: c.name,
    region: c.region,
    zone: c.zone,
    gateway: `${c.gatewayAddress}:${gatewayPort}`,
  }));
}

/** Outlier detection fast enough for tests (production defaults eject after seconds, not milliseconds). */
export const FAST_OUTLIER = { consecutive5xx: 2, intervalMs: 500, baseEjectionTimeMs: 3000 };

/** The exported checkout service (http 8080) of a test mesh document, with fast outlier detection. */
export function checkoutService(
  endpoints: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: 'checkout',
    namespace: 'shop',
    ports: [{ name: 'http', port: 8080 }],
    export: true,
    outlierDetection: FAST_OUTLIER,
    ...extra,
    endpoints,
  };
}

export class MeshFile {
  constructor(readonly path: string) {}

  write(document: MeshDocument): void {
    // Write then rename, as editors do, so the watcher never reads half a file.
    const temp = `${this.path}.tmp`;
    fs.writeFileSync(temp, YAML.stringify(document));
    fs.renameSync(temp, this.path);
  }

  writeRaw(text: string): void {
    const temp = `${this.path}.tmp`;
    fs.writeFileSync(temp, text);
    fs.renameSync(temp, this.path);
  }
}

export interface Topology {
  spillway: SpillwayProcess;
  meshFile: MeshFile;
  gateways: Map<string, EnvoyProcess>;
  gatewayPort: number;
  stop(): Promise<void>;
  /** Stops Spillway and starts a new one on the same xDS port (clients reconnect to it). */
  restartSpillway(): Promise<void>;
}

export interface TopologyOptions {
  name: string;
  clusters: ClusterSpec[];
  /** Builds the mesh document once the gateway port is known. */
  mesh: (gatewayPort: number) => MeshDocument;
  /** Clusters whose gateway Envoy is started (default: all). */
  gatewaysFor?: string[];
  mode?: 'sotw' | 'delta';
}

export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const dir = testOutputDir(options.name);
  const gatewayPort = await freePort();
  const meshFile = new MeshFile(path.join(dir, 'mesh.yaml'));
  meshFile.write(options.mesh(gatewayPort));
  const spillway = await startSpillwayProcess({ name: options.name, meshPath: meshFile.path });
  const gateways = new Map<string, EnvoyProcess>();
  try {
    await startGateways(options, spillway, dir, gateways);
  } catch (error) {
    // Nothing may outlive a failed start: the caller's afterAll never sees these processes.
    await Promise.all([...gateways.values()].map((g) => g.stop()));
    await spillway.stop();
    throw error;
  }
  const topology: Topology = {
    spillway,
    meshFile,
    gateways,
    gatewayPort,
    stop: async () => {
      await Promise.all([...gateways.values()].map((g) => g.stop()));
      await topology.spillway.stop();
    },
    restartSpillway: async () => {
      await topology.spillway.stop();
      topology.spillway = await startSpillwayProcess({
        name: options.name,
        meshPath: meshFile.path,
        xdsPort: topology.spillway.xdsPort,
      });
    },
  };
  return topology;
}

async function startGateways(
  options: TopologyOptions,
  spillway: SpillwayProcess,
  dir: string,
  gateways: Map<string, EnvoyProcess>,
): Promise<void> {
  for (const cluster of options.clusters) {
    if (options.gatewaysFor && !options.gatewaysFor.includes(cluster.name)) continue;
    const gateway = await startEnvoy({
      nodeId: `router~${cluster.gatewayAddress}~gateway-${cluster.name}`,
      metadata: { CLUSTER_ID: cluster.name, ROLE: 'gateway' },
      locality: { region: cluster.region, zone: cluster.zone },
      xds: { host: '127.0.0.1', port: spillway.xdsPort },
      mode: options.mode ?? 'sotw',
      logDir: dir,
    });
    gateways.set(cluster.name, gateway);
    await gateway.waitReady();
  }
}

/** A sidecar Envoy in `cluster`, with its outbound listener on a free loopback port. */
export async function startSidecar(
  topology: Topology,
  cluster: ClusterSpec,
  nodeId: string,
  mode: 'sotw' | 'delta' = 'sotw',
): Promise<{ envoy: EnvoyProcess; url: string }> {
  const outboundPort = await freePort();
  const envoy = await startEnvoy({
    nodeId,
    metadata: { CLUSTER_ID: cluster.name, OUTBOUND_PORT: String(outboundPort) },
    locality: { region: cluster.region, zone: cluster.zone },
    xds: { host: '127.0.0.1', port: topology.spillway.xdsPort },
    mode,
    logDir: testOutputDir(path.basename(path.dirname(topology.meshFile.path))),
  });
  await envoy.waitReady();
  return { envoy, url: `http://127.0.0.1:${outboundPort}/` };
}
