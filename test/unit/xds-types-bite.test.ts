// The generated Envoy types bite: a misspelled field in a message a builder makes, at any depth and inside
// a typed_config Any, fails to compile, and an Any can only be made from a message of the type its URL
// names. Type-checks small files against the real builders and generated types (one compiler run).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../..');
const imports = [
  `import { Cluster, Filled, Listener, RouteConfiguration } from '${ROOT}/src/xds/resource/envoy-messages';`,
  `import { typedAny } from '${ROOT}/src/xds/resource/typed-any';`,
  `import { aggregateCluster } from '${ROOT}/src/xds/translate/cluster-builder';`,
  `import { ResourceCollector } from '${ROOT}/src/xds/translate/resource-collector';`,
  `import { CLUSTER_TYPE, ENDPOINT_TYPE } from '${ROOT}/src/xds/resource-types';`,
].join('\n');

const TCP_PROXY = `'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy'`;
const ROUTER = `'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router'`;

/** Each case: the statements (after the imports) and what the compiler must say, or null for nothing. */
const CASES: Record<string, { code: string; error: RegExp | null }> = {
  wellFormed: {
    code: `export const c: Cluster = { name: 'c', type: 'EDS', outlier_detection: { consecutive_5xx: { value: 3 } } };
export const l: Listener = { name: 'l', filter_chains: [{ filters: [{ name: 'f', typed_config: typedAny(${TCP_PROXY}, { stat_prefix: 's', cluster: 'x' }) }] }] };
export const r: RouteConfiguration = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [] }] };
new ResourceCollector().add(CLUSTER_TYPE, 'c', c);
export type Named = Filled<Cluster, { name: string }>;`,
    error: null,
  },
  topLevelTypo: {
    code: `export const c: Cluster = { name: 'c', outlier_detecton: {} };`,
    error: /'outlier_detecton' does not exist in type 'Cluster'/,
  },
  nestedTypo: {
    code: `export const c: Cluster = { name: 'c', outlier_detection: { consecutive_5xxx: { value: 3 } } };`,
    error: /'consecutive_5xxx' does not exist in type 'OutlierDetection'/,
  },
  typoInsideAny: {
    code: `export const any = typedAny(${TCP_PROXY}, { stat_prefix: 's', clustre: 'x' });`,
    error: /'clustre' does not exist in type 'TcpProxy'/,
  },
  messageOfAnotherType: {
    code: `export const any = typedAny(${ROUTER}, { stat_prefix: 's' });`,
    error: /'stat_prefix' does not exist in type 'Router'/,
  },
  untypedAnyBag: {
    code: `export const l: Listener = { name: 'l', filter_chains: [{ filters: [{ name: 'f', typed_config: { '@type': ${TCP_PROXY}, stat_prefix: 's' } }] }] };`,
    error: /'stat_prefix' does not exist in type 'Any'/,
  },
  anyNotFromTypedAny: {
    code: `export const l: Listener = { name: 'l', filter_chains: [{ filters: [{ name: 'f', typed_config: { '@type': ${ROUTER} } }] }] };`,
    error: /is missing in type .* but required in type 'Any'/,
  },
  wrongEnumValue: {
    code: `export const c: Cluster = { name: 'c', type: 'EDSS' };`,
    error: /'"EDSS"' is not assignable/,
  },
  messageOfAnotherResourceType: {
    code: `new ResourceCollector().add(ENDPOINT_TYPE, 'c', { name: 'c' });`,
    error: /'name' does not exist in type 'ClusterLoadAssignment'/,
  },
  narrowedFieldTypo: {
    code: `export type Built = Filled<Cluster, { outlier_detecton: { interval: { seconds: number } } }>;`,
    error: /does not satisfy the constraint/,
  },
  builderResultTypo: {
    code: `export const t = aggregateCluster('a', ['b']).cluster_typ;`,
    error: /Property 'cluster_typ' does not exist/,
  },
};

describe('generated Envoy types', () => {
  test('a misspelled field anywhere in a built message is a compile error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xds-types-bite-'));
    try {
      const files = Object.entries(CASES).map(([name, { code }]) => {
        const file = path.join(dir, `${name}.ts`);
        fs.writeFileSync(file, `${imports}\n${code}\n`);
        return file;
      });
      const program = ts.createProgram(files, {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        esModuleInterop: true,
        types: ['node'],
        typeRoots: [path.join(ROOT, 'node_modules/@types')],
      });
      const messages = new Map<string, string[]>();
      for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
        const file = diagnostic.file ? path.basename(diagnostic.file.fileName, '.ts') : '(global)';
        messages.set(file, [
          ...(messages.get(file) ?? []),
          ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
        ]);
      }
      const report = Object.fromEntries(
        Object.entries(CASES).map(([name, { error }]) => {
          const said = (messages.get(name) ?? []).join('\n');
          return [name, error === null ? said === '' : error.test(said) ? true : said || '(compiled)'];
        }),
      );
      // Diagnostics elsewhere (say, in the repository's own sources) would mean the probe measured nothing.
      const elsewhere = [...messages.keys()].filter((file) => !(file in CASES));
      expect({ report, elsewhere }).toEqual({
        report: Object.fromEntries(Object.keys(CASES).map((name) => [name, true])),
        elsewhere: [],
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
