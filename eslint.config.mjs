// ESLint (`npm run lint`, run by `make test`): typescript-eslint's strict and stylistic rules with type
// information, from the tsconfig.json nearest each file (the server's at the root; the page script's in
// src/admin/page/browser, with DOM types). Layout is Prettier's job (eslint-config-prettier is not needed:
// these presets hold no formatting rules).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'generated/', 'node_modules/', '.cache/', 'test-output/'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: path.dirname(fileURLToPath(import.meta.url)) },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers and booleans read well in messages; objects and undefined still do not.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => void promise` and one-line arrow callbacks returning a void call are the house style.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Defensive checks on wire data (JSON, protobuf decodes) are typed as present but may not be.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Async functions without await keep an interface's promise contract.
      '@typescript-eslint/require-await': 'off',
      // `text || fallback` treats an empty string as unset (environment variables, flags), as meant.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // Its fix turns `x as T` into `x!`, which no-non-null-assertion (strict) then forbids.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read JSON from real processes (JSON.parse, response.json()) and compare it with expect():
      // typing every such value would only restate the assertion that follows it.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { module: 'writable', require: 'readonly', process: 'readonly' } },
  },
);
