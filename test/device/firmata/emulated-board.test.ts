// The Firmata transport against the REAL StandardFirmata (the Uno hex avrgirl-arduino
// ships) running in the simavr harness in real time, through johnny-five, firmata-io and
// the real serialport on the harness's pty: the handshake, A0 at the configured rate, the
// local alarm and the LED's zone patterns on D13/D6/D9 as the emulator reports them, and a
// board that restarts mid-session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../../device/emulator/emulator.ts';
import { BUZZER_DUTY, MOTOR_DUTY } from '../../../device/firmata/local-alarm.ts';
import { FirmataTransport, portDeviceId, type FirmataTransportOptions } from '../../../device/transports/firmata.ts';
import { increasing, Recorder, until } from '../serial/support/recorder.ts';
import { driveSawtooth, millivoltsForCode, PinLog, startFirmataEmulator } from './support.ts';

const SAMPLING_INTERVAL_MS = 20;
/** The duty ratios the emulator reports: Timer0 fast PWM gives (OCR + 1) / 256, Timer1 phase-correct OCR / 255. */
const MOTOR_RATIO = (MOTOR_DUTY + 1) / 256;
const BUZZER_RATIO = BUZZER_DUTY / 255;

/**
 * The mean time between successive changes, ms of the host's clock. The host drives the
 * blink, each change due at a fixed time (no drift): it is timed on the host's clock as the
 * emulator saw it (a starved emulator gives up lag, which would shorten emulated time), and
 * as a mean over the span, so one write a busy host sends late (one half-period longer, the
 * next shorter) does not count as a wrong rate.
 */
function meanHalfPeriodMs(changes: readonly { hostUs: number }[]): number {
  const first = changes[0]?.hostUs ?? Number.NaN;
  const last = changes.at(-1)?.hostUs ?? Number.NaN;
  return (last - first) / 1000 / (changes.length - 1);
}

