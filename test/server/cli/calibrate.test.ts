// `npm run calibrate`, run as a user runs it: the non-interactive commands (fit, convert,
// show) end to end against a data directory, every bad input refused with exit 2 and a
// message naming it while nothing is saved, and the wizard driven through scripted input
// against the simulated calibration bench (fsr and hx711), including a tare refused
// while the massager moves. Then what issue 18 found: the wizard's closing hint run as
// printed, data directories that cannot be used (exit 1), one corrupt profile among
// others, the hx711 two-point fit, convert outside the calibrated range, per-command
// help and --version, repeated flags, and a load typed that is not the one on the tip.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { profileFileSchema } from '../../../calibration/profile.ts';
import { FileProfileStore } from '../../../calibration/store.ts';
import { defaultCalibration } from '../../../device/sensors.ts';
import { io } from 'socket.io-client';
import { serverEventSchemas, type DeviceInfo } from '../../../server/contract/live-events.ts';
import { REPO_ROOT, runTsx, waitForLine, type CliResult } from '../../support/cli.ts';
import { until } from '../../support/until.ts';

const CALIBRATE = 'server/cli/calibrate.ts';
const DEVICE = '1a2b3c4d';

/** Runs the command with `input` on its stdin (a person's answers, scripted). */
function runWithInput(args: readonly string[], input: string, options: { uid?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CALIBRATE, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], ...options });
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

/**
 * Each test with a data directory of its own, so that tests can run side by side (most of
 * their time is a CLI starting up). The wizards, which wait on the real-time bench, still
 * run one at a time: `test.concurrent` only where no wizard captures loads.
 */
const test = it.extend<{ dataDir: string }>({
  // eslint-disable-next-line no-empty-pattern
  dataDir: async ({}, use) => {
    const dir = await mkdtemp(join(tmpdir(), 'knotmeter-calibrate-'));
    await use(dir);
    await chmod(dir, 0o700);
    await rm(dir, { recursive: true, force: true });
  },
});

/** A device's profile file in a data directory. */
const profilePath = (dataDir: string, deviceId = DEVICE): string => join(dataDir, 'calibration', `${deviceId}.json`);

/** Points of an FSR part 1.25 times as sensitive as the documented curve. */
const FSR_POINTS = [5, 10, 20, 40, 60].map((forceN) => `${defaultCalibration('fsr').toRaw(forceN * 1.25)}:${forceN}`);

