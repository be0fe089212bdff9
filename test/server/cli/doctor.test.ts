// `npm run doctor` against the emulator on ptys: our firmware and StandardFirmata each
// answering on a port, a data directory, profiles; and on a PATH without the toolchain.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitCalibration } from '../../../calibration/fit.ts';
import { newProfileEntry } from '../../../calibration/profile.ts';
import { FileProfileStore } from '../../../calibration/store.ts';
import { Emulator } from '../../../device/emulator/emulator.ts';
import { standardFirmataHexPath } from '../../../device/transports/firmata.ts';
import { firmwareHex } from '../../../device/transports/emulator.ts';
import { checkNode, runDoctor, shippedFirmwareVersion, type DoctorEnvironment } from '../../../server/cli/doctor.ts';
import { REPO_ROOT, type CliResult } from '../../support/cli.ts';

// no real port of this machine is listed or scanned: only what a test names
const ONLY_NAMED: DoctorEnvironment = { listPorts: () => Promise.resolve([]), defaultPatterns: [] };

async function doctor(argv: readonly string[], environment: DoctorEnvironment = ONLY_NAMED): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await runDoctor(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stdout += text) }, environment);
  return { code, stdout };
}

describe('npm run doctor with a Knotmeter and a Firmata board on ptys', () => {
  let knotmeter: Emulator | undefined;
  let firmata: Emulator | undefined;
  let dir = '';
  let deviceId = '';

  beforeAll(async () => {
    const hex = await firmwareHex('fsr');
    [knotmeter, firmata] = await Promise.all([Emulator.start({ hexPath: hex }), Emulator.start({ hexPath: standardFirmataHexPath() })]);
    dir = await mkdtemp(join(tmpdir(), 'knotmeter-doctor-'));
    await symlink(knotmeter.ptyPath, join(dir, 'ttyACM0'));
    await symlink(firmata.ptyPath, join(dir, 'ttyACM1'));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([knotmeter?.stop(), firmata?.stop()]);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('checks in order and names what answers on each port; warnings alone pass', async () => {
    const { code, stdout } = await doctor(['--scan', join(dir, 'ttyACM*'), '--data-dir', join(dir, 'data')]);
    const lines = stdout.split('\n');
    const at = (pattern: RegExp): number => lines.findIndex((line) => pattern.test(line));
    const order = [/^ok {4}Node /, /^ok {4}system packages to run the server/, /^ok {4}system packages to build the firmware/, /^ok {4}serial permissions/, /ttyACM0: Knotmeter/, /^ok {4}firmware of/, /^ok {4}data directory/, /^ok {4}database/, /calibration of/];
    const positions = order.map(at);
    expect(positions.every((position) => position >= 0), stdout).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    deviceId = /Knotmeter ([0-9a-f]{8})/.exec(stdout)?.[1] ?? '';
    expect(stdout).toContain(`ok    port ${join(dir, 'ttyACM0')}: Knotmeter ${deviceId}, firmware ${shippedFirmwareVersion()}, sensor fsr`);
    expect(stdout).toMatch(new RegExp(`warn  port ${join(dir, 'ttyACM1')}: StandardFirmata \\(StandardFirmata\\S* \\d+\\.\\d+\\)`));
    expect(stdout).toContain(`ok    firmware of ${deviceId} on ${join(dir, 'ttyACM0')}: ${shippedFirmwareVersion()}, current`);
    expect(stdout).toContain(`warn  calibration of ${deviceId}: none saved`);
    expect(stdout).toContain(`calibrate with npm run calibrate -- --device serial:${join(dir, 'ttyACM0')} --data-dir ${join(dir, 'data')}`);
    expect(stdout).toContain('Everything checks out.');
    expect(code).toBe(0);
  }, 30_000);

  it('an older firmware fails with the flash command; a profile made for the other sensor fails', async () => {
    const dataDir = join(dir, 'data');
    const points = [0, 10, 20, 50].map((forceN) => ({ raw: forceN * 40_000, forceN, massKg: null, sdRaw: 12, kind: forceN === 0 ? ('zero' as const) : ('load' as const) }));
    new FileProfileStore(dataDir).append(deviceId, newProfileEntry(fitCalibration({ sensor: 'hx711', tareRaw: 0, points }, 'test'), { madeWith: 'command' }));
    const { code, stdout } = await doctor(['--scan', join(dir, 'ttyACM0'), '--data-dir', dataDir], { ...ONLY_NAMED, shippedVersion: '9.0.0' });
    expect(code).toBe(1);
    expect(stdout).toContain(`FAIL  firmware of ${deviceId} on ${join(dir, 'ttyACM0')}: ${shippedFirmwareVersion()}, older than the 9.0.0 this checkout ships\n      do: npm run flash -- --port ${join(dir, 'ttyACM0')} --sensor fsr\n`);
    expect(stdout).toContain(`FAIL  calibration of ${deviceId}: made for the hx711 build, but the device now runs fsr\n      do: npm run calibrate`);
    expect(stdout).toContain('2 problems found');
  }, 30_000);

  it('a data directory that cannot be made and a file that is no database fail, each with what to do', async () => {
    const notADirectory = join(dir, 'plain-file');
    await writeFile(notADirectory, 'x');
    const notADatabase = join(dir, 'notes.db');
    await writeFile(notADatabase, 'these are not SQLite pages, just text long enough to be read as a header '.repeat(4));
    const { code, stdout } = await doctor(['--data-dir', join(notADirectory, 'data'), '--db', notADatabase]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL {2}data directory \S+plain-file\/data: cannot be made, \S+plain-file is a file\n {6}do: move /);
    expect(stdout).toMatch(/FAIL {2}database \S+notes\.db: file is not a database\n {6}do: /);
    expect(stdout).toContain('warn  ports: none found');
  });
});

describe('npm run doctor on a bare machine', () => {
  it('names the missing packages per goal on a PATH without the toolchain', async () => {
    const bareBin = await mkdtemp(join(tmpdir(), 'knotmeter-bare-path-'));
    try {
      await Promise.all([symlink(process.execPath, join(bareBin, 'node')), symlink('/bin/bash', join(bareBin, 'bash'))]);
      const result = await new Promise<CliResult>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli/doctor.ts', '--data-dir', join(bareBin, 'data')], { cwd: REPO_ROOT, env: { ...process.env, PATH: bareBin }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('ok    system packages to run the server (npm start): all installed');
      expect(result.stdout).toContain(
        'FAIL  system packages to build the firmware (npm run firmware): missing gcc-avr binutils-avr make\n      do: sudo apt-get update && sudo apt-get install -y --no-install-recommends gcc-avr binutils-avr make   (all at once: sudo bash test/system-deps.sh)',
      );
      expect(result.stdout).toContain('FAIL  system packages to flash a board (npm run flash): missing gcc-avr binutils-avr make avrdude');
    } finally {
      await rm(bareBin, { recursive: true, force: true });
    }
  }, 30_000);

  it('refuses a Node older than package.json asks, saying what to install', () => {
    const old = checkNode('18.19.0');
    expect(old).toMatchObject({ status: 'FAIL', text: 'Node 18.19.0 is too old: the project needs 20.19.0 or later' });
    expect(old.fix).toContain('nvm install 20');
    expect(checkNode('20.19.0').status).toBe('ok');
  });
});
