// The project's own eslint.config.js holds the pipeline's import directions and refuses
// circles (docs: design, "Imports run one way"): this lints small files laid out like the
// repository in a temporary folder and checks that a wrong-way import (static or
// import()), a library module importing the CLI, and a two-file circle are reported,
// and that right-way imports and a circle of type imports are not.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.ts';

/** Files of the temporary layout, by path: what each one imports. */
const PROBES: Record<string, string> = {
  // wrong way
  'device/transports/wrong.ts': "import { fitCurve } from '../../calibration/fit.ts';\nexport const used = fitCurve;\n",
  'device/dynamic-wrong.ts': "export const later = () => import('../server/engine/engine.ts');\n",
  'calibration/wrong.ts': "export { PressureEngine } from '../server/engine/engine.ts';\n",
  'server/live/wrong.ts': "import { UsageError } from '../cli/support.ts';\nexport const used = UsageError;\n",
  'server/app-wrong.ts': "import { thing } from '../dashboard/src/lib/thing.ts';\nexport const used = thing;\n",
  'dashboard/src/lib/wrong.ts': "import { openRecording } from '../../../server/recording/recording.ts';\nexport const used = openRecording;\n",
  // right way
  'calibration/right.ts': "import type { RawSample } from '../device/transport.ts';\nexport type Sample = RawSample;\n",
  'server/cli/right.ts': "import { UsageError } from '../errors.ts';\nexport const used = UsageError;\nexport const later = () => import('../../calibration/wizard.ts');\n",
  'dashboard/src/lib/right.ts': "import { toNewtons } from '../../../calibration/units.ts';\nexport const used = toNewtons;\n",
  // a circle of two files, and a circle of type imports only (erased at run time)
  'server/circle-a.ts': "import { b } from './circle-b.ts';\nexport const a = (): number => b() + 1;\n",
  'server/circle-b.ts': "import { a } from './circle-a.ts';\nexport const b = (): number => 0;\nexport const again = a;\n",
  'server/types-a.ts': "import type { B } from './types-b.ts';\nexport interface A { b: B }\n",
  'server/types-b.ts': "import type { A } from './types-a.ts';\nexport interface B { a?: A }\n",
};

/** Each probe's problems as `rule: line`, for the import rules only. */
type Findings = Record<string, string[]>;

/**
 * The project's config, as is, with the base path at `folder`; type-aware rules are off
 * because these files belong to no tsconfig.
 */
function projectLinter(folder: string): ESLint {
  return new ESLint({
    cwd: folder,
    overrideConfigFile: join(REPO_ROOT, 'eslint.config.js'),
    overrideConfig: { files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked },
  });
}

describe('eslint.config.js: import directions and circles', () => {
  let folder = '';
  let findings: Findings = {};

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'knotmeter-lint-'));
    for (const [path, text] of Object.entries(PROBES)) {
      await mkdir(dirname(join(folder, path)), { recursive: true });
      await writeFile(join(folder, path), text);
    }
    const results = await projectLinter(folder).lintFiles(Object.keys(PROBES));
    findings = Object.fromEntries(
      results.map((result) => [
        result.filePath.slice(folder.length + 1),
        result.messages.filter((message) => /^(no-restricted-(imports|syntax)|import-x\/no-cycle)$/.test(message.ruleId ?? '')).map((message) => `${message.ruleId ?? ''}: ${message.line}`),
      ]),
    );
  }, 60_000);

  afterAll(async () => {
    if (folder !== '') await rm(folder, { recursive: true, force: true });
  });

  it('refuses an import up the pipeline, static or import()', () => {
    expect(findings['device/transports/wrong.ts']).toEqual(['no-restricted-imports: 1']);
    expect(findings['device/dynamic-wrong.ts']).toEqual(['no-restricted-syntax: 1']);
    expect(findings['calibration/wrong.ts']).toEqual(['no-restricted-imports: 1']);
    expect(findings['server/app-wrong.ts']).toEqual(['no-restricted-imports: 1']);
  });

  it('refuses server/ library code importing server/cli/, and the dashboard importing server internals', () => {
    expect(findings['server/live/wrong.ts']).toEqual(['no-restricted-imports: 1']);
    expect(findings['dashboard/src/lib/wrong.ts']).toEqual(['no-restricted-imports: 1']);
  });

  it('lets imports run down the pipeline', () => {
    expect(findings['calibration/right.ts']).toEqual([]);
    expect(findings['server/cli/right.ts']).toEqual([]);
    expect(findings['dashboard/src/lib/right.ts']).toEqual([]);
  });

  it('refuses a circle of two files, on both of them, but not a circle of type imports', () => {
    expect(findings['server/circle-a.ts']).toEqual(['import-x/no-cycle: 1']);
    expect(findings['server/circle-b.ts']).toEqual(['import-x/no-cycle: 1']);
    expect(findings['server/types-a.ts']).toEqual([]);
    expect(findings['server/types-b.ts']).toEqual([]);
  });

  it('names what to do in its messages', async () => {
    const [result] = await projectLinter(folder).lintFiles(['device/transports/wrong.ts']);
    expect(result?.messages.map((message) => message.message).join('\n')).toMatch(/imports nothing from calibration\/, server\/ or dashboard\/: move the shared piece down into device\//);
  });
});
