// `spillway istio render` as shipped (the real CLI): what it prints, and what it refuses with what to do.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { repoRoot } from '../harness/paths';
import { testOutputDir } from '../harness/output';

function render(...args: string[]) {
  return spawnSync(
    process.execPath,
    [path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), 'istio', 'render', ...args],
    { encoding: 'utf8' },
  );
}

describe('spillway istio render', () => {
  test('the embedded mesh: YAML documents, one EnvoyFilter per exported service, notes as comments', () => {
    const result = render('--xds-address', 'spillway.spillway-system.svc:15010');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^# Rendered by `spillway istio render`/);
    expect(result.stdout).toContain('# NOTE checkout.shop.svc.cluster.local: the canary needs a DestinationRule');
    const documents = YAML.parseAllDocuments(result.stdout)
      .map((d) => d.toJSON() as { kind: string; metadata: { name: string; namespace: string } } | null)
      .filter((d) => d !== null);
    expect(documents.map((d) => `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`)).toEqual([
      'EnvoyFilter istio-system/spillway-checkout-shop',
    ]);
    expect(result.stdout).toContain('target_uri: spillway.spillway-system.svc:15010');
  });

  test('refusals say what to do', () => {
    const missing = render();
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--xds-address HOST:PORT is required');
    const namespace = render('--xds-address', '10.0.0.1:15010', '--namespace', 'Istio_System');
    expect(namespace.status).toBe(2);
    expect(namespace.stderr).toContain('is not a Kubernetes namespace name');
    const timeout = render('--xds-address', '10.0.0.1:15010', '--initial-fetch-timeout-s', '0');
    expect(timeout.status).toBe(2);
    expect(timeout.stderr).toContain('--initial-fetch-timeout-s must be a whole number of seconds');
    const file = path.join(testOutputDir('istio-render-cli'), 'bad-mesh.yaml');
    fs.writeFileSync(file, 'clusters:\n  - { name: east, region: r1 }\nservices: []\n');
    const bad = render('--xds-address', '10.0.0.1:15010', '--mesh', file);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`${file}:2: clusters[0].zone`);
    expect(bad.stderr).toContain('fix the mesh file');
    expect(render('--bogus').status).toBe(2);
  });
});
