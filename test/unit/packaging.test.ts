// The packaging files, checked without a container engine or a cluster: every YAML parses, Kubernetes
// objects are complete and agree with each other, compose services point at files that exist and at the
// addresses their mesh names, Envoy bootstraps pass `envoy --mode validate`, and the Dockerfile copies only
// what exists and is not ignored.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { parseMeshText } from '../../src/discovery/file/mesh-file';
import { MeshModel } from '../../src/mesh/model';
import { envoyBinaryPath, repoRoot } from '../harness';

const ROOT = repoRoot();
const K8S_DIR = path.join(ROOT, 'deploy', 'kubernetes');
const COMPOSE_DIR = path.join(ROOT, 'deploy', 'compose');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');

type Json = Record<string, unknown>;
interface KubeObject {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

const CLUSTER_SCOPED_KINDS = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'Kustomization']);

function yamlFilesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFilesUnder(full);
    return /\.ya?ml$/.test(entry.name) ? [full] : [];
  });
}

/** Every document of a file; a syntax error fails with the file and the parser's message. */
function parseDocuments(file: string): unknown[] {
  const documents = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'), { merge: true });
  const errors = documents.flatMap((d) => d.errors.map((e) => `${path.relative(ROOT, file)}: ${e.message}`));
  if (errors.length > 0) throw new Error(errors.join('\n'));
  return documents.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown).filter((d) => d !== null);
}

