// `npm run analyze` in-process (runAnalyze, as the CLI runs it) for the analyze tests: a
// scratch directory of trace files, the command's exit code and streams, and the refusal shape.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { runAnalyze } from '../../server/cli/analyze.ts';

export interface ScratchFiles {
  readonly dir: string;
  /** Writes `text` to a new file in `dir` and returns its path. */
  readonly file: (text: string, extension?: string) => string;
}

/** A temporary directory removed after the test file's last test. */
export function scratchFiles(prefix: string): ScratchFiles {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let fileCount = 0;
  return {
    dir,
    file: (text, extension = 'csv') => {
      const path = join(dir, `file-${++fileCount}.${extension}`);
      writeFileSync(path, text);
      return path;
    },
  };
}

export async function analyze(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runAnalyze(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

/** Exit 2, nothing on stdout, one message on stderr matching `pattern`. */
export async function expectRefused(args: string[], pattern: RegExp): Promise<void> {
  const result = await analyze(...args);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^knotmeter analyze: /);
  expect(result.stderr).toMatch(pattern);
}
