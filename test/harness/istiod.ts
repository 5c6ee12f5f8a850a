// The real istiod (pilot-discovery built from istio.io/istio by scripts/bench-peers.sh) for end-to-end tests
// of Spillway's Istio extension mode. It reads its config (ServiceEntries, DestinationRules, EnvoyFilters)
// from a folder it watches (mesh config `configSources: fs://`), so a test applies and deletes Istio
// resources by writing and removing files, as `kubectl apply` would through the API server.
//
// Settings that make upstream Envoy (not Istio's own proxy build) accept what istiod sends:
// - PILOT_ENABLE_METADATA_EXCHANGE=false: no `istio.metadata_exchange` filter (Istio's proxy only);
// - PILOT_ENABLE_ALPN_FILTER=false: no `istio.alpn` HTTP filter (Istio's proxy only; it sets the ALPN
//   of Istio mTLS connections, which these tests do not make);
// - meshConfig enableAutoMtls: false: the sidecar runs without istio-agent, so it has no certificates
//   over SDS; with auto mTLS on, its clusters would wait forever for secrets and never warm.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { acceptsConnections } from '../../bench/servers/child-process';
import { terminate, trackChild } from './child-processes';
import { testOutputDir } from './output';
import { repoRoot } from './paths';
import { freePort, waitFor } from './ports';

const ISTIOD_START_TIMEOUT_MS = 120_000;

export interface IstiodProcess {
  /** Where sidecars send ADS: 127.0.0.1:port. */
  readonly xdsPort: number;
  /** istiod's debug HTTP server (/debug/configz, /debug/syncz...). */
  readonly httpUrl: string;
  readonly configDir: string;
  readonly logFile: string;
  /** Writes (or replaces) one config file of Istio resources, as YAML documents. */
  apply(fileName: string, documents: readonly object[]): void;
  /** Writes raw YAML text as a config file. */
  applyText(fileName: string, text: string): void;
  remove(fileName: string): void;
  logTail(chars?: number): string;
  stop(): Promise<void>;
}

export interface ServiceEntryEndpoint {
  address: string;
  /** Port per service port name. */
  ports: Record<string, number>;
  labels?: Record<string, string>;
}

/** An HTTP service as istiod's registry holds it (what Kubernetes would show it for the cluster's pods). */
export function serviceEntry(host: string, port: number, endpoints: readonly ServiceEntryEndpoint[]): object {
  const [name, namespace] = host.split('.');
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name, namespace },
    spec: {
      hosts: [host],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      ports: [{ number: port, name: 'http', protocol: 'HTTP' }],
      endpoints,
    },
  };
}

/** The pilot-discovery binary, built (or found in the cache) by the project's own script. */
export function istiodBinary(): string {
  const result = spawnSync(
    'bash',
    [path.join(repoRoot(), 'scripts', 'bench-peers.sh'), '--print-paths', '--only', 'istiod', '--cached-only'],
    {
      cwd: repoRoot(),
      encoding: 'utf8',
    },
  );
  const match = /^istiod=(.+)$/m.exec(result.stdout ?? '');
  if (!match?.[1]) {
    throw new Error(
      `istiod is not built: run scripts/bench-peers.sh --only istiod (make test does)\n${result.stderr ?? ''}`,
    );
  }
  return match[1];
}

export interface IstiodOptions {
  /**
   * Istio's auto mTLS (mesh config enableAutoMtls): clusters get ISTIO_MUTUAL for endpoints marked
   * tlsMode=istio. Only for proxies that have certificates over SDS (sds-server.ts); off by default.
   */
  autoMtls?: boolean;
}

export async function startIstiod(name: string, options: IstiodOptions = {}): Promise<IstiodProcess> {
  const dir = testOutputDir(`istiod-${name}`);
  const configDir = path.join(dir, 'config');
  fs.rmSync(configDir, { recursive: true, force: true });
  fs.mkdirSync(configDir, { recursive: true });
  const [xdsPort, httpPort, httpsPort, monitoringPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const meshConfig = {
    defaultConfig: { discoveryAddress: `127.0.0.1:${xdsPort}` },
    enableAutoMtls: options.autoMtls ?? false,
    configSources: [{ address: `fs://${configDir}` }],
  };
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), YAML.stringify(meshConfig));
  fs.writeFileSync(path.join(dir, 'networks.yaml'), '{}\n');
  const logFile = path.join(dir, 'istiod.log');
  const log = fs.openSync(logFile, 'w');
  const args = [
    'discovery',
    '--registries=',
    `--meshConfig=${path.join(dir, 'mesh.yaml')}`,
    `--networksConfig=${path.join(dir, 'networks.yaml')}`,
    `--grpcAddr=127.0.0.1:${xdsPort}`,
    `--httpAddr=127.0.0.1:${httpPort}`,
    `--httpsAddr=127.0.0.1:${httpsPort}`,
    `--monitoringAddr=127.0.0.1:${monitoringPort}`,
    '--secureGRPCAddr=',
    '--ctrlz_port=0',
    '--domain=cluster.local',
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ENABLE_CA_SERVER: 'false',
    PILOT_ENABLE_METADATA_EXCHANGE: 'false',
    PILOT_ENABLE_ALPN_FILTER: 'false',
    // Tests change config often: push within 100 ms instead of istiod's production debounce.
    PILOT_DEBOUNCE_AFTER: '50ms',
    PILOT_DEBOUNCE_MAX: '200ms',
  };
  const child = spawn(istiodBinary(), args, { stdio: ['ignore', log, log], cwd: dir, env });
  fs.closeSync(log);
  void trackChild(child);
  const logTail = (chars = 4000) => fs.readFileSync(logFile, 'utf8').slice(-chars);
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`istiod exited with ${child.exitCode}: ${logTail()}`);
      return acceptsConnections(xdsPort);
    },
    { timeoutMs: ISTIOD_START_TIMEOUT_MS, what: `istiod ${name} to accept xDS connections` },
  );
  const write = (fileName: string, text: string) => {
    // Write then rename, so istiod's folder watch never reads half a file.
    const target = path.join(configDir, fileName);
    fs.writeFileSync(`${dir}/${fileName}.tmp`, text);
    fs.renameSync(`${dir}/${fileName}.tmp`, target);
  };
  return {
    xdsPort,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    configDir,
    logFile,
    apply: (fileName, documents) => write(fileName, documents.map((d) => YAML.stringify(d)).join('---\n')),
    applyText: write,
    remove: (fileName) => fs.rmSync(path.join(configDir, fileName), { force: true }),
    logTail,
    stop: () => terminate(child).then(() => undefined),
  };
}

