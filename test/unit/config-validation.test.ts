// The reading both configuration files share (src/config-validation/): the clusters file gets the mesh
// file's bounds and help (alias expansion, listed errors, typo suggestions), and each keeps its wording.
import { formatConfigErrors } from '../../src/config-validation/config-error';
import { MAX_LISTED_ERRORS } from '../../src/config-validation/error-list';
import { ALIAS_FREE_NODES, DEFAULT_WORDING, openYaml } from '../../src/config-validation/yaml-checker';
import { parseClustersText } from '../../src/discovery/kubernetes/clusters-file';
import { parseMeshText } from '../../src/discovery/file/mesh-file';

const lines = (...text: string[]) => text.join('\n') + '\n';

function clusterErrors(text: string) {
  const result = parseClustersText(text, '/etc/spillway');
  if (result.ok) throw new Error('expected the clusters file to be rejected');
  return result.errors;
}

function meshErrors(text: string) {
  const result = parseMeshText(text);
  if (result.ok) throw new Error('expected the mesh file to be rejected');
  return result.errors;
}

/** A document whose aliases add far more nodes than it writes: 10 anchors of 10 aliases each, nested. */
function aliasBomb(prefix: string): string {
  const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 7; i++)
    levels.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
  return lines(...levels, prefix);
}

describe('one way to read a configuration file', () => {
  test(`aliases that add more than ${ALIAS_FREE_NODES} nodes refuse either file, with the same message`, () => {
    const clusters = clusterErrors(aliasBomb('clusters: []'));
    const mesh = meshErrors(aliasBomb('clusters: []'));
    expect(clusters).toHaveLength(1);
    expect(clusters[0]?.message).toMatch(
      /^YAML aliases expand this file from \d+ written nodes to \d+; most come from the 10 aliases of &a5/,
    );
    expect(clusters).toEqual(mesh);
  });

  test('an alias in the clusters file stands for its anchor', () => {
    const result = parseClustersText(
      lines(
        'clusters:',
        '  - { name: east, region: &r r1, zone: r1-a, inCluster: true }',
        '  - { name: west, region: *r, zone: r1-b, inCluster: true }',
      ),
      '/',
    );
    expect(result.ok && result.clusters.map((c) => c.cluster.region)).toEqual(['r1', 'r1']);
  });

  test('a misspelled key in the clusters file gets a suggestion, as in the mesh file', () => {
    expect(clusterErrors(lines('clusters:', '  - { name: east, regoin: r1, zone: r1-a, inCluster: true }'))).toEqual([
      { path: 'clusters[0].regoin', line: 2, message: 'unknown key "regoin" (did you mean "region"?)' },
    ]);
  });

  test(`at most ${MAX_LISTED_ERRORS} errors of a clusters file are listed, then how many more`, () => {
    const items = Array.from({ length: 150 }, (_, i) => `  - { name: Bad${i}, region: r, zone: z, inCluster: true }`);
    const errors = clusterErrors(lines('clusters:', ...items));
    expect(errors).toHaveLength(MAX_LISTED_ERRORS + 1);
    expect(errors[MAX_LISTED_ERRORS]).toEqual({
      path: '',
      message: `and 50 more errors (only the first ${MAX_LISTED_ERRORS} are listed): fix these and validate again`,
    });
  });

  test('each file keeps its wording of a missing key and of a DNS label', () => {
    expect(
      clusterErrors(lines('clusters:', '  - { name: East, zone: z, inCluster: true }')).map(
        (e) => `${e.path}: ${e.message}`,
      ),
    ).toEqual([
      `clusters[0].name: "East" is not a DNS label (lowercase letters, digits and '-')`,
      'clusters[0].region: is required',
    ]);
    expect(meshErrors(lines('clusters:', '  - { name: East, zone: z }')).map((e) => `${e.path}: ${e.message}`)).toEqual(
      [
        `clusters[0].name: "East" is not a DNS label (${DEFAULT_WORDING.dnsLabelRule})`,
        'clusters[0].region: missing required key "region"',
      ],
    );
  });

  test('syntax errors are listed with their line, formatted FILE:LINE: PATH: MESSAGE', () => {
    const opened = openYaml('a: [\n');
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(formatConfigErrors('x.yaml', opened.errors)).toMatch(/^x\.yaml:\d+: /);
    expect(
      formatConfigErrors('x.yaml', [
        { path: 'a.b', line: 3, message: 'm' },
        { path: '', message: 'whole file' },
      ]),
    ).toBe('x.yaml:3: a.b: m\nx.yaml: whole file');
  });
});
