// The demo's six startup steps, in order: free addresses, Spillway, backends, gateway Envoys, the sidecar
// Envoy, and a first request through the sidecar answered by the client cluster (the whole path works).
import * as fs from 'fs';
import * as path from 'path';
import { EMBEDDED_MESH_YAML } from '../discovery/embedded-mesh';
import { formatMeshErrors, parseMeshText } from '../discovery/file/mesh-file';
import { LogLevel } from '../log';
import type { RunningSpillwayServer } from '../composition-root';
import { BACKEND_IDENTITY_HEADER, parseIdentity, shortIdentity } from './backend-identity';
import { BackendFleet } from './backend-fleet';
import { DEMO_SERVICE_HOST, DEMO_XDS, DemoPlan, SIDECAR_OUTBOUND, planDemo } from './demo-plan';
import { DemoOutput } from './demo-output';
import { DemoProcesses } from './demo-processes';
import { demoBootstrap, gatewayNode, sidecarNode } from './envoy-bootstrap';
import { DemoEnvoy, checkEnvoyBinary, envoyBinary, startDemoEnvoy } from './envoy-process';
import { httpGet, pollUntil } from './http-get';
import { findUnavailable, formatUnavailable } from './port-check';
import { StoryCast, castStory } from './story';

const FIRST_REQUEST_TIMEOUT_MS = 20_000;
/** Printed once everything is up; tests wait for it. */
export const DEMO_READY_LINE = 'demo ready';
/** Where the traffic and the story send their requests. */
export const SIDECAR_URL = `http://${SIDECAR_OUTBOUND.host}:${SIDECAR_OUTBOUND.port}/`;

export interface DemoStartOptions {
  workDir: string;
  /** The copy of the embedded mesh that Spillway serves (readiness edits hot-reload). */
  meshFile: string;
  logLevel: LogLevel;
  /** Envoy executable (default: ENVOY_BIN, else <repo>/.cache/venv/bin/envoy). */
  envoyBinary?: string;
  /** True once the demo is stopping: the first request gives up. */
  stopping: () => boolean;
}

/** What runs once startup is over. */
export interface StartedDemo {
  plan: DemoPlan;
  cast: StoryCast;
  server: RunningSpillwayServer;
  backends: BackendFleet;
  sidecar: DemoEnvoy;
}

/** The folder holding package.json, above this compiled file (where .cache/venv lives). */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

/** Polls through the sidecar until a backend of the client cluster answers: the whole path works. */
function firstRequest(clientCluster: string, stopping: () => boolean): Promise<string> {
  return pollUntil(
    `a request through the sidecar (${SIDECAR_URL}, Host ${DEMO_SERVICE_HOST}) answered by ${clientCluster}`,
    async () => {
      const response = await httpGet(SIDECAR_URL, { headers: { host: DEMO_SERVICE_HOST } });
      const identity = parseIdentity(response.headers[BACKEND_IDENTITY_HEADER] as string | undefined);
      if (response.status !== 200 || !identity)
        throw new Error(`status ${response.status}: ${response.body.slice(0, 200)}`);
      return identity.cluster === clientCluster ? shortIdentity(identity) : undefined;
    },
    { timeoutMs: FIRST_REQUEST_TIMEOUT_MS, giveUp: () => (stopping() ? 'the demo is stopping' : undefined) },
  );
}

/** Starts everything into `processes` (which stops it all, also after a failed start); throws with what to fix. */
export async function startDemo(
  options: DemoStartOptions,
  processes: DemoProcesses,
  output: DemoOutput,
): Promise<StartedDemo> {
  const { workDir } = options;
  const startedAtMs = Date.now();
  output.say(`Spillway demo: transparent multi-cluster failover on the embedded example mesh, all on loopback`);
  output.say(`  work dir ${workDir} (mesh.yaml, logs)`);

  const parsed = parseMeshText(EMBEDDED_MESH_YAML);
  if (!parsed.ok)
    throw new Error('the embedded mesh is invalid (a bug): ' + formatMeshErrors('embedded', parsed.errors));
  const plan = planDemo(parsed.model);
  const cast = castStory(parsed.model, plan);
  const backends = new BackendFleet({
    group: processes.group,
    backends: plan.backends,
    clientCluster: plan.client.name,
    logDir: workDir,
    say: (line) => output.say(line),
  });

  const binary = options.envoyBinary ?? envoyBinary(repoRoot());
  const missingEnvoy = checkEnvoyBinary(binary);
  if (missingEnvoy) throw new Error(missingEnvoy);
  output.step(1, `checking ${plan.addresses.length} fixed addresses`);
  const unavailable = await findUnavailable(plan.addresses);
  if (unavailable.length > 0) {
    // Envoys outlive only a demo killed with SIGKILL; their command lines name this work dir.
    throw new Error(
      `${formatUnavailable(unavailable)}\nhint: Envoys left by an earlier demo that was killed outright: pgrep -af 'envoy -c ${workDir}'`,
    );
  }
  output.detail('all free');
  // Written only now: a second demo started by mistake must not reset the running one's mesh edits.
  fs.mkdirSync(workDir, { recursive: true });
  fs.writeFileSync(options.meshFile, EMBEDDED_MESH_YAML);

  output.step(2, 'starting Spillway');
  const server = await processes.startSpillway(workDir, options.meshFile, options.logLevel);
  output.detail(
    `xDS ${DEMO_XDS.host}:${server.xdsPort}, admin ${server.adminUrl} (log ${path.join(workDir, 'spillway.log')})`,
  );

  output.step(3, `starting ${backends.size} backends`);
  await backends.startAll();
  for (const line of backends.describe()) output.detail(line);

  output.step(4, `starting ${plan.gateways.length} gateway Envoys and waiting for their config`);
  const gateways = await Promise.all(
    plan.gateways.map((g) =>
      startDemoEnvoy({
        name: `gateway-${g.cluster.name}`,
        bootstrap: demoBootstrap(gatewayNode(g.cluster), DEMO_XDS),
        binary,
        workDir,
        group: processes.group,
      }),
    ),
  );
  plan.gateways.forEach((g, i) =>
    output.detail(`${g.cluster.name.padEnd(6)} ${g.host}:${g.port}  pid ${gateways[i]?.process.pid}`),
  );

  output.step(5, `starting the sidecar Envoy of ${plan.client.name}`);
  const sidecar = await startDemoEnvoy({
    name: `sidecar-${plan.client.name}`,
    bootstrap: demoBootstrap(sidecarNode(plan.client, SIDECAR_OUTBOUND), DEMO_XDS),
    binary,
    workDir,
    group: processes.group,
  });
  output.detail(
    `outbound ${SIDECAR_OUTBOUND.host}:${SIDECAR_OUTBOUND.port}  pid ${sidecar.process.pid}  admin ${sidecar.adminUrl}`,
  );

  output.step(6, 'first request through the sidecar');
  const answeredBy = await firstRequest(plan.client.name, options.stopping);
  output.detail(`answered by ${answeredBy}`);
  output.say(`${DEMO_READY_LINE} in ${((Date.now() - startedAtMs) / 1000).toFixed(1)}s`);
  return { plan, cast, server, backends, sidecar };
}
