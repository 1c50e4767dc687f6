// Lint rules for the whole project (run by `npm test` through `npm run lint`).
// typescript-eslint's recommended set; formatting is left to prettier.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      // `_`-prefixed names are deliberately unused (callbacks, destructuring).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Control characters are what DNS names and wire tests are about.
      'no-control-regex': 'off',
    },
  },
  // The admin UI's two small browser modules.
  { files: ['src/admin/public/**/*.js'], languageOptions: { globals: globals.browser } },
  { files: ['**/*.mjs', '**/*.cjs', 'eslint.config.js'], languageOptions: { globals: globals.node } },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