function at(value: unknown, ...keys: (string | number)[]): unknown {
  let current = value;
  for (const key of keys) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function kubeObjects(): KubeObject[] {
  return yamlFilesUnder(K8S_DIR).flatMap((file) =>
    parseDocuments(file).map((doc) => ({ ...(doc as Json), file: path.relative(ROOT, file) }) as KubeObject),
  );
}

function find(kind: string, name: string): KubeObject {
  const object = kubeObjects().find((o) => o.kind === kind && o.metadata?.name === name);
  if (!object) throw new Error(`no ${kind} ${name} under deploy/kubernetes`);
  return object;
}

function meshOf(text: string, where: string): MeshModel {
  const parsed = parseMeshText(text);
  if (!parsed.ok)
    throw new Error(`${where}: invalid mesh: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return parsed.model;
}

interface EnvoyBootstrap {
  node: { id: string; metadata: Record<string, string>; locality?: Json };
}

/** `envoy --mode validate`: Envoy's own parser and validation, no network needed. */
function envoyValidate(where: string, text: string): void {
  const binary = envoyBinaryPath();
  if (!fs.existsSync(binary)) throw new Error(`no Envoy at ${binary}: run make setup (or set ENVOY_BIN)`);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'spillway-bootstrap-')), 'envoy.yaml');
  fs.writeFileSync(file, text);
  const result = spawnSync(binary, ['--mode', 'validate', '-c', file, '--log-level', 'error'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`${where}: envoy --mode validate failed:\n${result.stdout}${result.stderr}`);
}

function checkBootstrapAgainstMesh(where: string, bootstrap: EnvoyBootstrap, mesh: MeshModel): void {
  const clusterId = bootstrap.node?.metadata?.CLUSTER_ID;
  expect({ where, clusterId, known: mesh.clusters.has(clusterId) }).toEqual({ where, clusterId, known: true });
  expect(at(bootstrap, 'cluster_manager', 'load_stats_config', 'grpc_services', 0, 'envoy_grpc', 'cluster_name')).toBe(
    'spillway_xds',
  );
  expect(bootstrap.node.locality).toBeDefined();
}

describe('every YAML file parses', () => {
  test.each([COMPOSE_FILE, ...yamlFilesUnder(path.join(ROOT, 'deploy'))].map((f) => [path.relative(ROOT, f), f]))(
    '%s',
    (_name, file) => {
      expect(parseDocuments(file).length).toBeGreaterThan(0);
    },
  );
});

describe('deploy/kubernetes', () => {
  test('every object has apiVersion, kind and metadata.name; namespaced kinds name their namespace', () => {
    const objects = kubeObjects();
    expect(objects.length).toBeGreaterThan(10);
    for (const object of objects) {
      const summary = `${object.file}: ${object.kind ?? '?'} ${object.metadata?.name ?? '?'}`;
      expect({
        summary,
        apiVersion: typeof object.apiVersion,
        kind: typeof object.kind,
        name: typeof object.metadata?.name,
      }).toEqual({
        summary,
        apiVersion: 'string',
        kind: 'string',
        name: 'string',
      });
      if (!CLUSTER_SCOPED_KINDS.has(object.kind))
        expect({ summary, namespace: typeof object.metadata.namespace }).toEqual({ summary, namespace: 'string' });
    }
  });

  test('kustomization lists files that exist', () => {
    const kustomization = find('Kustomization', 'spillway');
    const resources = kustomization.resources as string[];
    expect(resources.length).toBeGreaterThan(5);
    for (const resource of resources) expect(fs.existsSync(path.join(K8S_DIR, resource))).toBe(true);
  });

  test('the Deployment runs 2 replicas of spillway serve with the mesh ConfigMap, probed on /healthz and /readyz', () => {
    const deployment = find('Deployment', 'spillway');
    const spec = deployment.spec as Json;
    expect(spec.replicas).toBe(2);
    const podLabels = at(spec, 'template', 'metadata', 'labels') as Record<string, string>;
    expect(at(spec, 'selector', 'matchLabels')).toEqual(podLabels);
    const container = at(spec, 'template', 'spec', 'containers', 0) as Json;
    const portNames = new Map(
      (container.ports as { name: string; containerPort: number }[]).map((p) => [p.name, p.containerPort]),
    );
    expect([...portNames.values()].sort()).toEqual([15010, 15014]);
    for (const [probe, probePath] of [
      ['readinessProbe', '/readyz'],
      ['livenessProbe', '/healthz'],
    ] as const) {
      expect(at(container, probe, 'httpGet', 'path')).toBe(probePath);
      expect(portNames.get(at(container, probe, 'httpGet', 'port') as string)).toBe(15014);
    }
    const args = container.args as string[];
    expect(args).toEqual(expect.arrayContaining(['--xds', '0.0.0.0:15010', '--admin', '0.0.0.0:15014']));
    // --mesh points into the mounted ConfigMap, at a key it has, and that key is a valid mesh.
    const meshPath = args[args.indexOf('--mesh') + 1];
    const mount = (container.volumeMounts as { name: string; mountPath: string }[]).find((m) =>
      meshPath.startsWith(m.mountPath + '/'),
    );
    expect(mount).toBeDefined();
    const volume = (at(spec, 'template', 'spec', 'volumes') as { name: string; configMap?: { name: string } }[]).find(
      (v) => v.name === mount?.name,
    );
    const configMap = find('ConfigMap', volume?.configMap?.name ?? '?');
    const meshText = at(configMap, 'data', path.basename(meshPath)) as string;
    meshOf(meshText, `${configMap.file} data.${path.basename(meshPath)}`);
    expect(at(spec, 'template', 'spec', 'securityContext', 'runAsNonRoot')).toBe(true);
  });

  test('Service, PodDisruptionBudget and RBAC agree with the Deployment', () => {
    const deployment = find('Deployment', 'spillway');
    const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
    const container = at(deployment, 'spec', 'template', 'spec', 'containers', 0) as Json;
    const portNames = (container.ports as { name: string }[]).map((p) => p.name);

    const service = find('Service', 'spillway');
    expect(at(service, 'spec', 'selector')).toEqual(podLabels);
    const ports = at(service, 'spec', 'ports') as { name: string; port: number; targetPort: string }[];
    expect(ports.map((p) => p.port).sort()).toEqual([15010, 15014]);
    for (const port of ports) expect(portNames).toContain(port.targetPort);

    expect(at(find('PodDisruptionBudget', 'spillway'), 'spec', 'selector', 'matchLabels')).toEqual(podLabels);

    const serviceAccount = at(deployment, 'spec', 'template', 'spec', 'serviceAccountName');
    expect(find('ServiceAccount', serviceAccount as string).metadata.namespace).toBe(deployment.metadata.namespace);
    const binding = find('ClusterRoleBinding', 'spillway-discovery');
    expect(at(binding, 'subjects', 0)).toEqual({
      kind: 'ServiceAccount',
      name: serviceAccount,
      namespace: deployment.metadata.namespace,
    });
    const role = find('ClusterRole', at(binding, 'roleRef', 'name') as string);
    const rules = role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    for (const [group, resource] of [
      ['', 'services'],
      ['discovery.k8s.io', 'endpointslices'],
      ['multicluster.x-k8s.io', 'serviceexports'],
    ]) {
      const rule = rules.find((r) => r.apiGroups.includes(group) && r.resources.includes(resource));
      expect({ resource, verbs: rule?.verbs.slice().sort() }).toEqual({ resource, verbs: ['get', 'list', 'watch'] });
    }
    // Read-only: no rule may write.
    expect(rules.flatMap((r) => r.verbs).filter((v) => !['get', 'list', 'watch'].includes(v))).toEqual([]);
  });

  test('the gateway and sidecar bootstraps name a mesh cluster, pass envoy --mode validate, and reach the Spillway Service', () => {
    const mesh = meshOf(at(find('ConfigMap', 'spillway-mesh'), 'data', 'mesh.yaml') as string, 'spillway-mesh');
    const service = find('Service', 'spillway');
    const xdsHost = `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;
    for (const [name, role] of [
      ['spillway-eastwest-gateway', 'gateway'],
      ['spillway-sidecar-bootstrap', 'sidecar'],
    ] as const) {
      const configMap = find('ConfigMap', name);
      const text = at(configMap, 'data', 'envoy.yaml') as string;
      const bootstrap = YAML.parse(text) as EnvoyBootstrap;
      checkBootstrapAgainstMesh(configMap.file, bootstrap, mesh);
      expect(bootstrap.node.metadata.ROLE === 'gateway').toBe(role === 'gateway');
      if (role === 'gateway') expect(bootstrap.node.metadata.LISTEN_ADDRESS).toBe('0.0.0.0');
      const xds = at(
        bootstrap,
        'static_resources',
        'clusters',
        0,
        'load_assignment',
        'endpoints',
        0,
        'lb_endpoints',
        0,
        'endpoint',
        'address',
        'socket_address',
      );
      expect(xds).toEqual({ address: xdsHost, port_value: 15010 });
      envoyValidate(`${configMap.file} (${name})`, text);
    }
  });
});

