// The xDS server keeps no module state: what its streams share (encoded responses, differences, empty
// answers, name sets) belongs to a server instance and is passed down, so two servers in one process
// share nothing and a test's server starts clean. Each module's top level is read: no `let`/`var`, and no
// `const` holding a new Map, Set, WeakMap, WeakSet, FinalizationRegistry or array that could be filled.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const FOLDERS = ['src/xds/server', 'src/xds/node'];
const MUTABLE_CONTAINERS = new Set(['Map', 'Set', 'WeakMap', 'WeakSet', 'FinalizationRegistry', 'Array']);

function moduleStateOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const list = statement.declarationList;
    const isConst = (list.flags & ts.NodeFlags.Const) !== 0;
    for (const declaration of list.declarations) {
      const line = source.getLineAndCharacterOfPosition(declaration.getStart()).line + 1;
      const where = `${path.relative(path.join(__dirname, '../../..'), file)}:${line} ${declaration.name.getText()}`;
      if (!isConst) found.push(`${where} (let/var)`);
      else if (declaration.initializer && holdsMutableContainer(declaration.initializer))
        found.push(`${where} (a container filled at run time)`);
    }
  }
  return found;
}

function holdsMutableContainer(initializer: ts.Expression): boolean {
  if (ts.isNewExpression(initializer) && ts.isIdentifier(initializer.expression)) {
    // A table built once from literals and typed read-only is a constant, not state.
    return MUTABLE_CONTAINERS.has(initializer.expression.text) && !readOnlyTyped(initializer);
  }
  return ts.isArrayLiteralExpression(initializer) && !readOnlyTyped(initializer);
}

function readOnlyTyped(node: ts.Node): boolean {
  const declaration = node.parent;
  const type = ts.isVariableDeclaration(declaration) ? declaration.type?.getText() : undefined;
  return type !== undefined && /^(ReadonlyMap|ReadonlySet|readonly |ReadonlyArray)/.test(type);
}

const FILES = FOLDERS.flatMap((folder) => {
  const dir = path.join(__dirname, '../../..', folder);
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.join(dir, name));
});

test('the scan sees the server modules', () => {
  expect(FILES.some((file) => file.endsWith('stream-base.ts'))).toBe(true);
});

test('no module of the xDS server or the node module keeps mutable state at its top level', () => {
  expect(FILES.flatMap(moduleStateOf)).toEqual([]);
});
