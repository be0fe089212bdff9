// Calibration through the live stream, with a real server and socket.io client on the
// simulated calibration bench: a device without a profile is uncalibrated, every request
// is validated and bad ones refused with a message (nothing saved), the page's flow (tare,
// captures, save) makes a profile that the device's pipeline converts with at once, a tare
// re-zeros the profile in force, a profile saved by another process is picked up, and a
// corrupt profile file is named on the device rather than passed over.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCalibration } from '../../../device/sensors.ts';
import type { CalibrationState } from '../../../calibration/messages.ts';
import { fitCalibration } from '../../../calibration/fit.ts';
import { newProfileEntry, profileCalibration } from '../../../calibration/profile.ts';
import { FileProfileStore } from '../../../calibration/store.ts';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import { commandReplySchema, serverEventSchemas, type ClientToServerEvents, type DeviceInfo, type ReadingsBatch, type ServerToClientEvents } from '../../../server/contract/live-events.ts';
import { runTsx } from '../../support/cli.ts';
import { until } from '../../support/until.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/** The part reads 1.2 times what the documented curve says. */
const GAIN = 1.2;
const BENCH = `sim:weights?loads=10,20,40&holdS=5&gain=${GAIN}&speed=2`;

function start(devices: readonly string[], dataDir: string): Promise<RunningServer> {
  return startServer({ host: '127.0.0.1', port: 0, devices, seed: 77, engine: { preset: 'shoulders', config: presetConfig('shoulders') }, logger: pino({ level: 'silent' }), dataDir });
}

interface Heard {
  devices: DeviceInfo[];
  calibration: Map<string, CalibrationState>;
  readings: ReadingsBatch[];
}

function connect(url: string): { client: Client; heard: Heard } {
  const client: Client = io(url, { transports: ['websocket'], forceNew: true });
  const heard: Heard = { devices: [], calibration: new Map(), readings: [] };
  client.on('devices', (payload) => (heard.devices = serverEventSchemas.devices.parse(payload)));
  client.on('calibration', (payload) => {
    const state = serverEventSchemas.calibration.parse(payload);
    heard.calibration.set(state.deviceId, state);
  });
  client.on('readings', (payload) => {
    heard.readings.push(...serverEventSchemas.readings.parse(payload));
    if (heard.readings.length > 400) heard.readings.splice(0, 200);
  });
  return { client, heard };
}

async function ask(client: Client, event: keyof ClientToServerEvents, payload: unknown, timeoutMs = 40_000): Promise<{ ok: true } | { ok: false; error: string }> {
  const emit = client.timeout(timeoutMs).emitWithAck.bind(client.timeout(timeoutMs)) as (event: string, payload: unknown) => Promise<unknown>;
  return commandReplySchema.parse(await emit(event, payload));
}

/** The newest raw counts of a device, last `count` of them. */
function latestRaw(heard: Heard, deviceId: string, count: number): number[] {
  return heard.readings.filter((batch) => batch.deviceId === deviceId).flatMap((batch) => batch.raw).slice(-count);
}