interface ComposeService {
  image?: string;
  build?: string | Json;
  entrypoint?: string[];
  command?: string[];
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string } | null>;
  depends_on?: Record<string, unknown>;
  network_mode?: string;
}

describe('docker-compose.yml', () => {
  const compose = parseDocuments(COMPOSE_FILE)[0] as { services: Record<string, ComposeService> };
  const services = Object.entries(compose.services);
  const mesh = meshOf(
    fs.readFileSync(path.join(COMPOSE_DIR, 'spillway', 'mesh.yaml'), 'utf8'),
    'deploy/compose/spillway/mesh.yaml',
  );
  const ipOf = (service: ComposeService) => Object.values(service.networks ?? {})[0]?.ipv4_address;

  /** Host path of a container path, through the service's bind mounts. */
  function hostPath(service: ComposeService, containerPath: string): string | undefined {
    for (const volume of service.volumes ?? []) {
      const [source, target] = volume.split(':') as [string, string];
      if (containerPath === target || containerPath.startsWith(target + '/'))
        return path.join(ROOT, source, containerPath.slice(target.length));
    }
    return undefined;
  }

  test('bind mounts, Envoy configs, the mesh file and the demo scripts referenced by services exist', () => {
    expect(services.length).toBeGreaterThan(8);
    for (const [name, service] of services) {
      for (const volume of service.volumes ?? [])
        expect({ name, volume, exists: fs.existsSync(path.join(ROOT, volume.split(':')[0])) }).toEqual({
          name,
          volume,
          exists: true,
        });
      const args = [...(service.entrypoint ?? []), ...(service.command ?? [])];
      for (const flag of ['-c', '--mesh']) {
        const index = args.indexOf(flag);
        if (index < 0) continue;
        const file = hostPath(service, args[index + 1]);
        expect({ name, file: args[index + 1], exists: file !== undefined && fs.existsSync(file) }).toEqual({
          name,
          file: args[index + 1],
          exists: true,
        });
      }
      const script = args.find((a) => a.startsWith('/app/dist/src/'));
      if (script)
        expect(fs.existsSync(path.join(ROOT, script.replace('/app/dist/', '').replace(/\.js$/, '.ts')))).toBe(true);
      for (const dependency of Object.keys(service.depends_on ?? {}))
        expect(compose.services[dependency]).toBeDefined();
      if (service.network_mode?.startsWith('service:'))
        expect(compose.services[service.network_mode.slice('service:'.length)]).toBeDefined();
      if (typeof service.build === 'string')
        expect(fs.existsSync(path.join(ROOT, service.build, 'Dockerfile'))).toBe(true);
    }
  });

  test('every mesh endpoint and gateway address is a service of the compose network, on the right port and cluster', () => {
    const byIp = new Map(services.map(([name, service]) => [ipOf(service), { name, service }]));
    for (const entry of mesh.services.values()) {
      for (const endpoint of entry.endpoints) {
        const backend = byIp.get(endpoint.address);
        expect({ endpoint: endpoint.address, service: backend?.name !== undefined }).toEqual({
          endpoint: endpoint.address,
          service: true,
        });
        const command = backend?.service.command ?? [];
        expect(command[command.indexOf('--port') + 1]).toBe(String(Object.values(endpoint.ports)[0]));
        expect(command[command.indexOf('--cluster') + 1]).toBe(endpoint.cluster);
      }
    }
    for (const cluster of mesh.clusters.values()) {
      const gateway = byIp.get(cluster.gateway?.address);
      expect(gateway?.name).toBe(`gateway-${cluster.name}`);
    }
  });

  test('the Envoy bootstraps name the right cluster and role, and pass envoy --mode validate', () => {
    const envoyServices = services.filter(([, s]) => (s.command ?? []).includes('-c'));
    expect(envoyServices.map(([name]) => name).sort()).toEqual([
      'gateway-east',
      'gateway-south',
      'gateway-west',
      'sidecar-east',
    ]);
    for (const [name, service] of envoyServices) {
      const args = service.command ?? [];
      const file = hostPath(service, args[args.indexOf('-c') + 1]) as string;
      const text = fs.readFileSync(file, 'utf8');
      const bootstrap = YAML.parse(text) as EnvoyBootstrap;
      checkBootstrapAgainstMesh(name, bootstrap, mesh);
      const [role, cluster] = name.split('-') as [string, string];
      expect(bootstrap.node.metadata.CLUSTER_ID).toBe(cluster);
      expect(bootstrap.node.metadata.ROLE === 'gateway').toBe(role === 'gateway');
      expect(
        at(
          bootstrap,
          'static_resources',
          'clusters',
          0,
          'load_assignment',
          'endpoints',
          0,
          'lb_endpoints',
          0,
          'endpoint',
          'address',
          'socket_address',
          'address',
        ),
      ).toBe('spillway');
      envoyValidate(path.relative(ROOT, file), text);
    }
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const ignored = fs
    .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  /** Docker's rule: the last pattern that matches decides; `!pattern` takes a path back in. */
  function isIgnored(source: string): boolean {
    let result = false;
    for (const line of ignored) {
      const negated = line.startsWith('!');
      const pattern = negated ? line.slice(1) : line;
      const regex = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '(/.*)?$');
      if (regex.test(source)) result = !negated;
    }
    return result;
  }

  test('every COPY from the build context exists and is not excluded by .dockerignore', () => {
    const copies = instructions.filter((line) => /^COPY\s/i.test(line) && !line.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const parts = copy
        .split(/\s+/)
        .slice(1)
        .filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) {
        expect({ source, exists: fs.existsSync(path.join(ROOT, source)), ignored: isIgnored(source) }).toEqual({
          source,
          exists: true,
          ignored: false,
        });
      }
    }
  });

  test('stages: COPY --from names a stage; the runtime is non-root, exposes 15010 and 15014, and runs spillway serve', () => {
    const stages = instructions.filter((l) => /^FROM\s/i.test(l)).map((l) => /\sAS\s+(\S+)/i.exec(l)?.[1]);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const line of instructions.filter((l) => l.includes('--from=')))
      expect(stages).toContain(/--from=(\S+)/.exec(line)?.[1]);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-slim$/m);
    const runtime = instructions.slice(instructions.findIndex((l) => /^FROM .* AS runtime$/i.test(l)));
    const user = runtime.find((l) => /^USER\s/i.test(l));
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)(:|$)/i);
    expect(
      runtime
        .find((l) => /^EXPOSE\s/i.test(l))
        ?.split(/\s+/)
        .slice(1)
        .sort(),
    ).toEqual(['15010', '15014']);
    expect(JSON.parse((runtime.find((l) => /^ENTRYPOINT\s/i.test(l)) ?? '').replace(/^ENTRYPOINT\s+/i, ''))).toEqual([
      'spillway',
      'serve',
    ]);
    // The runtime copies the compiled product and production packages only, never tests.
    const runtimeCopies = runtime.filter((l) => /^COPY\s/i.test(l)).join('\n');
    expect(runtimeCopies).toContain('dist/src');
    expect(runtimeCopies).not.toMatch(/dist\/test|\bdist\s/);
  });

  test('.dockerignore keeps local state out of the build context', () => {
    for (const path of ['node_modules', 'dist', '.git', '.cache', 'test-output'])
      expect({ path, ignored: isIgnored(path) }).toEqual({ path, ignored: true });
  });
});
