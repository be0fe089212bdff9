// A calibrated emulated massager, end to end: our hx711 firmware running in simavr, read by
// the emulator transport (the serial transport on the harness's pty), through a pipeline
// that finds the device's profile by its id. The socket stream carries newtons through
// the profile (not the default curve), and the firmware's own over-pressure alarm is set
// to the profile's inverse of the preset's limit: the HELLO the firmware sends from its
// EEPROM after a reset says so, and says so again for a profile saved while it runs. Its
// TARE goes through too.
import { createServer, type Server as HttpServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCalibration } from '../../device/sensors.ts';
import { fitCalibration } from '../../calibration/fit.ts';
import { newProfileEntry, profileCalibration, type ProfileEntry } from '../../calibration/profile.ts';
import { FileProfileStore } from '../../calibration/store.ts';
import { parseDeviceSpec } from '../../device/device-spec.ts';
import { createTransport } from '../../device/registry.ts';
import { EmulatorTransport, parseEmulatorSpec } from '../../device/transports/emulator.ts';
import type { SerialDeviceEvent } from '../../device/transports/serial.ts';
import { presetConfig } from '../../server/engine/presets.ts';
import { LiveBroadcaster } from '../../server/live/broadcaster.ts';
import { serverEventSchemas, type ClientToServerEvents, type DeviceInfo, type ReadingsBatch, type ServerToClientEvents } from '../../server/contract/live-events.ts';
import { DevicePipeline, fanOut } from '../../server/pipeline.ts';
import { until } from '../support/until.ts';

const SPEC = 'emulator:hx711?scenario=idle&seed=1';
const SHOULDERS = presetConfig('shoulders');

/** A load cell `countsPerN` counts per newton (the documented default is 42 800). */
function linearProfile(countsPerN: number): ProfileEntry {
  const points = [0, 10, 30].map((forceN) => ({ raw: forceN * countsPerN, forceN, massKg: null, sdRaw: null, kind: forceN === 0 ? ('zero' as const) : ('load' as const) }));
  return newProfileEntry(fitCalibration({ sensor: 'hx711', tareRaw: 0, points }, 'test'), { madeWith: 'command' });
}

