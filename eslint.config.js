// Lint for the whole package: TypeScript (type-aware) on the Node side and in the
// dashboard, Svelte components through eslint-plugin-svelte.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

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
    files: ['dashboard/src/**/*.{ts,svelte}', 'dashboard/src/**/*.svelte.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      // The dashboard shares with the server only the wire contract, the pure engine and
      // the calibration math (docs: design, "Imports run one way"); anything else would pull
      // Node code into the browser or a second declaration of a shape.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(device/|calibration/(?!(units|model|fit)\\.ts$)|server/(?!contract/|engine/(?!trace-csv\\.ts$)))',
              message:
                'the dashboard imports from outside dashboard/ only server/contract/ (the wire contract), server/engine/ (the pure engine, not trace-csv.ts) and calibration/units.ts, model.ts, fit.ts: declare a shape the dashboard needs in server/contract/',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
