// demo/kind cannot run here (no docker-in-docker, no kind), so everything that can be checked without
// it is: the templates are rendered for east and west with the same placeholder substitution as up.sh,
// every object is created as a server-side dry run with strict field validation against a REAL
// kube-apiserver, the Envoy bootstraps pass `envoy --mode validate`, the clusters file parses with
// Spillway's own parser and agrees with the remote Secret and the volume it is projected into, and the
// scripts are shellcheck-clean.
import { pluralOf } from '../harness/kube-plurals';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { parseClustersText } from '../../src/discovery/kubernetes/clusters-file';
import { envoyBinaryPath, repoRoot } from '../harness';
import {
  KubeApiServer,
  KubeTarget,
  kubeCall,
  kubeRequest,
  startKubeApiServer,
  stopAllKubeApiServers,
} from '../harness/kube-apiserver';

jest.setTimeout(120_000);

const DEMO_DIR = path.join(repoRoot(), 'demo', 'kind');
const MANIFEST_DIR = path.join(DEMO_DIR, 'manifests');
const CLUSTERS = ['east', 'west'] as const;
type ClusterName = (typeof CLUSTERS)[number];
/** What `docker inspect` would say the kind nodes' addresses are. */
const NODE_IPS: Record<ClusterName, string> = { east: '172.18.0.2', west: '172.18.0.3' };
const PLACEHOLDER = /__[A-Z0-9_]+__/g;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: Json;
}

/** values.env: KEY=VALUE lines, as up.sh sources them. */
function values(): Record<string, string> {
  const entries = fs
    .readFileSync(path.join(DEMO_DIR, 'values.env'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([A-Z_][A-Z0-9_]*)=(\S+)$/.exec(line);
      if (!match) throw new Error(`values.env: "${line}" is not KEY=VALUE`);
      return [match[1], match[2]] as [string, string];
    });
  return Object.fromEntries(entries);
}

const peerOf = (cluster: ClusterName): ClusterName => (cluster === 'east' ? 'west' : 'east');

