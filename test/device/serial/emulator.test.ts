// The serial transport against the REAL firmware: device/firmware compiled for the
// ATmega328P, running in the simavr harness (device/emulator) in real time, read over the
// harness's pty through the real serialport bindings. Then the `emulator` device spec, and
// `npm start -- --device emulator` delivering live readings and an over-pressure warning
// to a real socket.io client.
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCalibration } from '../../../device/sensors.ts';
import { Emulator, type PinChange } from '../../../device/emulator/emulator.ts';
import { CommandRefusedError } from '../../../device/protocol/command-channel.ts';
import { createTransport } from '../../../device/registry.ts';
import { EmulatorTransport, firmwareHex } from '../../../device/transports/emulator.ts';
import { SerialTransport, type SerialDeviceEvent } from '../../../device/transports/serial.ts';
import { serverEventSchemas, type EngineEvents, type ReadingsBatch } from '../../../server/contract/live-events.ts';
import { spawnTsx, waitForLine } from '../../support/cli.ts';
import { increasing, Recorder, until } from './support/recorder.ts';

const fsr = defaultCalibration('fsr');

describe('serial transport on the real firmware in the emulator', () => {
  let emulator: Emulator;
  let transport: SerialTransport;
  const recorder = new Recorder();
  const events: SerialDeviceEvent[] = [];
  const pins: PinChange[] = [];

  beforeAll(async () => {
    emulator = await Emulator.start({ hexPath: await firmwareHex('fsr'), sensor: 'fsr' });
    emulator.onPinChange((change) => pins.push(change));
    await emulator.setForceNewtons(10);
    transport = new SerialTransport({ path: emulator.ptyPath, baudRate: 115_200, deviceId: null });
    transport.onDeviceEvent((event) => events.push(event));
    await transport.start(recorder);
  });

  afterAll(async () => {
    await transport.stop();
    await emulator.stop();
  });

  it('attaches: the firmware answers INFO with its HELLO', () => {
    expect(transport.status()).toMatchObject({ state: 'connected', sensor: 'fsr', firmware: 'knotmeter 1.2.0', nominalRateHz: 100, lastError: null });
    expect(transport.status().deviceId).toMatch(/^[0-9a-f]{8}$/);
  });

  it('streams at the rate it is set to, on the device clock, with nothing lost or dropped', async () => {
    await transport.setRate(200);
    expect(transport.status().nominalRateHz).toBe(200);
    // From a sample well after the RATE took effect, 2 s of device time.
    const from = recorder.samples.length + 20;
    await until(() => recorder.samples.length >= from + 400, '2 s of samples at 200 Hz', 6000);
    const window = recorder.samples.slice(from, from + 400);
    const steps = window.slice(1).map((sample, index) => sample.deviceTimeUs - (window[index]?.deviceTimeUs ?? 0));
    expect(new Set(steps)).toEqual(new Set([5000]));
    expect(window.every((sample, index) => index === 0 || sample.seq === (window[index - 1]?.seq ?? 0) + 1)).toBe(true);
    expect(transport.status()).toMatchObject({ lostSamples: 0, droppedLines: {} });
    expect(increasing(recorder.samples.map((sample) => sample.deviceTimeUs))).toBe(true);
    // 10 N through the default curve: raw = 1023 * 10 / 40, give or take the ADC's rounding.
    expect(Math.abs((window.at(-1)?.raw ?? 0) - fsr.toRaw(10))).toBeLessThanOrEqual(2);
  });

  it('refuses a rate past what the 115200-baud link carries, naming the command and reason', async () => {
    const refused = transport.setRate(400);
    await expect(refused).rejects.toThrow(CommandRefusedError);
    await expect(refused).rejects.toThrow(/refused RATE,400: range/);
    expect(transport.status().nominalRateHz).toBe(200);
  });

  it('LIMIT, FEEDBACK and ZONE are ACKed; the zone shows on D13', async () => {
    await transport.feedback.setOverLimit(fsr.toRaw(45), fsr.toRaw(40));
    await transport.setFeedbackMask(3); // LED and vibration motor
    const from = pins.length;
    await transport.feedback.setZone(3); // over: the LED blinks at 4 Hz
    await until(() => pins.slice(from).filter((change) => change.pin === 'D13').length >= 4, 'D13 blinking', 3000);
    await transport.feedback.setZone(1); // in band: steady on
    await transport.tare();
  });

  it('ALARM lines come when the driven force crosses LIMIT, and the motor runs while it is on', async () => {
    const from = events.length;
    const pinsFrom = pins.length;
    await emulator.setForceNewtons(60);
    await until(() => events.slice(from).some((event) => event.type === 'alarm' && event.on), 'ALARM on', 3000);
    const on = events.slice(from).find((event) => event.type === 'alarm');
    expect(on).toMatchObject({ type: 'alarm', on: true });
    expect(on?.type === 'alarm' ? on.raw : 0).toBeGreaterThanOrEqual(fsr.toRaw(45));
    expect(on?.type === 'alarm' ? on.deviceTimeUs : null).toBeGreaterThan(0);
    await until(() => pins.slice(pinsFrom).some((change) => change.pin === 'D6' && change.level > 0), 'the motor (D6) on', 3000);

    await emulator.setForceNewtons(10);
    await until(() => events.slice(from).some((event) => event.type === 'alarm' && !event.on), 'ALARM off', 3000);
    await until(() => emulator.pinLevel('D6')?.level === 0, 'the motor (D6) off', 3000);
  });

  it('a reset of the AVR is a reboot: the session goes on and LIMIT and ZONE are set again', async () => {
    const before = recorder.samples.length;
    await emulator.reset();
    await until(() => events.some((event) => event.type === 'reboot'), 'the reboot', 3000);
    await until(() => recorder.samples.length >= before + 100, 'samples after the reboot', 5000);
    expect(increasing(recorder.samples.map((sample) => sample.deviceTimeUs))).toBe(true);
    expect(increasing(recorder.samples.map((sample) => sample.seq))).toBe(true);
    // RATE is not stored on the device: sent again with LIMIT and ZONE.
    await until(() => transport.status().nominalRateHz === 200, 'the rate sent again', 3000);
    const steps = recorder.samples.slice(-50).map((sample, index, all) => sample.deviceTimeUs - (all[index - 1]?.deviceTimeUs ?? sample.deviceTimeUs - 5000));
    expect(new Set(steps)).toEqual(new Set([5000]));
    // Over the limit again: the firmware alarms, so LIMIT is in force after the reboot.
    const from = events.length;
    await emulator.setForceNewtons(60);
    await until(() => events.slice(from).some((event) => event.type === 'alarm' && event.on), 'ALARM on after the reboot', 3000);
    await emulator.setForceNewtons(10);
    expect(transport.status().state).toBe('connected');
  });
});