describe('calibration on the live stream', () => {
  let dataDir: string;
  let server: RunningServer;
  let client: Client;
  let heard: Heard;
  let deviceId: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'knotmeter-live-calibration-'));
    server = await start([BENCH], dataDir);
    ({ client, heard } = connect(server.url));
    await until(() => heard.devices.length === 1 && heard.calibration.size === 1, 'the device and its calibration state');
    deviceId = heard.devices[0]?.deviceId ?? '';
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a device without a profile is uncalibrated: the default curve, 1.5 cm², no history', () => {
    expect(heard.devices[0]).toMatchObject({ calibration: 'default', calibrationDetail: { areaCm2: 1.5, profile: null, problem: null } });
    expect(heard.calibration.get(deviceId)).toMatchObject({ sensor: 'fsr', tare: null, points: [], fit: null, history: [], historyError: null });
  });

  it.each([
    ['an unknown device', 'calibrationTare', { deviceId: 'deadbeef' }, /no device deadbeef on this server \(the devices are: [0-9a-f]{8}\)/],
    ['a malformed request', 'calibrationCapture', { deviceId: 'x', value: 'ten', unit: 'kg' }, /calibrationCapture: value: /],
    ['an unknown unit', 'calibrationCapture', { deviceId: 'x', value: 1, unit: 'stone' }, /calibrationCapture: unit: /],
    ['a capture before the tare', 'calibrationCapture', { value: 1, unit: 'kg' }, /tare first \(nothing on the tip\)/],
    ['saving fewer than 2 points', 'calibrationSave', { areaCm2: 1.5 }, /tare first/],
    ['an area of 0', 'calibrationSave', { areaCm2: 0 }, /calibrationSave: areaCm2: /],
    ['removing a point that is not there', 'calibrationRemovePoint', { index: 4 }, /there is no point 5 \(there are 0 points\)/],
  ])('refuses %s, naming it, and saves nothing', async (_name, event, payload, message) => {
    const reply = await ask(client, event as keyof ClientToServerEvents, { deviceId, ...payload });
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.error).toMatch(message);
    expect(server.profiles.read(deviceId)).toBeNull();
  });

  it('tare, three captures and save: the pipeline converts with the new profile at once', { timeout: 120_000 }, async () => {
    // Tare while nothing is on the tip (the bench rests unloaded between rounds).
    await until(() => {
      const raw = latestRaw(heard, deviceId, 150);
      return raw.length === 150 && raw.every((value) => value < 10);
    }, 'the bench to rest unloaded', 60_000);
    const tare = await ask(client, 'calibrationTare', { deviceId });
    expect(tare).toEqual({ ok: true });
    expect(heard.calibration.get(deviceId)?.tare?.raw).toBeLessThan(10);
    await expect(ask(client, 'calibrationCapture', { deviceId, value: -1, unit: 'kg' })).resolves.toEqual({ ok: false, error: expect.stringMatching(/negative/) as unknown });

    const progress: CalibrationState['capture'][] = [];
    const watching = setInterval(() => progress.push(heard.calibration.get(deviceId)?.capture ?? null), 50);
    try {
      for (const forceN of [10, 20, 40]) await expect(ask(client, 'calibrationCapture', { deviceId, value: forceN, unit: 'N' })).resolves.toEqual({ ok: true });
    } finally {
      clearInterval(watching);
    }
    expect(progress.some((capture) => capture?.phase === 'settling' && capture.fraction > 0 && capture.fraction < 1)).toBe(true);
    await until(() => heard.calibration.get(deviceId)?.fit?.points.length === 3, 'the fit of the points');
    const preview = heard.calibration.get(deviceId)?.fit;
    expect(preview?.points.map((point) => point.forceN)).toEqual([10, 20, 40]);

    expect(await ask(client, 'calibrationSave', { deviceId, areaCm2: 2 })).toEqual({ ok: true });
    await until(() => heard.devices[0]?.calibration === 'profile', 'the device to switch to its profile');
    expect(heard.devices[0]?.calibrationDetail).toMatchObject({ areaCm2: 2, profile: { madeWith: 'dashboard', reason: 'fit', points: 3 }, problem: null });
    await until(() => heard.calibration.get(deviceId)?.history.length === 1, 'the history to show the save');

    // Readings now come through the profile: the part's true forces, not the default curve's 1.2 times them.
    const profile = profileCalibration(server.profiles.active(deviceId) ?? expect.fail('no profile'));
    const savedAt = heard.readings.length;
    await until(() => heard.readings.length > savedAt + 10, 'readings after the save');
    const after = heard.readings.slice(savedAt + 2).filter((batch) => batch.deviceId === deviceId);
    for (const batch of after) batch.raw.forEach((raw, index) => expect(batch.forceN[index]).toBe(profile.toNewtons(raw)));
    const partRaw = defaultCalibration('fsr').toRaw(20 * GAIN);
    expect(profile.toNewtons(partRaw)).toBeCloseTo(20, 0);
  });

  it('a tare re-zeros the profile in force (a new history entry, same curve)', { timeout: 60_000 }, async () => {
    await until(() => {
      const raw = latestRaw(heard, deviceId, 150);
      return raw.length === 150 && raw.every((value) => value < 10);
    }, 'the bench to rest unloaded', 60_000);
    expect(await ask(client, 'calibrationTare', { deviceId })).toEqual({ ok: true });
    const history = server.profiles.read(deviceId)?.history ?? [];
    expect(history.map((entry) => entry.reason)).toEqual(['fit', 'tare']);
    expect(history[1]?.fit).toEqual(history[0]?.fit);
    await until(() => heard.devices[0]?.calibrationDetail?.profile?.reason === 'tare', 'the device to use the re-tared profile');
  });

  it('picks up a profile saved by npm run calibrate in another process', { timeout: 60_000 }, async () => {
    const points = [5, 15, 45].flatMap((forceN) => ['--point', `${defaultCalibration('fsr').toRaw(forceN * GAIN)}:${forceN}`]);
    const result = await runTsx('server/cli/calibrate.ts', ['fit', '--device-id', deviceId, '--sensor', 'fsr', ...points, '--data-dir', dataDir]);
    expect(result.code).toBe(0);
    await until(() => heard.devices[0]?.calibrationDetail?.profile?.madeWith === 'command', 'the device to use the profile saved from the terminal');
    await until(() => heard.calibration.get(deviceId)?.history.length === 3, 'the history to show it');
  });
});