describe('Firmata transport on StandardFirmata in the emulator', () => {
  let emulator: Emulator;
  let transport: FirmataTransport;
  let pins: PinLog;
  const recorder = new Recorder();

  beforeAll(async () => {
    emulator = await startFirmataEmulator();
    pins = new PinLog(emulator);
    const options: FirmataTransportOptions = {
      target: { kind: 'path', path: emulator.ptyPath },
      baudRate: 57_600,
      samplingIntervalMs: SAMPLING_INTERVAL_MS,
      feedbackMask: 7,
      readyTimeoutMs: 15_000,
      deviceId: null,
      instance: 0,
    };
    transport = new FirmataTransport(options);
    await transport.start(recorder);
  });

  afterAll(async () => {
    pins.stop();
    await transport.stop();
    await emulator.stop();
  });

  it('completes the handshake and reports the board: StandardFirmata, host clock, id from the port', () => {
    expect(transport.status()).toMatchObject({
      state: 'connected',
      deviceId: portDeviceId(emulator.ptyPath),
      deviceIdSource: 'port',
      sensor: 'fsr',
      clock: 'host',
      nominalRateHz: 1000 / SAMPLING_INTERVAL_MS,
      lostSamples: 0,
      lastError: null,
    });
    expect(transport.status().firmware).toMatch(/^StandardFirmata\.ino 2\.\d+ \(Firmata 2\.\d+\)$/);
  });

  it('reads A0 as the ADC converts it, every sampling interval, on an increasing host clock', async () => {
    await emulator.setAnalogMillivolts(2500);
    const from = recorder.samples.length;
    await until(() => recorder.samples.slice(from).some((sample) => sample.raw === 511), 'A0 = 511 (2500 mV)', 5000);

    // One ADC code per emulated millisecond: each sample's code says when it was taken.
    const mark = recorder.samples.length;
    await driveSawtooth(emulator, (await emulator.emulatedTimeUs()) + 50_000, 4000);
    // The sawtooth starts at code 0: the first sample on it is the first one that is not 511.
    const onRamp = (): number => recorder.samples.findIndex((sample, index) => index >= mark && sample.raw !== 511);
    await until(() => onRamp() !== -1 && recorder.samples.length >= onRamp() + 105, '105 samples on the sawtooth', 20_000);
    const taken = recorder.samples.slice(onRamp() + 2, onRamp() + 102).map((sample) => sample.raw);
    const stepsMs = taken.slice(1).map((code, index) => (code - (taken[index] ?? 0) + 1024) % 1024);
    // StandardFirmata samples on millis(), whose tick is 1.024 ms: a step may be off by 2 ms, the mean not.
    expect(Math.min(...stepsMs)).toBeGreaterThanOrEqual(SAMPLING_INTERVAL_MS - 2);
    expect(Math.max(...stepsMs)).toBeLessThanOrEqual(SAMPLING_INTERVAL_MS + 2);
    const meanStepMs = stepsMs.reduce((sum, step) => sum + step, 0) / stepsMs.length;
    expect(meanStepMs).toBeGreaterThan(SAMPLING_INTERVAL_MS - 0.5);
    expect(meanStepMs).toBeLessThan(SAMPLING_INTERVAL_MS + 0.5);

    expect(increasing(recorder.samples.map((sample) => sample.deviceTimeUs))).toBe(true);
    expect(recorder.samples.map((sample) => sample.seq)).toEqual([...recorder.samples.keys()]);
    expect(transport.status().samples).toBe(recorder.samples.length);
  });

  it('raises the local alarm on the sample that crosses the limit: D13 on, D6 and D9 PWM; all off below the clear level', async () => {
    await transport.feedback.setOverLimit(600, 400);
    await emulator.setAnalogMillivolts(millivoltsForCode(300));
    await until(() => recorder.samples.slice(-3).every((sample) => sample.raw === 300) && !transport.alarmOn, 'A0 held at 300, the alarm off', 5000);
    const fromUs = await emulator.setAnalogMillivolts(millivoltsForCode(700));
    await until(() => pins.level('D13') === 1 && pins.level('D9') > 0, 'D13 and D9 on', 5000);
    expect(transport.alarmOn).toBe(true);
    expect(pins.level('D6')).toBeCloseTo(MOTOR_RATIO, 3);
    expect(pins.of('D6', fromUs).at(-1)?.pwm?.frequencyHz).toBeCloseTo(976.5625, 2);
    expect(pins.level('D9')).toBeCloseTo(BUZZER_RATIO, 3);

    // Between the levels the alarm holds (hysteresis), as the firmware's does.
    await emulator.setAnalogMillivolts(millivoltsForCode(500));
    await until(() => recorder.samples.at(-1)?.raw === 500, 'A0 at 500', 5000);
    expect(transport.alarmOn).toBe(true);
    await emulator.setAnalogMillivolts(millivoltsForCode(400));
    await until(() => pins.level('D13') === 0 && pins.level('D6') === 0 && pins.level('D9') === 0, 'D13, D6 and D9 off', 5000);
    expect(transport.alarmOn).toBe(false);
  });

  it('drives only the outputs of the feedback mask', async () => {
    transport.setFeedbackMask(1);
    const fromUs = await emulator.setAnalogMillivolts(millivoltsForCode(800));
    await until(() => pins.level('D13') === 1, 'D13 on', 5000);
    await emulator.setAnalogMillivolts(millivoltsForCode(100));
    await until(() => pins.level('D13') === 0, 'D13 off', 5000);
    expect(pins.of('D6', fromUs)).toEqual([]);
    expect(pins.of('D9', fromUs)).toEqual([]);
    transport.setFeedbackMask(7);
  });

  it('shows the zone on D13: on in band, blinking at 1 Hz above and 4 Hz over, and on whatever the zone while the alarm is on', async () => {
    await transport.feedback.setZone(1);
    await until(() => pins.level('D13') === 1, 'D13 on in band', 5000);

    const fastFromUs = await emulator.emulatedTimeUs();
    await transport.feedback.setZone(3);
    await until(() => pins.of('D13', fastFromUs).length >= 9, '9 changes of D13 at 4 Hz', 10_000);
    expect(Math.abs(meanHalfPeriodMs(pins.of('D13', fastFromUs).slice(1, 9)) - 125)).toBeLessThan(30);

    const slowFromUs = await emulator.emulatedTimeUs();
    await transport.feedback.setZone(2);
    await until(() => pins.of('D13', slowFromUs).length >= 4, '4 changes of D13 at 1 Hz', 10_000);
    expect(Math.abs(meanHalfPeriodMs(pins.of('D13', slowFromUs).slice(1, 4)) - 500)).toBeLessThan(100);

    // The alarm keeps the LED on through the blink.
    await emulator.setAnalogMillivolts(millivoltsForCode(900));
    await until(() => transport.alarmOn && pins.level('D13') === 1, 'the alarm on', 5000);
    const alarmFromUs = await emulator.emulatedTimeUs();
    // 1.5 s on the board's own clock: twelve half-periods of the 4 Hz blink it would have shown.
    await expect.poll(() => emulator.emulatedTimeUs(), { timeout: 10_000 }).toBeGreaterThanOrEqual(alarmFromUs + 1_500_000);
    expect(pins.of('D13', alarmFromUs)).toEqual([]);
    await emulator.setAnalogMillivolts(0);
    await transport.feedback.setZone(0);
    await until(() => !transport.alarmOn && pins.level('D13') === 0, 'the alarm and the LED off', 5000);
  });

  it('sets the board up again after it restarts, and keeps the session going', async () => {
    await transport.feedback.setZone(1);
    await until(() => pins.level('D13') === 1, 'D13 on in band', 5000);
    const seqBefore = recorder.samples.length;
    const lastTimeBefore = recorder.samples.at(-1)?.deviceTimeUs ?? 0;
    await emulator.reset();
    // StandardFirmata blinks its version for about 2 s after a reset before it reports again:
    // the transport notices either the unasked version report (a restart) or, on a loaded
    // machine, the silence first (a stall: it reopens the port). Both set the board up again.
    await until(() => /restarted|stopped answering/.test(transport.status().lastError ?? ''), 'the restart noticed', 15_000);
    await emulator.setAnalogMillivolts(millivoltsForCode(222));
    await until(() => recorder.samples.at(-1)?.raw === 222, 'samples after the restart', 10_000);
    await until(() => pins.level('D13') === 1, 'D13 on again (zone 1)', 5000);
    expect(transport.status().state).toBe('connected');
    expect(recorder.samples.slice(seqBefore).every((sample) => sample.deviceTimeUs > lastTimeBefore)).toBe(true);
  });
});
