// A StandardFirmata board (the real hex, emulated) driving the real server: the Firmata
// transport, the pipeline with the default FSR calibration, the pressure engine and the
// live socket.io stream to a real client. An over-pressure push on A0 raises the engine's
// warning, and D13, D6 and D9 follow it on the board as the emulator reports them; then
// `firmata:emulator` and `--device-id` as `npm start` would run them.
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../../device/emulator/emulator.ts';
import { BUZZER_DUTY, MOTOR_DUTY } from '../../../device/firmata/local-alarm.ts';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import { serverEventSchemas, type DeviceInfo, type DeviceStatus, type EngineEvents } from '../../../server/contract/live-events.ts';
import { startTestServer } from '../../support/server.ts';
import { until } from '../serial/support/recorder.ts';
import { PinLog, startFirmataEmulator } from './support.ts';

let server: RunningServer | null = null;
let client: Socket | null = null;
let emulator: Emulator | null = null;

afterEach(async () => {
  client?.close();
  await server?.close();
  await emulator?.stop();
  client = null;
  server = null;
  emulator = null;
});

interface Seen {
  readonly engine: EngineEvents['events'];
  readonly statuses: DeviceStatus[];
  readonly devices: DeviceInfo[][];
  readings: number;
}

function watch(url: string): Seen {
  const seen: Seen = { engine: [], statuses: [], devices: [], readings: 0 };
  client = io(url, { transports: ['websocket'] });
  client.on('engine', (payload) => seen.engine.push(...serverEventSchemas.engine.parse(payload).events));
  client.on('status', (payload) => seen.statuses.push(serverEventSchemas.status.parse(payload)));
  client.on('devices', (payload) => seen.devices.push(serverEventSchemas.devices.parse(payload)));
  client.on('readings', (payload) => {
    for (const batch of serverEventSchemas.readings.parse(payload)) seen.readings += batch.tMs.length;
  });
  return seen;
}

describe('a StandardFirmata board on the live server', () => {
  it('receives the over-pressure alarm on D13, D6 and D9 when the engine warns, and clears it after', async () => {
    emulator = await startFirmataEmulator();
    const pins = new PinLog(emulator);
    await emulator.setForceNewtons(0);
    server = await startTestServer([`firmata:${emulator.ptyPath}`], 0, 'shoulders');
    const seen = watch(server.url);
    await until(() => seen.statuses.some((status) => status.state === 'connected' && status.measuredRateHz > 50), 'the board connected and streaming', 20_000);
    const status = seen.statuses.at(-1);
    expect(status).toMatchObject({ clock: 'host', deviceIdSource: 'port', sensor: 'fsr', nominalRateHz: 100 });
    expect(status?.firmware).toMatch(/^StandardFirmata\.ino /);
    expect(seen.devices.at(-1)?.[0]).toMatchObject({ transport: 'firmata', calibration: 'default' });

    // Shoulders: the limit is 45 N, the warning clears below 40 N.
    const drive = await emulator.driveForce({ kind: 'csv', csv: 't_ms,force_n\n0,0\n500,60\n2500,0\n4500,0\n' });
    await until(() => seen.engine.some((event) => event.type === 'over.started'), 'the over-pressure warning', 20_000);
    // The board shows it by then: the local alarm switched on the very sample that crossed the limit.
    expect(pins.level('D13')).toBe(1);
    expect(pins.level('D6')).toBeCloseTo((MOTOR_DUTY + 1) / 256, 3);
    expect(pins.level('D9')).toBeCloseTo(BUZZER_DUTY / 255, 3);
    const risen = pins.of('D13', drive.startUs).find((change) => change.level === 1);
    expect(risen?.emulatedUs).toBeGreaterThanOrEqual(drive.startUs + 500_000);

    await until(() => seen.engine.some((event) => event.type === 'over.ended'), 'the warning cleared', 20_000);
    await until(() => pins.level('D13') === 0 && pins.level('D6') === 0 && pins.level('D9') === 0, 'D13, D6 and D9 off', 5000);
    await drive.done;
    pins.stop();
  });

  it('runs `firmata:emulator` with a simulated hand, named by --device-id', async () => {
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      devices: ['firmata:emulator?scenario=kneading&seed=5'],
      deviceIds: ['1a2b3c4d'],
      seed: 1,
      engine: { preset: 'shoulders', config: presetConfig('shoulders') },
      logger: pino({ level: 'silent' }),
    });
    const seen = watch(server.url);
    await until(() => seen.readings > 200, '200 readings from the emulated board', 30_000);
    const status = seen.statuses.at(-1);
    expect(status).toMatchObject({ deviceId: '1a2b3c4d', deviceIdSource: 'flag', clock: 'host', state: 'connected' });
    expect(status?.firmware).toMatch(/^StandardFirmata\.ino /);
    expect(seen.devices.at(-1)?.[0]).toMatchObject({ deviceId: '1a2b3c4d', transport: 'firmata', calibration: 'exact' });
  });
});
