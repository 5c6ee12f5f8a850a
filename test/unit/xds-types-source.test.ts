// The message types are generated from the same package, and the same files, that Spillway loads at run
// time: a type generated from a file the run does not load would pass the compiler and then be refused by
// the encoder (an Any of an unknown type), or encoded against a different definition.
import * as fs from 'fs';
import * as path from 'path';
import { ENTRY_FILES } from '../../src/xds/protos';

const ROOT = path.resolve(__dirname, '../../..');

function generatedFrom(): string[] {
  const script = fs.readFileSync(path.join(ROOT, 'scripts/gen-xds-types.sh'), 'utf8');
  const list = /^PROTOS=\(\n([\s\S]*?)\n\)/m.exec(script)?.[1] ?? '';
  return list
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

describe('generated Envoy types', () => {
  test('come from files Spillway loads at run time', () => {
    const files = generatedFrom();
    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((file) => !ENTRY_FILES.includes(file))).toEqual([]);
  });

  test('come from the installed @grpc/grpc-js-xds, the version package.json pins', () => {
    const pinned = (
      JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    ).dependencies['@grpc/grpc-js-xds'];
    const installed = (
      JSON.parse(fs.readFileSync(require.resolve('@grpc/grpc-js-xds/package.json'), 'utf8')) as { version: string }
    ).version;
    expect(pinned).toBe(installed);
    const source = fs.readFileSync(path.join(ROOT, 'generated/xds/SOURCE.txt'), 'utf8');
    expect(source).toContain(`@grpc/grpc-js-xds ${installed}\n`);
  });
});
