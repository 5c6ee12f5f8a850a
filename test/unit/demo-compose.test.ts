// docker-compose.yml and `spillway demo` run one topology, described once: the demo plan (src/demo/demo-plan.ts)
// of the embedded example mesh. The compose mesh must plan to the same clusters, services, canary and
// backends (only addresses differ), and every planned process must be a compose service on the address and
// port the compose mesh names, with the same identity flags; the fixed host ports match the local demo's.
// `docker compose config` parses the file when the docker CLI has the compose plugin (no engine needed).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { EMBEDDED_MESH_YAML } from '../../src/discovery/embedded-mesh';
import { parseMeshText } from '../../src/discovery/file/mesh-file';
import { MeshModel } from '../../src/mesh/model';
import { formatIdentity } from '../../src/demo/backend-identity';
import {
  DEMO_ADMIN,
  DEMO_SERVICE_HOST,
  DEMO_XDS,
  DemoPlan,
  SIDECAR_OUTBOUND,
  planDemo,
} from '../../src/demo/demo-plan';
import { repoRoot } from '../harness';

const ROOT = repoRoot();
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const COMPOSE_MESH = path.join(ROOT, 'deploy', 'compose', 'spillway', 'mesh.yaml');
const COMPOSE_ENVOY_DIR = path.join(ROOT, 'deploy', 'compose', 'envoy');

interface ComposeService {
  command?: string[];
  entrypoint?: string[];
  ports?: string[];
  networks?: Record<string, { ipv4_address?: string } | null>;
  network_mode?: string;
}

function model(text: string, where: string): MeshModel {
  const parsed = parseMeshText(text);
  if (!parsed.ok) throw new Error(`${where}: ${JSON.stringify(parsed.errors)}`);
  return parsed.model;
}

/** The plan without addresses: what must be the same in both places. */
function shape(plan: DemoPlan, mesh: MeshModel): unknown {
  return {
    client: plan.client.name,
    clusters: [...mesh.clusters.values()].map((c) => ({
      name: c.name,
      region: c.region,
      zone: c.zone,
      gateway: c.gateway !== undefined,
    })),
    services: [...mesh.services.values()].map((e) => ({
      service: e.service.name,
      namespace: e.service.namespace,
      exported: e.service.exported,
      canary: e.service.canary,
      ports: e.service.ports,
    })),
    backends: plan.backends.map((b) => `${b.identity.cluster}/${b.identity.service}/${b.identity.version}`).sort(),
    gateways: plan.gateways.map((g) => g.cluster.name),
  };
}

function flag(args: readonly string[] | undefined, name: string): string | undefined {
  const at = args?.indexOf(`--${name}`) ?? -1;
  return at >= 0 ? args?.[at + 1] : undefined;
}

function addressOf(service: ComposeService): string | undefined {
  return Object.values(service.networks ?? {})[0]?.ipv4_address ?? undefined;
}

