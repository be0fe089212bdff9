// Replacing a file atomically: the new text whole with the mode asked, or the old file
// untouched (a full disk mid-write, a failed rename, a temporary file left by a crash),
// never half a file, and no temporary file left behind by this process.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomically } from '../../calibration/atomic-file.ts';
import { collectOutput, REPO_ROOT } from '../support/cli.ts';

const OLD_TEXT = `${JSON.stringify({ version: 1, history: ['the fit to keep'] }, null, 2)}\n`;

describe('writeFileAtomically', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knotmeter-atomic-'));
    path = join(dir, 'pairing.json');
    writeFileSync(path, OLD_TEXT, { mode: 0o644 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces the file with the new text and the mode asked, leaving no temporary file', () => {
    writeFileAtomically(path, 'new\n', { mode: 0o600 });
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['pairing.json']);
  });

  it('a temporary file left by a crashed process is neither read nor reused, so a secret file still gets its own mode', () => {
    // What a process with this pid, killed between write and rename, would have left (the name the writers used to share).
    const leftover = `${path}.${process.pid}.tmp`;
    writeFileSync(leftover, OLD_TEXT.slice(0, 20), { mode: 0o644 });
    expect(readFileSync(path, 'utf8')).toBe(OLD_TEXT);
    writeFileAtomically(path, 'secret\n', { mode: 0o600 });
    expect(readFileSync(path, 'utf8')).toBe('secret\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(leftover, 'utf8')).toBe(OLD_TEXT.slice(0, 20));
  });

  it('a failed rename throws the fs error and leaves no temporary file', () => {
    const folder = join(dir, 'a-folder');
    mkdirSync(join(folder, 'inside'), { recursive: true });
    expect(() => writeFileAtomically(folder, 'text')).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect(readdirSync(dir).sort()).toEqual(['a-folder', 'pairing.json']);
  });

  it('a disk that fills up mid-write leaves the old file whole (a short write is not taken for the whole text)', async () => {
    // A real limit on file size (ulimit -f, in 512-byte blocks in sh) makes the write stop
    // part way, as a full disk does: root is not stopped by a read-only folder, but is by this.
    const script = `import { writeFileAtomically } from './calibration/atomic-file.ts';
try { writeFileAtomically(process.argv[1], 'x'.repeat(4 << 20)); console.log('written'); } catch (error) { console.log(error.code); }`;
    const child = spawn('sh', ['-c', 'ulimit -f 512 && exec "$0" --import tsx --input-type=module -e "$1" "$2"', process.execPath, script, path], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await collectOutput(child);
    expect(result, result.stderr).toMatchObject({ code: 0, stdout: 'EFBIG\n' });
    expect(readFileSync(path, 'utf8')).toBe(OLD_TEXT);
    expect(readdirSync(dir)).toEqual(['pairing.json']);
  });
});
