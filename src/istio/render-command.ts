// `spillway istio render`: prints the EnvoyFilters that extend an Istio mesh with Spillway's endpoints
// (see envoy-filters.ts), as YAML documents to pipe into `kubectl apply -f -`.
import * as YAML from 'yaml';
import { EMBEDDED_MESH_YAML } from '../discovery/embedded-mesh';
import { formatMeshErrors, loadMeshFile, parseMeshText } from '../discovery/file/mesh-file';
import { DEFAULT_MESH_MAX_BYTES } from '../discovery/file/mesh-limits';
import { FlagSpec, flagHelp, parseFlags } from '../flags/flags';
import { parseHostPort } from '../net/host-port';
import { DEFAULT_INITIAL_FETCH_TIMEOUT_S, IstioExtension, istioEnvoyFilters } from './envoy-filters';

export const ISTIO_NAMESPACE_DEFAULT = 'istio-system';
const MAX_INITIAL_FETCH_TIMEOUT_S = 300;

export const ISTIO_RENDER_FLAGS: FlagSpec[] = [
  {
    name: 'mesh',
    value: 'FILE',
    help: 'mesh file whose exported services get Spillway endpoints (default: the embedded example mesh)',
  },
  {
    name: 'xds-address',
    value: 'HOST:PORT',
    help: "Spillway's xDS address as the sidecars reach it, e.g. spillway.spillway-system.svc.cluster.local:15010 (required)",
  },
  {
    name: 'namespace',
    value: 'NS',
    help: "namespace of the EnvoyFilters: Istio's root namespace applies them to every sidecar",
    default: ISTIO_NAMESPACE_DEFAULT,
  },
  {
    name: 'initial-fetch-timeout-s',
    value: 'S',
    help: 'how long a patched cluster waits for Spillway before it starts without endpoints (istiod alone waits forever)',
    default: String(DEFAULT_INITIAL_FETCH_TIMEOUT_S),
  },
];

const USAGE = `spillway istio render [flags]

Prints Istio EnvoyFilters (YAML) that make istiod-managed sidecars take the endpoints of the mesh's exported
services from Spillway (local first, remote gateways weighted by replicas, outlier detection) and fall back
from a canary to stable, while istiod keeps serving everything else. Apply with: | kubectl apply -f -
Remove (back to istiod's endpoints): kubectl delete envoyfilter -n NS -l app.kubernetes.io/managed-by=spillway

`;

/** The YAML stream: a comment with what the operator must know, then one document per EnvoyFilter. */
export function renderIstioYaml(extension: IstioExtension): string {
  const header = [
    '# Rendered by `spillway istio render`: EnvoyFilters for Istio extension mode (docs/ISTIO.md).',
    ...extension.notes.map((note) => `# NOTE ${note}`),
  ];
  return `${header.join('\n')}\n${extension.filters.map((filter) => `---\n${YAML.stringify(filter, { aliasDuplicateObjects: false })}`).join('')}`;
}

export function runIstioCommand(argv: readonly string[]): number {
  const [sub, ...rest] = argv;
  if (sub !== 'render') {
    process.stderr.write(
      `spillway istio: unknown subcommand "${sub ?? ''}"; try: spillway istio render --xds-address HOST:PORT\n`,
    );
    return 2;
  }
  if (rest.includes('--help')) {
    process.stdout.write(USAGE + flagHelp(ISTIO_RENDER_FLAGS) + '\n');
    return 0;
  }
  const parsed = parseFlags(rest, ISTIO_RENDER_FLAGS);
  if (!parsed.ok) {
    process.stderr.write(`spillway istio render: ${parsed.error}\n`);
    return 2;
  }
  const flag = (name: string) => parsed.flags.get(name);
  const address = flag('xds-address');
  const xds = address ? parseHostPort(address) : undefined;
  if (!xds) {
    process.stderr.write(
      `spillway istio render: --xds-address HOST:PORT is required: Spillway's xDS address as the sidecars reach it\n`,
    );
    return 2;
  }
  const timeout = Number(flag('initial-fetch-timeout-s'));
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_INITIAL_FETCH_TIMEOUT_S) {
    process.stderr.write(
      `spillway istio render: --initial-fetch-timeout-s must be a whole number of seconds, 1-${MAX_INITIAL_FETCH_TIMEOUT_S}\n`,
    );
    return 2;
  }
  const namespace = flag('namespace') as string;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    process.stderr.write(
      `spillway istio render: --namespace "${namespace.slice(0, 80)}" is not a Kubernetes namespace name\n`,
    );
    return 2;
  }
  const meshPath = flag('mesh');
  const result = meshPath
    ? loadMeshFile(meshPath, { maxBytes: DEFAULT_MESH_MAX_BYTES })
    : parseMeshText(EMBEDDED_MESH_YAML);
  if (!result.ok) {
    process.stderr.write(
      `${formatMeshErrors(meshPath ?? '(embedded mesh)', result.errors)}\nspillway istio render: fix the mesh file (spillway validate FILE) and run again\n`,
    );
    return 1;
  }
  const extension = istioEnvoyFilters(result.model, {
    xdsHost: xds.host,
    xdsPort: xds.port,
    namespace,
    initialFetchTimeoutS: timeout,
  });
  process.stdout.write(renderIstioYaml(extension));
  return 0;
}