const compose = YAML.parse(fs.readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = Object.entries(compose.services);
const localMesh = model(EMBEDDED_MESH_YAML, 'embedded mesh');
const composeMesh = model(fs.readFileSync(COMPOSE_MESH, 'utf8'), 'deploy/compose/spillway/mesh.yaml');
const localPlan = planDemo(localMesh);
const composePlan = planDemo(composeMesh);

test('the compose mesh plans to the same demo as the embedded mesh: clusters, services, canary, backends', () => {
  expect(shape(composePlan, composeMesh)).toEqual(shape(localPlan, localMesh));
});

test('every planned backend is one compose service, on its address and port, with its identity', () => {
  const backendServices = services.filter(([, s]) => s.entrypoint?.some((part) => part.endsWith('demo/backend.js')));
  const composed = backendServices.map(([name, s]) => ({
    name,
    identity: formatIdentity({
      cluster: flag(s.command, 'cluster') ?? '?',
      service: flag(s.command, 'service') ?? '?',
      version: flag(s.command, 'version') ?? 'unversioned',
      port: Number(flag(s.command, 'port')),
    }),
    address: addressOf(s),
  }));
  const planned = composePlan.backends.map((b) => ({ identity: formatIdentity(b.identity), address: b.host }));
  expect(
    composed
      .map(({ identity, address }) => ({ identity, address }))
      .sort((a, b) => a.address?.localeCompare(b.address ?? '') ?? 0),
  ).toEqual(planned.sort((a, b) => a.address.localeCompare(b.address)));
  // Compose names the backends after the plan: "checkout-east-v1", "ledger-west".
  for (const { name, identity } of composed)
    expect({ name, cluster: name.includes(identity.split('/')[0]) }).toEqual({ name, cluster: true });
});

test('every planned gateway is gateway-<cluster> on its address, and its bootstrap names that cluster', () => {
  for (const gateway of composePlan.gateways) {
    const service = compose.services[`gateway-${gateway.cluster.name}`];
    expect({ gateway: gateway.cluster.name, address: service && addressOf(service) }).toEqual({
      gateway: gateway.cluster.name,
      address: gateway.host,
    });
    const bootstrap = YAML.parse(
      fs.readFileSync(path.join(COMPOSE_ENVOY_DIR, `gateway-${gateway.cluster.name}.yaml`), 'utf8'),
    ) as { node: { metadata: Record<string, string> } };
    expect(bootstrap.node.metadata).toMatchObject({ CLUSTER_ID: gateway.cluster.name, ROLE: 'gateway' });
    expect(service?.command).toContain(`/etc/envoy/gateway-${gateway.cluster.name}.yaml`);
  }
  expect(services.filter(([name]) => name.startsWith('gateway-')).length).toBe(composePlan.gateways.length);
});

test("the sidecar, the traffic generator and Spillway's published ports are the local demo's fixed addresses", () => {
  const sidecarName = `sidecar-${localPlan.client.name}`;
  const sidecar = compose.services[sidecarName];
  expect(sidecar?.ports).toEqual([`127.0.0.1:${SIDECAR_OUTBOUND.port}:${SIDECAR_OUTBOUND.port}`]);
  const bootstrap = YAML.parse(fs.readFileSync(path.join(COMPOSE_ENVOY_DIR, `${sidecarName}.yaml`), 'utf8')) as {
    node: { metadata: Record<string, string> };
  };
  expect(bootstrap.node.metadata).toMatchObject({
    CLUSTER_ID: localPlan.client.name,
    OUTBOUND_PORT: String(SIDECAR_OUTBOUND.port),
  });
  const traffic = compose.services.traffic;
  expect(traffic?.network_mode).toBe(`service:${sidecarName}`);
  expect(flag(traffic?.command, 'host')).toBe(DEMO_SERVICE_HOST);
  expect(flag(traffic?.command, 'url')).toBe(`http://127.0.0.1:${SIDECAR_OUTBOUND.port}/`);
  const spillway = compose.services.spillway;
  expect(spillway?.ports?.map((p) => p.replace(/\s*#.*$/, '')).sort()).toEqual(
    [`127.0.0.1:${DEMO_ADMIN.port}:${DEMO_ADMIN.port}`, `127.0.0.1:${DEMO_XDS.port}:${DEMO_XDS.port}`].sort(),
  );
});

test('docker compose config accepts the file (skipped without the docker compose plugin)', () => {
  const version = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 10_000 });
  if (version.status !== 0) {
    // Parsing needs only the CLI plugin, not an engine; without it the checks above still ran.
    console.log(
      `skipping \`docker compose config\`: the docker CLI with the compose plugin is not available (${(version.error?.message ?? version.stderr ?? '').trim().split('\n')[0]})`,
    );
    return;
  }
  const config = spawnSync('docker', ['compose', '-f', COMPOSE_FILE, 'config', '--quiet'], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: ROOT,
  });
  expect({ status: config.status, stderr: config.stderr }).toEqual({ status: 0, stderr: '' });
});