/** A kubeconfig shaped like `kind get kubeconfig --internal` prints (client certificate, no exec plugin). */
function fakeKubeconfig(cluster: ClusterName): string {
  const name = `kind-spillway-${cluster}`;
  const pem = Buffer.from('not a real certificate').toString('base64');
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: { server: `https://spillway-${cluster}-control-plane:6443`, 'certificate-authority-data': pem },
      },
    ],
    users: [{ name, user: { 'client-certificate-data': pem, 'client-key-data': pem } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}

/** The placeholders and what up.sh's render() puts in their place. */
function substitutions(cluster: ClusterName): Record<string, string> {
  const v = values();
  const peer = peerOf(cluster);
  const key = (c: ClusterName, what: string) => {
    const value = v[`${c.toUpperCase()}_${what}`];
    if (value === undefined) throw new Error(`values.env has no ${c.toUpperCase()}_${what}`);
    return value;
  };
  return {
    __CLUSTER__: cluster,
    __REGION__: key(cluster, 'REGION'),
    __ZONE__: key(cluster, 'ZONE'),
    __GATEWAY__: `${NODE_IPS[cluster]}:${v.GATEWAY_PORT}`,
    __GATEWAY_PORT__: v.GATEWAY_PORT,
    __PEER__: peer,
    __PEER_REGION__: key(peer, 'REGION'),
    __PEER_ZONE__: key(peer, 'ZONE'),
    __PEER_GATEWAY__: `${NODE_IPS[peer]}:${v.GATEWAY_PORT}`,
    __PEER_KUBECONFIG_B64__: Buffer.from(fakeKubeconfig(peer)).toString('base64'),
  };
}

function render(cluster: ClusterName, text: string): string {
  const table = substitutions(cluster);
  return text.replace(PLACEHOLDER, (placeholder) => {
    const value = table[placeholder];
    if (value === undefined)
      throw new Error(`unknown placeholder ${placeholder}: add it to up.sh's render() and to this test`);
    return value;
  });
}

function manifestFiles(): string[] {
  return fs
    .readdirSync(MANIFEST_DIR)
    .filter((name) => name.endsWith('.yaml'))
    .sort();
}

function rendered(cluster: ClusterName): { file: string; object: KubeObject }[] {
  return manifestFiles().flatMap((file) => {
    const docs = YAML.parseAllDocuments(render(cluster, fs.readFileSync(path.join(MANIFEST_DIR, file), 'utf8')));
    for (const doc of docs) if (doc.errors.length > 0) throw new Error(`${cluster}/${file}: ${doc.errors[0].message}`);
    return docs
      .map((doc) => doc.toJS() as KubeObject | null)
      .filter((object): object is KubeObject => object !== null)
      .map((object) => ({ file, object }));
  });
}

function find(cluster: ClusterName, kind: string, name: string): KubeObject {
  const found = rendered(cluster).find((m) => m.object.kind === kind && m.object.metadata.name === name);
  if (!found) throw new Error(`${cluster}: no ${kind} ${name} in demo/kind/manifests`);
  return found.object;
}

function collectionPath(object: KubeObject): string {
  const plural = pluralOf(object.kind);
  const root = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  return object.metadata.namespace ? `${root}/namespaces/${object.metadata.namespace}/${plural}` : `${root}/${plural}`;
}

function envoyValidate(where: string, text: string): void {
  const binary = envoyBinaryPath();
  if (!fs.existsSync(binary)) throw new Error(`no Envoy at ${binary}: run make setup (or set ENVOY_BIN)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spillway-kind-bootstrap-'));
  const file = path.join(dir, 'envoy.yaml');
  fs.writeFileSync(file, text);
  const result = spawnSync(binary, ['--mode', 'validate', '-c', file, '--log-level', 'error'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  fs.rmSync(dir, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`${where}: envoy --mode validate failed:\n${result.stdout}${result.stderr}`);
}

function podSpec(object: KubeObject): Json {
  return object.spec.template.spec;
}

describe('demo/kind templates', () => {
  test("up.sh substitutes exactly the placeholders the templates use, and the test's table matches it", () => {
    const script = fs.readFileSync(path.join(DEMO_DIR, 'up.sh'), 'utf8');
    const scripted = [...script.matchAll(/-e "s\|(__[A-Z0-9_]+__)\|/g)].map((m) => m[1]).sort();
    const used = [
      ...new Set(
        manifestFiles().flatMap(
          (file) => fs.readFileSync(path.join(MANIFEST_DIR, file), 'utf8').match(PLACEHOLDER) ?? [],
        ),
      ),
    ].sort();
    expect(scripted).toEqual(Object.keys(substitutions('east')).sort());
    expect(used).toEqual(scripted);
    for (const cluster of CLUSTERS) {
      for (const file of manifestFiles())
        expect({
          cluster,
          file,
          left: render(cluster, fs.readFileSync(path.join(MANIFEST_DIR, file), 'utf8')).match(PLACEHOLDER),
        }).toEqual({ cluster, file, left: null });
    }
  });

  test('the kind configs name the clusters and label their nodes with the locality of values.env', () => {
    const v = values();
    for (const cluster of CLUSTERS) {
      const config = YAML.parse(fs.readFileSync(path.join(DEMO_DIR, `kind-${cluster}.yaml`), 'utf8'));
      expect(config.name).toBe(`spillway-${cluster}`);
      expect(config.nodes[0].labels).toEqual({
        'topology.kubernetes.io/region': v[`${cluster.toUpperCase()}_REGION`],
        'topology.kubernetes.io/zone': v[`${cluster.toUpperCase()}_ZONE`],
      });
    }
  });

  test.each(CLUSTERS)(
    '%s: the clusters file parses, lists both clusters, and its remote kubeconfig is the projected Secret',
    (cluster) => {
      const peer = peerOf(cluster);
      const configMap = find(cluster, 'ConfigMap', 'spillway-kube-clusters');
      const parsed = parseClustersText(configMap.data['clusters.yaml'], '/etc/spillway');
      if (!parsed.ok) throw new Error(`${cluster}: clusters.yaml: ${JSON.stringify(parsed.errors)}`);
      const byName = new Map(parsed.clusters.map((c) => [c.cluster.name, c]));
      expect([...byName.keys()].sort()).toEqual([...CLUSTERS].sort());
      expect(byName.get(cluster)?.access).toEqual({ kind: 'in-cluster' });
      const gatewayPort = Number(values().GATEWAY_PORT);
      expect(byName.get(cluster)?.cluster.gateway).toEqual({ address: NODE_IPS[cluster], port: gatewayPort });
      expect(byName.get(peer)?.cluster.gateway).toEqual({ address: NODE_IPS[peer], port: gatewayPort });

      // The remote Secret: the format discovery is adopting, agreeing with the clusters file's entry.
      const secret = find(cluster, 'Secret', `spillway-remote-${peer}`);
      expect(secret.metadata.namespace).toBe('spillway-system');
      expect(secret.metadata.labels).toEqual({ 'spillway.io/cluster': peer });
      const remote = byName.get(peer);
      if (!remote) throw new Error(`${cluster}: clusters.yaml has no entry for ${peer}`);
      expect(secret.metadata.annotations).toEqual({
        'spillway.io/region': remote.cluster.region,
        'spillway.io/zone': remote.cluster.zone,
        'spillway.io/gateway': `${NODE_IPS[peer]}:${gatewayPort}`,
      });
      expect(YAML.parse(Buffer.from(secret.data.kubeconfig, 'base64').toString('utf8'))['current-context']).toBe(
        `kind-spillway-${peer}`,
      );

      // Spillway reads /etc/spillway/clusters.yaml, and the kubeconfig it names is where the Secret is projected.
      const deployment = find(cluster, 'Deployment', 'spillway');
      const container = podSpec(deployment).containers[0];
      expect(container.image).toBe('spillway:demo');
      expect(container.imagePullPolicy).toBe('IfNotPresent');
      const args: string[] = container.args;
      const mount = container.volumeMounts.find((m: Json) => m.name === 'config');
      expect(path.join(mount.mountPath, 'clusters.yaml')).toBe(args[args.indexOf('--kube-clusters') + 1]);
      const sources = podSpec(deployment).volumes.find((v: Json) => v.name === 'config').projected.sources;
      const secretSource = sources.find((s: Json) => s.secret).secret;
      expect(secretSource.name).toBe(secret.metadata.name);
      expect(remote.access).toEqual({
        kind: 'kubeconfig',
        path: path.join(mount.mountPath, secretSource.items[0].path),
      });
      expect(sources.find((s: Json) => s.configMap).configMap.name).toBe(configMap.metadata.name);
    },
  );

  test.each(CLUSTERS)(
    '%s: the gateway listens where the peer is told to reach it, and is annotated as the gateway',
    (cluster) => {
      const port = Number(values().GATEWAY_PORT);
      const service = find(cluster, 'Service', 'spillway-eastwest-gateway');
      expect(service.metadata.annotations?.['spillway.io/gateway']).toBe('true');
      expect(service.spec.type).toBe('NodePort');
      expect(service.spec.ports[0]).toMatchObject({ port, nodePort: port, targetPort: 'tcp-eastwest' });
      const container = podSpec(find(cluster, 'Deployment', 'spillway-eastwest-gateway')).containers[0];
      expect(container.ports[0]).toMatchObject({ name: 'tcp-eastwest', containerPort: port });
      const bootstrap = YAML.parse(find(cluster, 'ConfigMap', 'spillway-eastwest-gateway').data['envoy.yaml']);
      expect(bootstrap.node.metadata).toEqual({ CLUSTER_ID: cluster, ROLE: 'gateway', LISTEN_ADDRESS: '0.0.0.0' });
    },
  );

  test.each(CLUSTERS)(
    '%s: checkout is exported with v1 and a v2 canary, and every app Pod has a Spillway sidecar',
    (cluster) => {
      const service = find(cluster, 'Service', 'checkout');
      expect(service.metadata.annotations?.['spillway.io/export']).toBe('true');
      for (const version of ['v1', 'v2']) {
        const deployment = find(cluster, 'Deployment', `checkout-${version}`);
        expect(deployment.spec.template.metadata.labels).toEqual({ ...service.spec.selector, version });
      }
      for (const name of ['checkout-v1', 'checkout-v2', 'curl']) {
        const spec = podSpec(find(cluster, 'Deployment', name));
        const envoy = spec.containers.find((c: Json) => c.name === 'envoy');
        expect({ name, hasSidecar: envoy !== undefined }).toEqual({ name, hasSidecar: true });
        const volume = spec.volumes.find((v: Json) => v.name === envoy.volumeMounts[0].name);
        expect(volume.configMap.name).toBe('spillway-sidecar-bootstrap');
      }
      const bootstrap = YAML.parse(find(cluster, 'ConfigMap', 'spillway-sidecar-bootstrap').data['envoy.yaml']);
      expect(bootstrap.node.metadata.CLUSTER_ID).toBe(cluster);
      expect(bootstrap.node.locality).toEqual({
        region: values()[`${cluster.toUpperCase()}_REGION`],
        zone: values()[`${cluster.toUpperCase()}_ZONE`],
      });
      const curlEnv = podSpec(find(cluster, 'Deployment', 'curl')).containers.find((c: Json) => c.name === 'curl').env;
      expect(curlEnv).toContainEqual({
        name: 'http_proxy',
        value: `http://127.0.0.1:${bootstrap.node.metadata.OUTBOUND_PORT}`,
      });
    },
  );

  test.each(CLUSTERS)(
    '%s: every Envoy bootstrap passes envoy --mode validate and points ADS at the Spillway Service',
    (cluster) => {
      const configMaps = rendered(cluster).filter(
        (m) => m.object.kind === 'ConfigMap' && m.object.data?.['envoy.yaml'] !== undefined,
      );
      expect(configMaps.map((m) => m.object.metadata.name).sort()).toEqual([
        'spillway-eastwest-gateway',
        'spillway-sidecar-bootstrap',
      ]);
      for (const { file, object } of configMaps) {
        const text: string = object.data['envoy.yaml'];
        const bootstrap = YAML.parse(text);
        expect(bootstrap.dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name).toBe('spillway_xds');
        const xds =
          bootstrap.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
            .socket_address;
        expect(xds).toEqual({ address: 'spillway.spillway-system.svc.cluster.local', port_value: 15010 });
        envoyValidate(`${cluster}/${file}: ${object.metadata.name}`, text);
      }
    },
  );
});