describe('a calibrated emulated massager (hx711 firmware in simavr)', () => {
  let dataDir: string;
  let store: FileProfileStore;
  let transport: EmulatorTransport;
  let pipeline: DevicePipeline;
  let http: HttpServer;
  let broadcaster: LiveBroadcaster;
  let client: Socket<ServerToClientEvents, ClientToServerEvents>;
  const heard: { devices: DeviceInfo[]; readings: ReadingsBatch[] } = { devices: [], readings: [] };
  const hellos: Extract<SerialDeviceEvent, { type: 'hello' }>[] = [];
  const deviceId = parseEmulatorSpec(parseDeviceSpec(SPEC), { instance: 0, seed: 1 }).deviceId;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'knotmeter-emulated-calibration-'));
    store = new FileProfileStore(dataDir);
    store.append(deviceId, linearProfile(40_000));
    const created = createTransport(SPEC, { instance: 0, seed: 1 });
    if (!(created.transport instanceof EmulatorTransport)) throw new Error('not the emulator transport');
    transport = created.transport;
    transport.onDeviceEvent((event) => {
      if (event.type === 'hello') hellos.push(event);
    });
    http = createServer();
    broadcaster = new LiveBroadcaster(http, { sessions: () => [pipeline.session()], selectPreset: () => undefined });
    pipeline = new DevicePipeline(created, { preset: 'shoulders', config: SHOULDERS }, fanOut(broadcaster), store);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const address = http.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    client = io(`http://127.0.0.1:${address.port}`, { transports: ['websocket'], forceNew: true });
    client.on('devices', (payload) => (heard.devices = serverEventSchemas.devices.parse(payload)));
    client.on('readings', (payload) => heard.readings.push(...serverEventSchemas.readings.parse(payload)));
    await pipeline.start();
  });
  afterAll(async () => {
    client.close();
    await pipeline.stop();
    await broadcaster.close();
    store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Resets the AVR and resolves with the limits its HELLO reports from EEPROM. */
  async function limitsAfterReset(): Promise<{ onRaw: number; offRaw: number }> {
    const before = hellos.length;
    await transport.emulator?.reset();
    // The HELLO the firmware sends as it boots (not an answer to the transport's INFO).
    const bootHello = (): SerialDeviceEvent | undefined => hellos.slice(before).find((event) => event.boot);
    await until(() => bootHello() !== undefined, 'the HELLO of the reset firmware', 30_000);
    const hello = hellos.slice(before).find((event) => event.boot)?.hello;
    if (hello === undefined) throw new Error('no HELLO');
    return { onRaw: hello.limitOnRaw, offRaw: hello.limitOffRaw };
  }

  it('shows newtons through its profile in the socket stream', { timeout: 60_000 }, async () => {
    await until(() => heard.devices[0]?.calibration === 'profile', 'the device on its profile', 30_000);
    expect(heard.devices[0]).toMatchObject({ deviceId, sensor: 'hx711', transport: 'emulator' });
    await until(() => heard.readings.flatMap((batch) => batch.raw).filter((raw) => raw > 0).length > 20, 'readings from the firmware', 30_000);
    const profile = profileCalibration(store.active(deviceId) ?? expect.fail('no profile'));
    const defaults = defaultCalibration('hx711');
    for (const batch of heard.readings) {
      batch.raw.forEach((raw, index) => {
        expect(batch.forceN[index]).toBe(profile.toNewtons(raw));
        if (raw > 100) expect(batch.forceN[index]).not.toBe(defaults.toNewtons(raw));
      });
    }
  });

  it('takes TARE through the pipeline (what calibration\'s tare sends an hx711)', { timeout: 30_000 }, async () => {
    await until(() => heard.devices[0]?.calibration === 'profile', 'the device on its profile', 30_000);
    // The firmware refuses TARE until it has 16 conversions: wait until 16 samples came in.
    await until(() => heard.readings.reduce((count, batch) => count + batch.raw.length, 0) >= 16, "the firmware's first 16 conversions", 30_000);
    await expect(pipeline.deviceTare?.()).resolves.toBeUndefined();
  });

  it('sets the firmware LIMIT to the inverse of the preset over-pressure limit, and again for a profile saved while it runs', { timeout: 120_000 }, async () => {
    await until(() => heard.devices[0]?.calibration === 'profile', 'the device on its profile', 30_000);
    const first = profileCalibration(store.active(deviceId) ?? expect.fail('no profile'));
    // The LIMIT goes out once the device is known and is ACKed after its EEPROM write: a
    // busy machine may take a while, so look (reset, read the boot HELLO) until it is there.
    const firmwareLimits = { timeout: 40_000, interval: 500 };
    await expect.poll(limitsAfterReset, firmwareLimits).toEqual({ onRaw: first.toRaw(SHOULDERS.overLimitN), offRaw: first.toRaw(SHOULDERS.overClearN) });
    expect(first.toRaw(SHOULDERS.overLimitN)).not.toBe(defaultCalibration('hx711').toRaw(SHOULDERS.overLimitN));

    const createdAt = heard.devices[0]?.calibrationDetail?.profile?.createdAt;
    store.append(deviceId, linearProfile(36_000));
    await until(() => heard.devices[0]?.calibrationDetail?.profile?.createdAt !== createdAt, 'the device on its new profile', 10_000);
    const second = profileCalibration(store.active(deviceId) ?? expect.fail('no profile'));
    await expect.poll(limitsAfterReset, firmwareLimits).toEqual({ onRaw: second.toRaw(SHOULDERS.overLimitN), offRaw: second.toRaw(SHOULDERS.overClearN) });
  });
});