describe('npm run calibrate: fit, convert, show', () => {
  test.concurrent('fit saves a profile and prints it; convert prints newtons as a JSON array; show prints it with its history', { timeout: 120_000 }, async ({ dataDir }) => {
    const fit = await runTsx(CALIBRATE, ['fit', '--device-id', DEVICE, '--sensor', 'fsr', ...FSR_POINTS.flatMap((point) => ['--point', point]), '--data-dir', dataDir]);
    expect(fit.stderr).toBe('');
    expect(fit.code).toBe(0);
    expect(fit.stdout).toMatch(/Saved\.\nCalibration of device 1a2b3c4d \(fsr\)/);
    expect(fit.stdout).toMatch(/R² {8}(1\.0+|0\.99\d+), largest residual/);
    expect(fit.stdout).toMatch(/error {5}± \d+\.\d %/);
    const file = profileFileSchema.parse(JSON.parse(await readFile(profilePath(dataDir), 'utf8')));
    expect(file.history).toHaveLength(1);
    expect(file.history[0]).toMatchObject({ sensor: 'fsr', madeWith: 'command', reason: 'fit', areaCm2: 1.5, tareRaw: 0 });

    const raws = [0, defaultCalibration('fsr').toRaw(12.5), defaultCalibration('fsr').toRaw(56.25)];
    const convert = await runTsx(CALIBRATE, ['convert', '--device-id', DEVICE, '--data-dir', dataDir, ...raws.map(String)]);
    expect(convert.code).toBe(0);
    const forces = JSON.parse(convert.stdout) as number[];
    expect(forces[0]).toBe(0);
    expect(forces[1]).toBeCloseTo(10, 0);
    expect(forces[2]).toBeCloseTo(45, 0);
    const inKgf = await runTsx(CALIBRATE, ['convert', '--device-id', DEVICE, '--data-dir', dataDir, '--unit', 'kgf', String(raws[2])]);
    expect((JSON.parse(inKgf.stdout) as number[])[0]).toBeCloseTo((forces[2] ?? 0) / 9.80665, 5);

    // A second fit is added to the history; the first is kept.
    const again = await runTsx(CALIBRATE, ['fit', '--device-id', DEVICE, '--sensor', 'fsr', ...FSR_POINTS.slice(1).flatMap((point) => ['--point', point]), '--area-cm2', '2', '--data-dir', dataDir, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ areaCm2: 2, points: expect.any(Array) as unknown });
    const show = await runTsx(CALIBRATE, ['show', DEVICE, '--data-dir', dataDir]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/History \(oldest first; every entry is kept\):\n {4}1 .* fit, 5 points.*\n {4}2 .* fit, 4 points.*<- in force/);
    expect(JSON.parse((await runTsx(CALIBRATE, ['show', DEVICE, '--data-dir', dataDir, '--json'])).stdout)).toMatchObject({ deviceId: DEVICE, history: [{}, {}] });
  });

  test.concurrent('hx711 points with a tare and masses in kg', { timeout: 120_000 }, async ({ dataDir }) => {
    const result = await runTsx(CALIBRATE, ['fit', '--device-id', DEVICE, '--sensor', 'hx711', '--tare', '1000', '--point', '1000:0', '--point', '420700:1kg', '--point', '840400:2kg', '--data-dir', dataDir, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ fit: { model: 'linear' }, tareRaw: 1000 });
    const convert = await runTsx(CALIBRATE, ['convert', '--device-id', DEVICE, '--data-dir', dataDir, '630550']);
    expect((JSON.parse(convert.stdout) as number[])[0]).toBeCloseTo(1.5 * 9.80665, 3);
  });

  it.concurrent.each([
    ['fewer than 2 points', ['fit', '--device-id', DEVICE, '--sensor', 'fsr', '--point', '300:10'], /calibration for device 1a2b3c4d has only 1 point; at least 2 are needed: run `npm run calibrate`/],
    ['a duplicate raw value', ['fit', '--device-id', DEVICE, '--sensor', 'fsr', '--point', '300:10', '--point', '300:12'], /two points have the same raw value 300/],
    ['force not increasing with raw', ['fit', '--device-id', DEVICE, '--sensor', 'hx711', '--point', '1000:5', '--point', '2000:4'], /force does not increase with raw: 1000 counts at 5\.00 N but 2000 counts at 4\.00 N/],
    ['a negative mass', ['fit', '--device-id', DEVICE, '--sensor', 'hx711', '--point', '1000:1kg', '--point', '2000:-2kg'], /--point 2000:-2kg: the load -2 kg is negative/],
    ['a point that is not RAW:NEWTONS', ['fit', '--device-id', DEVICE, '--sensor', 'fsr', '--point', 'heavy'], /--point needs RAW:NEWTONS/],
    ['a device id that is not one', ['fit', '--device-id', 'kitchen', '--sensor', 'fsr', '--point', '300:10', '--point', '400:20'], /--device-id needs a device id: 8 lowercase hex digits/],
    ['an unknown sensor', ['fit', '--device-id', DEVICE, '--sensor', 'piezo'], /--sensor needs fsr or hx711/],
    ['an unknown device to convert', ['convert', '--device-id', 'deadbeef', '512'], /no calibration profile for device deadbeef in .*calibration: run `npm run calibrate`/],
    ['an unknown device to show', ['show', 'deadbeef'], /no calibration profile for device deadbeef/],
    ['an unknown command', ['calibrate-everything'], /unknown command "calibrate-everything"/],
    ['an unknown flag', ['fit', '--colour', 'red'], /unknown flag --colour/],
    ['a bad area', ['fit', '--device-id', DEVICE, '--sensor', 'fsr', '--point', '300:10', '--point', '400:20', '--area-cm2', '0'], /--area-cm2 needs an area in cm² above 0/],
    ['the wizard without a device', [], /the wizard needs --device SPEC/],
    ['the wizard with a bad device', ['--device', 'toaster'], /device spec "toaster": unknown device kind "toaster"/],
  ])('refuses %s with exit 2, naming it, and saves nothing', { timeout: 120_000 }, async (_name, args, message) => {
    const directory = await mkdtemp(join(tmpdir(), 'knotmeter-calibrate-bad-'));
    try {
      const result = await runTsx(CALIBRATE, [...args, '--data-dir', directory]);
      expect(result.stderr).toMatch(message);
      expect(result.code).toBe(2);
      expect(existsSync(join(directory, 'calibration', `${DEVICE}.json`))).toBe(false);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  test.concurrent('a corrupt profile file is named, never replaced by the default, and never saved over', { timeout: 120_000 }, async ({ dataDir }) => {
    const fit = await runTsx(CALIBRATE, ['fit', '--device-id', DEVICE, '--sensor', 'fsr', ...FSR_POINTS.flatMap((point) => ['--point', point]), '--data-dir', dataDir]);
    expect(fit.code).toBe(0);
    const corrupted = (await readFile(profilePath(dataDir), 'utf8')).replace('"sensor": "fsr"', '"sensor": "piezo"');
    await writeFile(profilePath(dataDir), corrupted);
    for (const args of [['convert', '--device-id', DEVICE, '512'], ['show', DEVICE], ['fit', '--device-id', DEVICE, '--sensor', 'fsr', ...FSR_POINTS.flatMap((point) => ['--point', point])]]) {
      const result = await runTsx(CALIBRATE, [...args, '--data-dir', dataDir]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`calibration profile ${profilePath(dataDir)} is not valid`);
      expect(result.stderr).toContain('it is not replaced by the default curve');
    }
    expect(await readFile(profilePath(dataDir), 'utf8')).toBe(corrupted);
  });
});

describe('npm run calibrate -- --device SPEC: the wizard, with scripted answers', () => {
  test('fsr: tare, four known loads captured as they settle, the fit with its residual table and plot, saved', { timeout: 60_000 }, async ({ dataDir }) => {
    const result = await runWithInput(['--device', 'sim:weights?loads=5,10,20,40&holdS=4&gain=1.2&speed=4', '--seed', '3', '--data-dir', dataDir], '\n5 N\n10 N\n20 N\n40 N\n\ny\n');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Tared: zero at \d+\.\d counts/);
    expect(result.stdout.match(/captured \d+\.\d{3} N at \d+\.\d counts/g)).toHaveLength(4);
    expect(result.stdout).toMatch(/#\s+raw\s+load N\s+fit N\s+residual N\s+left out N/);
    expect(result.stdout).toContain('N (o: the points, .: the fitted curve)');
    expect(result.stdout).toMatch(/http:\/\/127\.0\.0\.1:8080\/#\/calibration\/[0-9a-f]{8}/);
    const [, deviceId] = /Device ([0-9a-f]{8}) \(fsr\)/.exec(result.stdout) ?? [];
    const active = new FileProfileStore(dataDir).active(deviceId ?? '');
    expect(active).toMatchObject({ sensor: 'fsr', madeWith: 'wizard', reason: 'fit' });
    // The part reads 1.2 times the documented curve: the profile knows better.
    const partRaw = defaultCalibration('fsr').toRaw(30 * 1.2);
    const convert = await runTsx(CALIBRATE, ['convert', '--device-id', deviceId ?? '', '--data-dir', dataDir, String(partRaw)]);
    expect((JSON.parse(convert.stdout) as number[])[0]).toBeCloseTo(30, 0);
  });

  test('hx711: tare and one mass make a 2-point calibration, error unknown until more loads', { timeout: 60_000 }, async ({ dataDir }) => {
    const result = await runWithInput(['--device', 'sim:weights?sensor=hx711&rate=80&loads=9.80665&holdS=4&gain=0.95&speed=4', '--seed', '4', '--data-dir', dataDir], '\n1 kg\n\ny\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('(tare)');
    expect(result.stdout).toMatch(/error {5}error unknown .*\(too few points to tell: add loads for an error bar\)/);
    expect(result.stdout).toMatch(/Saved to .*calibration\/[0-9a-f]{8}\.json\./);
  });

  test('refuses to tare while the massager moves, and saves nothing when the person quits', { timeout: 60_000 }, async ({ dataDir }) => {
    const result = await runWithInput(['--device', 'sim:kneading?gain=1.1', '--seed', '5', '--data-dir', dataDir], '\nq\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/the reading is moving \(±\d+\.\d\d N, drifting \d+\.\d\d N; still is within ±\d\.\d\d N\): let the tip rest with nothing on it, then tare again\. Press Enter to try again, or q to quit\./);
    expect(result.stdout).toContain('Quit: nothing saved.');
    expect(existsSync(join(dataDir, 'calibration'))).toBe(false);
  });

  test('a typo, a repeated load and fewer than 2 points are refused and asked again; input that ends saves nothing', { timeout: 60_000 }, async ({ dataDir }) => {
    const result = await runWithInput(['--device', 'sim:weights?loads=5,10&holdS=4&gain=1.2&speed=4', '--seed', '6', '--data-dir', dataDir], '\nheavy\n5 N\n5 N\n\n');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('"heavy" is not a load: type a number and a unit');
    expect(result.stdout).toContain('there is already a point at 5.00 N');
    expect(result.stdout).toMatch(/has only 1 point; at least 2 are needed/);
    expect(result.stdout).toContain('The input ended before the calibration was saved: nothing saved.');
    expect(existsSync(join(dataDir, 'calibration'))).toBe(false);
  });
});

/** A user with no rights over a root-owned folder, when the tests run as root (root passes every permission check). */
const UNPRIVILEGED = process.getuid?.() === 0 ? { uid: 65_534, gid: 65_534 } : {};

describe('npm run calibrate: what the issue found (issue 18)', () => {
  test('the closing hint, typed as printed, runs the same device, which picks up the profile just saved', { timeout: 90_000 }, async ({ dataDir }) => {
    // No --seed: the simulator picks one, and the hint must carry it.
    const wizard = await runWithInput(['--device', 'sim:weights?loads=5,10&holdS=4&gain=1.2&speed=4', '--data-dir', join(dataDir, 'with space')], '\n5 N\n10 N\n\ny\n');
    expect(wizard.code).toBe(0);
    const [, command, deviceId] = /shows it too, live: (npm start -- .*), then http:\/\/127\.0\.0\.1:8080\/#\/calibration\/([0-9a-f]{8})/.exec(wizard.stdout) ?? [];
    expect(command).toMatch(/^npm start -- --data-dir '.*with space' --device 'sim:weights\?loads=5,10&holdS=4&gain=1\.2&speed=4&seed=\d+'$/);
    // The same words through a shell; `npm start` is `tsx server/cli/start.ts` (its prestart only builds the dashboard).
    const shellLine = `exec ${JSON.stringify(process.execPath)} --import tsx server/cli/start.ts ${(command ?? '').slice('npm start -- '.length)} --port 0 --log-level warn`;
    const server = spawn('sh', ['-c', shellLine], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const [, url] = await waitForLine(server, /Knotmeter dashboard: (http:\/\/127\.0\.0\.1:\d+)/);
      const client = io(url ?? '', { transports: ['websocket'], forceNew: true });
      let devices: DeviceInfo[] = [];
      client.on('devices', (payload) => (devices = serverEventSchemas.devices.parse(payload)));
      await until(() => devices.length === 1, 'the devices event');
      client.close();
      expect(devices[0]).toMatchObject({ deviceId, calibration: 'profile', calibrationDetail: { profile: { madeWith: 'wizard', points: 2 }, problem: null } });
    } finally {
      server.kill('SIGTERM');
      await once(server, 'close');
    }
  });

  test("another device's corrupt profile does not stop the wizard; the device's own is refused, naming its file", { timeout: 90_000 }, async ({ dataDir }) => {
    await mkdir(join(dataDir, 'calibration'));
    await writeFile(join(dataDir, 'calibration', `${DEVICE}.json`), '{"format": "knotmeter-calibration"');
    await writeFile(join(dataDir, 'calibration', 'notes.json'), 'not a profile');
    const spec = 'sim:weights?loads=5,10&holdS=4&gain=1.2&speed=4';
    const ok = await runWithInput(['--device', spec, '--seed', '8', '--data-dir', dataDir], '\n5 N\n10 N\n\ny\n');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const [, deviceId] = /Saved to .*calibration\/([0-9a-f]{8})\.json/.exec(ok.stdout) ?? [];
    const own = join(dataDir, 'calibration', `${deviceId ?? ''}.json`);
    await writeFile(own, '{"format": "knotmeter-calibration"');
    const refused = await runWithInput(['--device', spec, '--seed', '8', '--data-dir', dataDir], '\n5 N\n10 N\n\ny\n');
    expect(refused.stderr).toContain(`knotmeter calibrate: calibration profile ${own} is not valid JSON`);
    expect(refused.code).toBe(2);
    expect(await readFile(own, 'utf8')).toBe('{"format": "knotmeter-calibration"');
  });

  test.concurrent('a data directory that cannot be used is one line naming the folder and what to do, exit 1, for every command', { timeout: 120_000 }, async ({ dataDir }) => {
    const file = join(dataDir, 'not-a-folder');
    await writeFile(file, 'a file');
    const points = FSR_POINTS.flatMap((point) => ['--point', point]);
    for (const args of [['fit', '--device-id', DEVICE, '--sensor', 'fsr', ...points], ['show', DEVICE], ['convert', '--device-id', DEVICE, '300'], ['--device', 'sim:weights']]) {
      const result = await runTsx(CALIBRATE, [...args, '--data-dir', file]);
      expect(result.stderr).toMatch(new RegExp(`^knotmeter calibrate: cannot (save|read) (the )?calibration profiles? (in )?${file}/calibration.*: a part of that path is a file, not a folder \\(ENOTDIR.*\\): pass --data-dir with a folder\\n$`));
      expect(result.code).toBe(1);
    }
  });

  test.concurrent('a data directory without permission: fit, show, convert and the wizard say so in one line, exit 1', { timeout: 120_000 }, async ({ dataDir }) => {
    const fit = await runTsx(CALIBRATE, ['fit', '--device-id', DEVICE, '--sensor', 'fsr', ...FSR_POINTS.flatMap((point) => ['--point', point]), '--data-dir', dataDir]);
    expect(fit.code).toBe(0);
    await chmod(dataDir, 0o500);
    await chmod(join(dataDir, 'calibration'), 0o000);
    const runs = [
      [['fit', '--device-id', 'deadbeef', '--sensor', 'fsr', ...FSR_POINTS.flatMap((point) => ['--point', point])], /cannot (read|save) the calibration profile .*deadbeef\.json.*: permission denied/],
      [['show', DEVICE], /cannot read the calibration profile .*1a2b3c4d\.json: permission denied \(EACCES.*\): give your user access to it, or pass --data-dir with a folder you can write to/],
      [['convert', '--device-id', DEVICE, '300'], /cannot read the calibration profile .*: permission denied/],
      [['--device', 'sim:weights'], /cannot save calibration profiles in .*\/calibration: permission denied/],
    ] as const;
    for (const [args, message] of runs) {
      const result = await runWithInput([...args, '--data-dir', dataDir], '', UNPRIVILEGED);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.code).toBe(1);
    }
    await chmod(join(dataDir, 'calibration'), 0o700);
  });

  test.concurrent('hx711: --tare and one mass is the two-point calibration the README describes; one point and no tare is still refused', { timeout: 120_000 }, async ({ dataDir }) => {
    const two = await runTsx(CALIBRATE, ['fit', '--device-id', DEVICE, '--sensor', 'hx711', '--tare', '1000', '--point', '420700:1kg', '--data-dir', dataDir, '--json']);
    expect(two.stderr).toBe('');
    expect(two.code).toBe(0);
    const entry = JSON.parse(two.stdout) as { points: { forceN: number; kind: string }[]; stats: { error: unknown } };
    expect(entry.points.map((point) => [point.kind, point.forceN])).toEqual([['zero', 0], ['load', 9.80665]]);
    expect(entry.stats.error).toBeNull();
    const convert = await runTsx(CALIBRATE, ['convert', '--device-id', DEVICE, '--data-dir', dataDir, '210850']);
    expect((JSON.parse(convert.stdout) as number[])[0]).toBeCloseTo(9.80665 / 2, 4);
    for (const args of [['--sensor', 'hx711', '--point', '420700:1kg'], ['--sensor', 'fsr', '--tare', '2', '--point', '300:10']]) {
      const one = await runTsx(CALIBRATE, ['fit', '--device-id', 'deadbeef', ...args, '--data-dir', dataDir]);
      expect(one.stderr).toMatch(/calibration for device deadbeef has only 1 point; at least 2 are needed/);
      expect(one.code).toBe(2);
    }
  });

  test.concurrent('convert names a count outside the calibrated range on stderr (stdout stays a JSON array) and refuses one the sensor cannot report', { timeout: 120_000 }, async ({ dataDir }) => {
    expect((await runTsx(CALIBRATE, ['fit', '--device-id', DEVICE, '--sensor', 'fsr', '--point', '171:5', '--point', '293:10', '--point', '455:20', '--point', '630:40', '--data-dir', dataDir])).code).toBe(0);
    const inside = await runTsx(CALIBRATE, ['convert', '--device-id', DEVICE, '--data-dir', dataDir, '0', '250', '512']);
    expect(inside.stderr).toBe('');
    const outside = await runTsx(CALIBRATE, ['convert', '--device-id', DEVICE, '--data-dir', dataDir, '250', '1000']);
    expect(outside.code).toBe(0);
    expect(JSON.parse(outside.stdout)).toHaveLength(2);
    expect(outside.stderr).toBe(
      'knotmeter calibrate: warning: raw 1000 is past the heaviest calibration point: its 1088.91 N is extrapolated, with no error bar (the calibrated range is 0 (the tare, 0 N) to 630 counts (40.00 N)); calibrate with a heavier load to cover it\n',
    );
    const impossible = await runTsx(CALIBRATE, ['convert', '--device-id', DEVICE, '--data-dir', dataDir, '5000']);
    expect(impossible.stderr).toBe('knotmeter calibrate: raw 5000 is outside what an fsr can report (0 to 1023 counts): check the number\n');
    expect(impossible.stdout).toBe('');
    expect(impossible.code).toBe(2);
  });

  test.concurrent('each command has its own --help; --version prints the version', { timeout: 120_000 }, async () => {
    const pages = await Promise.all([['fit', '--help'], ['convert', '-h'], ['show', '--help'], ['wizard', '--help'], ['--device', 'sim', '--help'], ['--help'], ['help', 'fit']].map((args) => runTsx(CALIBRATE, args)));
    const [fit, convert, show, wizard, wizardByDevice, overview, helpFit] = pages.map((page) => page.stdout);
    expect(pages.every((page) => page.code === 0)).toBe(true);
    expect(fit).toMatch(/^Usage: npm run calibrate -- fit --device-id ID/);
    expect(fit).toContain('--tare RAW');
    expect(fit).not.toContain('--unit');
    expect(convert).toMatch(/^Usage: npm run calibrate -- convert/);
    expect(convert).toContain('--unit UNIT');
    expect(show).toMatch(/^Usage: npm run calibrate -- show ID/);
    expect(wizard).toMatch(/^Usage: npm run calibrate -- \[wizard\] --device SPEC/);
    expect(wizardByDevice).toBe(wizard);
    expect(overview).toContain('COMMAND --help');
    expect(helpFit).toBe(fit);
    const version = await runTsx(CALIBRATE, ['--version']);
    const { version: expected } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout).toBe(`knotmeter ${expected}\n`);
    expect(version.code).toBe(0);
  });

  test.concurrent('a flag given twice is refused rather than the last one winning silently', { timeout: 120_000 }, async ({ dataDir }) => {
    const result = await runTsx(CALIBRATE, ['fit', '--device-id', DEVICE, '--sensor', 'fsr', '--sensor', 'hx711', '--point', '300:10', '--data-dir', dataDir]);
    expect(result.stderr).toBe('knotmeter calibrate: --sensor is given 2 times ("fsr", "hx711"): give it once\n');
    expect(result.code).toBe(2);
  });

  test.concurrent('a relative --data-dir is where the user typed npm run calibrate, not the project folder', { timeout: 120_000 }, async ({ dataDir }) => {
    const env = { ...process.env, npm_lifecycle_event: 'calibrate', INIT_CWD: dataDir };
    const result = await runWithInput(['fit', '--device-id', DEVICE, '--sensor', 'fsr', ...FSR_POINTS.flatMap((point) => ['--point', point]), '--data-dir', 'here'], '', { env });
    expect(result.code).toBe(0);
    expect(existsSync(join(dataDir, 'here', 'calibration', `${DEVICE}.json`))).toBe(true);
  });

  test('the wizard refuses a load typed that is not the one on the tip, and asks before keeping it', { timeout: 90_000 }, async ({ dataDir }) => {
    // After 5 N, "5 kg" is typed while 10 N goes on: refused and not kept (n); then 10 N and 20 N as they come.
    const result = await runWithInput(['--device', 'sim:weights?loads=5,10,20&holdS=8&gain=1.2&speed=4', '--seed', '9', '--data-dir', dataDir], '\n5 N\n5 kg\nn\n10 N\n20 N\n\ny\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/the load settled at \d+\.\d counts, 12\.\d\d N by the current curve: 0\.2\d times the 5 kg \(49\.03 N\) typed, where a part reads 0\.4 to 2\.5 times its curve: check that the load typed is the one on the tip/);
    expect(result.stdout).toContain('Keep the load on the tip now as 5 kg anyway? [y/N] n');
    expect(result.stdout).toContain('Not captured.');
    expect(result.stdout.match(/captured \d+\.\d{3} N/g)).toEqual(['captured 5.000 N', 'captured 10.000 N', 'captured 20.000 N']);
  });
});