export interface IstioSidecarNode {
  /** Pod IP in the node id (istiod matches workloads by it; a loopback address matches none). */
  ip: string;
  pod: string;
  namespace: string;
  /** Istio's cluster ID, which Spillway reads as the mesh cluster (node metadata CLUSTER_ID). */
  clusterId: string;
  labels: Record<string, string>;
}

export interface IstioProxyOptions {
  /** Where the proxy's certificates come from (an SDS server, as istio-agent would be): adds `sds-grpc`. */
  sdsPort?: number;
  /** An Istio gateway (node type `router`) instead of a sidecar; `sni-dnat` is the east-west gateway's mode. */
  router?: { mode: 'standard' | 'sni-dnat' };
}

function staticGrpcCluster(name: string, port: number): Record<string, unknown> {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: name,
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] },
      ],
    },
  };
}

/**
 * The bootstrap of an Istio proxy as istio-agent would write it, reduced to what upstream Envoy needs:
 * the Istio node (id, metadata), ADS to istiod, certificates over SDS when given, no iptables
 * (INTERCEPTION_MODE NONE: istiod then binds a sidecar's outbound listeners to 127.0.0.1:<service port>).
 */
export function istioSidecarBootstrap(
  node: IstioSidecarNode,
  istiodXdsPort: number,
  options: IstioProxyOptions = {},
): Record<string, unknown> {
  const type = options.router ? 'router' : 'sidecar';
  return {
    node: {
      id: `${type}~${node.ip}~${node.pod}.${node.namespace}~${node.namespace}.svc.cluster.local`,
      cluster: `${node.labels.app ?? node.labels.istio ?? node.pod}.${node.namespace}`,
      metadata: {
        ISTIO_VERSION: '1.31.0',
        CLUSTER_ID: node.clusterId,
        NAMESPACE: node.namespace,
        ...(options.router ? { ROUTER_MODE: options.router.mode } : { INTERCEPTION_MODE: 'NONE' }),
        WORKLOAD_NAME: node.pod,
        LABELS: node.labels,
        INSTANCE_IPS: node.ip,
      },
    },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        set_node_on_first_message_only: true,
        grpc_services: [
          {
            envoy_grpc: {
              cluster_name: 'xds-grpc',
              retry_policy: { retry_back_off: { base_interval: '0.25s', max_interval: '1s' } },
            },
          },
        ],
      },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      lds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        staticGrpcCluster('xds-grpc', istiodXdsPort),
        ...(options.sdsPort !== undefined ? [staticGrpcCluster('sds-grpc', options.sdsPort)] : []),
      ],
    },
  };
}

/**
 * One of Istio's own CRDs (e.g. `envoyfilters.networking.istio.io`) from the istio.io/istio module the
 * istiod build downloaded (manifests/charts/base/files/crd-all.gen.yaml), so the API server validates
 * objects against Istio's real schema.
 */
export function istioCrd(name: string): Record<string, unknown> {
  const version = fs.readFileSync(path.join(repoRoot(), 'bench', 'peers', 'istiod', 'ISTIO_VERSION'), 'utf8').trim();
  const modCache = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).stdout.trim();
  const file = path.join(
    modCache,
    'istio.io',
    `istio@${version}`,
    'manifests',
    'charts',
    'base',
    'files',
    'crd-all.gen.yaml',
  );
  if (!fs.existsSync(file))
    throw new Error(
      `${file} is missing: run scripts/bench-peers.sh --only istiod (make test does), which downloads istio.io/istio`,
    );
  const crd = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((document) => document.toJSON() as Record<string, unknown> | null)
    .find((document) => (document?.metadata as { name?: string } | undefined)?.name === name);
  if (!crd) throw new Error(`${file} has no CRD ${name}`);
  return crd;
}