describe('demo/kind against a real kube-apiserver', () => {
  let server: KubeApiServer;
  let target: KubeTarget;

  beforeAll(async () => {
    server = await startKubeApiServer({ name: 'kind-demo' });
    target = { url: server.url, token: server.token, caFile: server.caFile };
    // Namespaces are created for real (once: both clusters use the same names), everything else is a dry run.
    for (const { object } of rendered('east').filter((m) => m.object.kind === 'Namespace'))
      await kubeCall(target, 'POST', collectionPath(object), object);
  });

  afterAll(async () => {
    await stopAllKubeApiServers();
  });

  test.each(CLUSTERS)('%s: every rendered object passes a strict server-side dry run', async (cluster) => {
    const objects = rendered(cluster).filter((m) => m.object.kind !== 'Namespace');
    expect(objects.length).toBe(17);
    const failures: string[] = [];
    for (const { file, object } of objects) {
      const response = await kubeRequest(
        target,
        'POST',
        `${collectionPath(object)}?dryRun=All&fieldValidation=Strict`,
        object,
      );
      if (response.status !== 201)
        failures.push(
          `${cluster}/${file}: ${object.kind} ${object.metadata.name}: ${response.status} ${JSON.stringify(response.body).slice(0, 600)}`,
        );
    }
    expect(failures).toEqual([]);
  });
});

test('up.sh and down.sh are shellcheck-clean', () => {
  const scripts = ['up.sh', 'down.sh'].map((name) => path.join(DEMO_DIR, name));
  const result = spawnSync('shellcheck', scripts, { cwd: DEMO_DIR, encoding: 'utf8', timeout: 60_000 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('shellcheck is not installed: install it (apt-get install shellcheck) to check demo/kind/*.sh');
  }
  expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toEqual({ status: 0, output: '' });
  for (const script of scripts) {
    const text = fs.readFileSync(script, 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toContain('set -euo pipefail');
    expect(fs.statSync(script).mode & 0o111).not.toBe(0);
  }
});
