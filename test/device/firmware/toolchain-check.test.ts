// `npm run firmware` on a machine without the AVR toolchain: it names the Debian packages
// and the one system-packages script instead of failing inside make.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectOutput, REPO_ROOT, type CliResult } from '../../support/cli.ts';

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return collectOutput(spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

describe('npm run firmware checks its toolchain first', () => {
  let bareBin: string;
  beforeAll(async () => {
    // a PATH with node and the shells, and none of avr-g++, avr-gcc, avr-objcopy, make
    bareBin = await mkdtemp(join(tmpdir(), 'knotmeter-bare-path-'));
    await symlink(process.execPath, join(bareBin, 'node'));
    await symlink('/bin/bash', join(bareBin, 'bash'));
    await symlink('/bin/sh', join(bareBin, 'sh'));
  });
  afterAll(async () => {
    await rm(bareBin, { recursive: true, force: true });
  });

  it('names the missing Debian packages and the install command, not a make error', async () => {
    const npmCli = process.env.npm_execpath ?? join(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
    const result = await run(process.execPath, [npmCli, 'run', 'firmware'], { ...process.env, PATH: bareBin });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('building the firmware (npm run firmware) needs Debian packages that are missing: gcc-avr binutils-avr make');
    expect(result.stderr).toContain('sudo apt-get update && sudo apt-get install -y --no-install-recommends gcc-avr binutils-avr make');
    expect(result.stderr).toContain('sudo bash test/system-deps.sh');
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/No such file|make: \*\*\*|not found/);
  });

  it('passes quietly where the toolchain is installed, and lists nothing missing', async () => {
    const check = await run('bash', ['test/system-deps.sh', '--check', 'firmware'], process.env);
    expect(check).toEqual({ code: 0, stdout: '', stderr: '' });
    const missing = await run('bash', ['test/system-deps.sh', '--missing', 'flash'], process.env);
    expect(missing).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('refuses a goal it does not know, naming the goals', async () => {
    const result = await run('bash', ['test/system-deps.sh', '--check', 'firmwear'], process.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('one of run firmware flash emulator tests');
  });
});