describe('the emulator device spec', () => {
  it('starts the emulated massager with its own id, streams it and stops it cleanly', async () => {
    const { transport, calibration } = createTransport('emulator:hx711?scenario=idle&seed=5', { instance: 2, seed: undefined });
    if (!(transport instanceof EmulatorTransport)) throw new Error(`emulator spec made a ${transport.constructor.name}`);
    const emulated = transport;
    const recorder = new Recorder();
    expect(emulated.spec).toBe('emulator:hx711?scenario=idle&seed=5');
    expect(calibration?.source).toBe('exact');
    await emulated.start(recorder);
    try {
      await until(() => recorder.samples.length >= 80, '1 s of samples', 5000);
      expect(emulated.status()).toMatchObject({ state: 'connected', sensor: 'hx711', nominalRateHz: 80, firmware: 'knotmeter 1.2.0' });
      const id = emulated.status().deviceId;
      const other = createTransport('emulator:hx711', { instance: 3, seed: 1 }).transport;
      expect(other.status().deviceId).not.toBe(id);
      await emulated.feedback.setOverLimit(45 * 42_800, 40 * 42_800);
    } finally {
      await emulated.stop();
    }
    expect(emulated.status().state).toBe('stopped');
    expect(emulated.emulator).toBeNull();
  });

  it('refuses a spec it cannot run, naming what is wrong', () => {
    expect(() => createTransport('emulator:piezo', { instance: 0, seed: 1 })).toThrow(/"piezo" is not a firmware build/);
    expect(() => createTransport('emulator?scenario=yoga', { instance: 0, seed: 1 })).toThrow(/unknown scenario "yoga"/);
    expect(() => createTransport('emulator?rate=5', { instance: 0, seed: 1 })).toThrow(/unknown option "rate"/);
  });
});

describe('npm start -- --device emulator', () => {
  it('delivers live readings and an over-pressure warning to a socket.io client', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'knotmeter-emulator-server-'));
    const child = spawnTsx('server/cli/start.ts', ['--port', '0', '--device', 'emulator:fsr?scenario=over-pressure&seed=1', '--data-dir', dataDir, '--log-level', 'warn']);
    try {
      const [, url] = await waitForLine(child, /Knotmeter dashboard: (http:\/\/127\.0\.0\.1:\d+)/);
      const client = io(url ?? '', { transports: ['websocket'], forceNew: true });
      const readings: ReadingsBatch[] = [];
      const engine: EngineEvents[] = [];
      client.on('readings', (batches) => readings.push(...serverEventSchemas.readings.parse(batches)));
      client.on('engine', (events) => engine.push(serverEventSchemas.engine.parse(events)));
      try {
        await until(() => engine.some((message) => message.events.some((event) => event.type === 'over.started')), 'over.started', 25_000);
        const forces = readings.flatMap((batch) => batch.forceN);
        expect(forces.length).toBeGreaterThan(500);
        expect(Math.max(...forces)).toBeGreaterThan(45);
        expect(increasing(readings.flatMap((batch) => batch.tMs))).toBe(true);
      } finally {
        client.close();
      }
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 40_000);
});