describe('a corrupt profile file', () => {
  it('is named on its device (which runs uncalibrated, visibly), never silently replaced', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'knotmeter-corrupt-profile-'));
    const probe = await start([BENCH], dataDir);
    const deviceId = probe.pipelines[0]?.info?.deviceId ?? '';
    await probe.close();
    await mkdir(join(dataDir, 'calibration'), { recursive: true });
    const path = join(dataDir, 'calibration', `${deviceId}.json`);
    await writeFile(path, '{"format": "knotmeter-calibration", "version": 1');
    const server = await start([BENCH], dataDir);
    const { client, heard } = connect(server.url);
    try {
      await until(() => heard.devices.length === 1 && heard.calibration.size === 1, 'the device');
      expect(heard.devices[0]).toMatchObject({ calibration: 'default', calibrationDetail: { profile: null, problem: expect.stringContaining(`calibration profile ${path} is not valid JSON`) as unknown } });
      expect(heard.calibration.get(deviceId)?.historyError).toContain(path);
      expect(new FileProfileStore(dataDir).problems()).toHaveLength(1);
    } finally {
      client.close();
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a replay', () => {
  it('is never converted through a profile, and cannot be calibrated', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'knotmeter-replay-calibration-'));
    const replay = 'replay:test/fixtures/traces/example_overpressure.csv';
    const probe = await start([replay], dataDir);
    const deviceId = probe.pipelines[0]?.info?.deviceId ?? '';
    await probe.close();
    const points = [300, 460].map((raw, index) => ({ raw, forceN: 10 * (index + 1), massKg: null, sdRaw: null, kind: 'load' as const }));
    new FileProfileStore(dataDir).append(deviceId, newProfileEntry(fitCalibration({ sensor: 'fsr', tareRaw: 0, points }, 'test'), { madeWith: 'command' }));
    const server = await start([replay], dataDir);
    const { client, heard } = connect(server.url);
    try {
      await until(() => heard.devices.length === 1, 'the device');
      expect(heard.devices[0]?.calibration).not.toBe('profile');
      const reply = await ask(client, 'calibrationTare', { deviceId });
      expect(reply).toEqual({ ok: false, error: `device ${deviceId} is a replay: its forces were calibrated when they were recorded; calibrate the device that recorded them` });
    } finally {
      client.close();
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the dashboard calibration checks the reading against what the person says (issue 18)', () => {
  it('a tare with a load on the tip and a load typed far from the one on it are refused, saying so; a confirmed capture is kept', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'knotmeter-plausible-'));
    const server = await start([BENCH], dataDir);
    const { client, heard } = connect(server.url);
    try {
      await until(() => heard.devices.length === 1 && heard.calibration.size === 1, 'the device');
      const deviceId = heard.devices[0]?.deviceId ?? '';
      const restingAt = (low: number, high: number) => (): boolean => {
        const raw = latestRaw(heard, deviceId, 150);
        return raw.length === 150 && raw.every((value) => value > low && value < high);
      };
      // 10 N on a part 1.2 times as sensitive: about 293 counts.
      await until(restingAt(250, 340), 'the bench to rest under its first load', 60_000);
      const loaded = await ask(client, 'calibrationTare', { deviceId });
      expect(loaded).toEqual({ ok: false, confirmable: true, error: expect.stringMatching(/the tip does not look bare: it reads \d+\.\d counts, \d+\.\d\d N by the current curve \(a bare FSR reads a few counts\): take everything off the tip and tare again; if nothing is on it, confirm to tare anyway/) as unknown });
      expect(heard.calibration.get(deviceId)?.tare).toBeNull();

      await until(restingAt(-1, 10), 'the bench to rest unloaded', 60_000);
      expect(await ask(client, 'calibrationTare', { deviceId })).toEqual({ ok: true });
      // Typed 100 N while 10 N (or the next load) goes on: far more than 2.5 times off.
      const wrong = await ask(client, 'calibrationCapture', { deviceId, value: 100, unit: 'N' });
      expect(wrong).toEqual({ ok: false, confirmable: true, error: expect.stringMatching(/the load settled at \d+\.\d counts, \d+\.\d\d N by the current curve: 0\.\d\d times the 100\.00 N typed, where a part reads 0\.4 to 2\.5 times its curve: check that the load typed is the one on the tip/) as unknown });
      expect(heard.calibration.get(deviceId)?.points).toEqual([]);
      expect(await ask(client, 'calibrationCapture', { deviceId, value: 100, unit: 'N', confirm: true })).toEqual({ ok: true });
      await until(() => heard.calibration.get(deviceId)?.points.length === 1, 'the confirmed point');
      expect(heard.calibration.get(deviceId)?.points[0]?.forceN).toBe(100);
    } finally {
      client.close();
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
