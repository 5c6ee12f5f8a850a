// Data and types flow one way (discovery -> mesh -> translate -> cache -> server): a lower layer never
// imports a higher one. Every import of src/** is read (static, re-export, dynamic) and checked against a
// table of forbidden edges; a failure names each offending import by file and line. Add an edge to the
// table to forbid it.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const REPO = path.join(__dirname, '../../..');
const SRC = path.join(REPO, 'src');

interface ForbiddenEdge {
  /** Files under these src-relative folders (or files)... */
  from: readonly string[];
  /** ...must not import modules under these src-relative folders, or these packages (`pkg:name`). */
  to: readonly string[];
  /** Why, shown with every offending import. */
  because: string;
}

const FORBIDDEN: readonly ForbiddenEdge[] = [
  {
    from: ['admin/', 'xds/', 'lrs/', 'mesh/', 'discovery/', 'visibility/', 'predict/', 'drill/', 'net/'],
    to: ['composition-root', 'control-plane/'],
    because:
      'the composition root builds the parts and passes each the narrow interface it reads; no part imports the root',
  },
  {
    from: ['xds/translate/', 'xds/cache/', 'lrs/'],
    to: ['xds/server/'],
    because: 'the xDS server is the top of the pipeline; shared types live in xds/node/',
  },
  {
    from: ['xds/node/'],
    to: ['xds/server/', 'xds/translate/', 'xds/cache/', 'lrs/', 'mesh/', 'discovery/'],
    because: 'xds/node/ is the neutral module under translate and server: it imports neither',
  },
  {
    from: ['xds/translate/'],
    to: ['xds/cache/'],
    because:
      'translation hands resources to the cache; what both use (the encoded form, message types) lives in xds/resource/',
  },
  {
    from: ['xds/resource/'],
    to: ['xds/translate/', 'xds/cache/', 'xds/server/', 'xds/node/', 'lrs/', 'mesh/', 'discovery/'],
    because: 'xds/resource/ is the layer under translate and cache: it imports neither',
  },
  {
    from: ['xds/translate/'],
    to: ['pkg:@grpc/grpc-js'],
    because: 'view resolution returns a typed refusal; only the server maps it to a gRPC status',
  },
  {
    from: ['demo/'],
    to: ['cli/'],
    because: 'the CLI launches the demo, never the reverse; what both print lives in format/, their flags in flags/',
  },
  {
    from: ['discovery/kubernetes/'],
    to: ['discovery/file/'],
    because: 'the two sources are siblings; what both files use to validate lives in config-validation/',
  },
  {
    from: ['config-validation/', 'flags/', 'format/'],
    to: ['cli/', 'demo/', 'discovery/', 'composition-root', 'control-plane/'],
    because: 'shared building blocks under the CLI, the demo and the sources: they import none of them',
  },
  {
    from: ['xds/', 'lrs/', 'mesh/', 'discovery/', 'visibility/', 'predict/', 'drill/', 'admin/'],
    to: ['istio/'],
    because: 'the Istio extension is a sink of the model beside the xDS server: only the CLI wires it',
  },
];

interface Import {
  /** src-relative path of the importing file. */
  file: string;
  line: number;
  specifier: string;
  /** src-relative path of the imported module (no extension), or `pkg:name` for a package. */
  target: string;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function importsOf(file: string): Import[] {
  const text = fs.readFileSync(file, 'utf8');
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((imported) => {
    const specifier = imported.fileName;
    const target = specifier.startsWith('.')
      ? path
          .relative(SRC, path.resolve(path.dirname(file), specifier))
          .split(path.sep)
          .join('/')
      : `pkg:${packageOf(specifier)}`;
    const line = text.slice(0, imported.pos).split('\n').length;
    return { file: path.relative(SRC, file).split(path.sep).join('/'), line, specifier, target };
  });
}

function under(target: string, prefix: string): boolean {
  if (prefix.startsWith('pkg:')) return target === prefix;
  return prefix.endsWith('/') ? target.startsWith(prefix) : target === prefix || target.startsWith(`${prefix}/`);
}

const ALL_IMPORTS = sourceFiles(SRC).flatMap(importsOf);

describe('layering: no import goes against the flow', () => {
  test('the import scan sees the source tree', () => {
    // Guards against a scan that silently finds nothing (a moved folder, a wrong root).
    expect(ALL_IMPORTS.length).toBeGreaterThan(100);
    expect(ALL_IMPORTS.some((i) => i.file.startsWith('xds/server/') && i.target.startsWith('xds/node/'))).toBe(true);
  });

  test.each(FORBIDDEN.map((edge) => [`${edge.from.join(', ')} -> ${edge.to.join(', ')}`, edge] as const))(
    '%s',
    (_name, edge) => {
      const offending = ALL_IMPORTS.filter(
        (i) => edge.from.some((from) => under(i.file, from)) && edge.to.some((to) => under(i.target, to)),
      );
      const described = offending.map((i) => `src/${i.file}:${i.line} imports '${i.specifier}' (${edge.because})`);
      expect(described).toEqual([]);
    },
  );
});
