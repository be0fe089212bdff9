// Lint for the whole package: TypeScript (type-aware) on the Node side and in the
// dashboard, Svelte components through eslint-plugin-svelte, and the import directions
// of the pipeline (docs: design, "Imports run one way"): device/ -> calibration/ ->
// server/ -> dashboard/, no folder importing one above it, no circle of files.
// test/lint/boundaries.test.ts proves the direction and circle rules fail when broken.
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Files matching `files` (minus `ignores`) may not import a path matching `regex`,
 * statically or with `import()`. The regex reads the specifier as written (every import
 * in the project is relative, with its extension).
 */
function importBoundary({ files, ignores = [], regex, message }) {
  // esquery ends a regex at the first '/', so the import() selector spells it \x2F.
  const selectorRegex = regex.replaceAll('/', '\\x2F');
  return {
    files,
    ignores,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex, message }] }],
      'no-restricted-syntax': ['error', { selector: `ImportExpression > Literal.source[value=/${selectorRegex}/]`, message }],
    },
  };
}

const tsAndSvelte = ['**/*.ts', '**/*.svelte'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dashboard/dist/', 'test-results/', 'device/firmware/build/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...svelte.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        extraFileExtensions: ['.svelte'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-confusing-void-expression': 'off',
    },
  },
  {
    files: tsAndSvelte,
    plugins: { 'import-x': importX },
    settings: {
      // Every import names its file with its extension: the plain node resolver finds it.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.svelte', '.json'] })],
      'import-x/extensions': ['.ts', '.svelte'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'], 'svelte-eslint-parser': ['.svelte'] },
    },
    rules: {
      // A circle of files has no bottom to test or to read from. Imports of types only
      // are erased and allowed; packages in node_modules are not ours to untangle.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  importBoundary({
    files: ['device/**'],
    regex: '^(\\.\\./)+(calibration|server|dashboard)/',
    message:
      'device/ is the bottom of the pipeline and imports nothing from calibration/, server/ or dashboard/: move the shared piece down into device/, or pass what device/ needs in from above (a source, a callback)',
  }),
  importBoundary({
    files: ['calibration/**'],
    regex: '^(\\.\\./)+(server|dashboard)/',
    message:
      'calibration/ imports from device/ only, never server/ or dashboard/: move the shared piece down into calibration/ or device/, or pass it in from the server (a source, a callback)',
  }),
  importBoundary({
    files: ['server/**'],
    ignores: ['server/cli/**'],
    regex: '^(\\./|(\\.\\./)+)(server/)?(cli/|dashboard/)',
    message:
      'server/ code outside server/cli/ imports neither the command-line programs (server/cli/) nor the dashboard: move what both need into a server/ module (such as server/errors.ts) and let cli/ import it',
  }),
  importBoundary({
    files: ['server/cli/**'],
    regex: '^(\\.\\./)+dashboard/',
    message: 'server/ never imports the dashboard (it serves dashboard/dist/ as files): declare what both need in server/contract/',
  }),
  {
    files: ['dashboard/src/**/*.{ts,svelte}', 'dashboard/src/**/*.svelte.ts'],
    // The parser option is for no-cycle: a .ts file that imports a component (main.ts)
    // has it parsed with these options, and its <script lang="ts"> needs TypeScript.
    languageOptions: { globals: { ...globals.browser }, parserOptions: { parser: tseslint.parser } },
  },
  // The dashboard shares with the server only the wire contract, the pure engine and the
  // calibration math; anything else would pull Node code into the browser or a second
  // declaration of a shape.
  importBoundary({
    files: ['dashboard/src/**/*.{ts,svelte}', 'dashboard/src/**/*.svelte.ts'],
    regex: '^(\\.\\./)+(device/|calibration/(?!(units|model|fit)\\.ts$)|server/(?!contract/|engine/))',
    message:
      'the dashboard imports from outside dashboard/ only server/contract/ (the wire contract), server/engine/ (the pure engine) and calibration/units.ts, model.ts, fit.ts: declare a shape the dashboard needs in server/contract/',
  }),
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
