// `npm run calibrate` refuses to save a calibration off by 10x unless confirmed: `fit`
// exits 2 naming the change (nothing saved) and saves with --confirm-change; the wizard
// says what the change is and asks [y/N] before saving, run against the simulated bench
// with loads typed ten times too light (the issue's attack: 50 g and 100 g on about
// 4.9 N and 9.8 N).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileProfileStore } from '../../../calibration/store.ts';
import { defaultCalibration } from '../../../device/sensors.ts';
import { REPO_ROOT, runTsx, type CliResult } from '../../support/cli.ts';

const CALIBRATE = 'server/cli/calibrate.ts';
const DEVICE = '1a2b3c4d';

/** An hx711 at the default curve with 4.9 N and 9.8 N on it, typed as `grams` each. */
function points(grams: readonly [number, number]): string[] {
  const raws = [4.903325, 9.80665].map((forceN) => defaultCalibration('hx711').toRaw(forceN));
  return raws.flatMap((raw, index) => ['--point', `${raw}:${grams[index] ?? 0}g`]);
}

function runWithInput(args: readonly string[], input: string): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CALIBRATE, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run calibrate: a calibration off by 10x needs confirmation', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'knotmeter-save-guard-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('fit refuses it with exit 2 naming the change, saves it with --confirm-change, and then refuses the right one back', { timeout: 90_000 }, async () => {
    const base = ['fit', '--device-id', DEVICE, '--sensor', 'hx711', '--tare', '0', '--data-dir', dataDir];
    const refused = await runTsx(CALIBRATE, [...base, ...points([50, 100])]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /^knotmeter calibrate: calibration for device 1a2b3c4d: this calibration reads 9\.8\d N as 0\.98 N: 90 % lower than the sensor's default curve \(no profile yet\) at 9\.8\d N: an over-pressure warning would come only at about 10\.0 times the force it comes at now .*confirm to save it by running again with --confirm-change; nothing saved\n$/,
    );
    expect(existsSync(join(dataDir, 'calibration', `${DEVICE}.json`))).toBe(false);

    const confirmed = await runTsx(CALIBRATE, [...base, ...points([50, 100]), '--confirm-change']);
    expect(confirmed.code).toBe(0);
    expect(new FileProfileStore(dataDir).read(DEVICE)?.history).toHaveLength(1);

    // Against the profile in force now, the right calibration reads ten times higher: confirmed too, or refused.
    const back = await runTsx(CALIBRATE, [...base, ...points([500, 1000])]);
    expect(back.code).toBe(2);
    expect(back.stderr).toMatch(/this calibration reads 0\.98 N as 9\.8\d N: \d+ % higher than the profile in force at 0\.98 N/);
    expect(new FileProfileStore(dataDir).read(DEVICE)?.history).toHaveLength(1);
    const help = await runTsx(CALIBRATE, ['fit', '--help']);
    expect(help.stdout).toContain('--confirm-change save it even though it moves forces by more than 25 %');
  });

  it('the wizard shows the change and saves nothing unless the answer is yes', { timeout: 90_000 }, async () => {
    // 5 N and 10 N go on the bench; they are typed as 0.5 N and 1 N, each kept anyway (y), then saved (Enter), then asked: n.
    const result = await runWithInput(['--device', 'sim:weights?loads=5,10&holdS=12&speed=4', '--seed', '5', '--data-dir', dataDir], '\n0.5 N\ny\n1 N\ny\n\n\nn\n');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.match(/captured \d+\.\d{3} N/g)).toEqual(['captured 0.500 N', 'captured 1.000 N']);
    expect(result.stdout).toMatch(/Careful: this calibration reads \d+\.\d\d N as \d+\.\d\d N: 9\d % lower than the sensor's default curve \(no profile yet\)/);
    expect(result.stdout).toContain('Save it anyway? [y/N] n');
    expect(result.stdout).toContain('Nothing saved. Check the loads, then calibrate again.');
    const [, deviceId] = /Device ([0-9a-f]{8}) \(fsr\)/.exec(result.stdout) ?? [];
    expect(deviceId).toBeDefined();
    expect(new FileProfileStore(dataDir).read(deviceId ?? '')).toBeNull();
  });
});
