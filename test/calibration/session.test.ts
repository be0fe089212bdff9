// A calibration session against the simulated calibration bench (sim:weights): the
// bench rests still at each load, a part with a gain is not vouched for, tare refuses a
// moving reading, captures wait for a new load and for it to settle, and the fit
// recovers the part's true curve within its stated error.
import { describe, expect, it } from 'vitest';
import { defaultCalibration } from '../../device/sensors.ts';
import { CalibrationError, errorAtN } from '../../calibration/fit.ts';
import { newProfileEntry, profileCalibration } from '../../calibration/profile.ts';
import { CalibrationSession, ImplausibleReadingError, type CaptureProgress } from '../../calibration/session.ts';
import { windowStats } from '../../calibration/stillness.ts';
import { knownLoad } from '../../calibration/units.ts';
import { parseDeviceSpec } from '../../device/device-spec.ts';
import { createTransport } from '../../device/registry.ts';
import { parseSimulatorSpec, SimulatedSampleSource } from '../../device/transports/simulator.ts';

function source(spec: string): SimulatedSampleSource {
  return new SimulatedSampleSource(parseSimulatorSpec(parseDeviceSpec(spec), { instance: 0, seed: 5 }));
}

/** Feeds a session from a simulated source in 10 ms steps of device time, between awaits. */
class Bench {
  readonly source: SimulatedSampleSource;
  readonly #rateHz: number;
  #seq = 0;

  constructor(spec: string, rateHz: number) {
    this.source = source(spec);
    this.#rateHz = rateHz;
  }

  get nowMs(): number {
    return (this.#seq * 1000) / this.#rateHz;
  }

  /** Runs `seconds` of device time into the session, yielding to promises every step. */
  async run(session: CalibrationSession, seconds: number, until?: () => boolean): Promise<void> {
    const steps = Math.round((seconds * this.#rateHz) / Math.max(this.#rateHz / 100, 1));
    for (let step = 0; step < steps && until?.() !== true; step++) {
      const batch = this.source.take(Math.max(Math.round(this.#rateHz / 100), 1));
      this.#seq += batch.length;
      session.feed(
        batch.map((sample) => sample.deviceTimeUs / 1000),
        batch.map((sample) => sample.raw),
      );
      await Promise.resolve();
    }
  }
}

describe('the simulated calibration bench (sim:weights)', () => {
  it('rests still at nothing, then at each load in turn, through the part curve', () => {
    const bench = source('sim:weights?loads=10,20&holdS=3&gain=1.2');
    const samples = bench.take(100 * 12);
    const at = (fromS: number, toS: number): ReturnType<typeof windowStats> =>
      windowStats(
        samples.slice(fromS * 100, toS * 100).map((sample) => sample.deviceTimeUs / 1000),
        samples.slice(fromS * 100, toS * 100).map((sample) => sample.raw),
        (raw) => bench.calibration.toNewtons(raw),
      );
    expect(at(1, 3)?.still).toBe(true);
    expect(at(1, 3)?.meanN).toBeLessThan(0.1);
    expect(at(4, 6.5)?.still).toBe(true);
    expect(at(4, 6.5)?.meanN).toBeCloseTo(10, 0);
    expect(at(7.5, 10)?.meanN).toBeCloseTo(20, 0);
    // The part is 1.2 times as sensitive as the documented curve says.
    expect(defaultCalibration('fsr').toNewtons(at(4, 6.5)?.meanRaw ?? 0)).toBeCloseTo(12, 0);
  });

  it('a part with a gain is not vouched for (uncalibrated until it has a profile); one without is exact', () => {
    expect(createTransport('sim:weights?gain=1.2', { instance: 0, seed: 1 }).calibration).toBeNull();
    expect(createTransport('sim:weights', { instance: 0, seed: 1 }).calibration?.source).toBe('exact');
    expect(createTransport('sim:weights?sensor=hx711&loads=5,10&holdS=2', { instance: 0, seed: 1 }).transport.spec).toContain('loads=5,10&holdS=2');
  });

  it.each([
    ['sim:treatment?loads=5', /loads= and holdS= are for the calibration bench/],
    ['sim:weights?loads=5,-1', /loads=5,-1 is not a list of loads in newtons/],
    ['sim:weights?loads=', /is not a list of loads/],
    ['sim:weights?gain=3', /gain=3 is not a number from 0.5 to 2/],
  ])('refuses %s', (spec, message) => {
    expect(() => createTransport(spec, { instance: 0, seed: 1 })).toThrow(message);
  });
});

describe('calibration session', () => {
  const defaults = defaultCalibration('fsr');

  it('refuses to tare while the reading moves, naming how much it moves', async () => {
    const bench = new Bench('sim:kneading', 100);
    const session = new CalibrationSession({ deviceId: '1a2b3c4d', sensor: 'fsr', toNewtons: (raw) => defaults.toNewtons(raw) });
    await bench.run(session, 4);
    await expect(session.tare()).rejects.toThrow(/calibration for device 1a2b3c4d: the reading is moving \(±\d+\.\d\d N, drifting \d+\.\d\d N; still is within ±0\.\d\d N\): let the tip rest with nothing on it, then tare again/);
    expect(session.tareState).toBeNull();
  });

  it('refuses to tare with no readings, and to capture before a tare', async () => {
    const session = new CalibrationSession({ deviceId: '1a2b3c4d', sensor: 'fsr', toNewtons: (raw) => defaults.toNewtons(raw), waitLimitMs: 200 });
    await expect(session.tare()).rejects.toThrow(/no readings from the device in the last second/);
    await expect(session.capture(knownLoad(1, 'kg'))).rejects.toThrow(/tare first/);
  });

  it('fsr: tares, captures each load once it has moved there and settled, and fits the part', async () => {
    const bench = new Bench('sim:weights?loads=5,10,20,40&holdS=4&gain=1.25', 100);
    const session = new CalibrationSession({ deviceId: '1a2b3c4d', sensor: 'fsr', toNewtons: (raw) => defaults.toNewtons(raw), waitLimitMs: 60_000 });
    await bench.run(session, 2);
    const tare = await session.tare();
    expect(tare.raw).toBeLessThan(3);
    const progress: CaptureProgress[] = [];
    for (const loadN of [5, 10, 20, 40]) {
      let captured = false;
      const point = session.capture(knownLoad(loadN, 'N'), (step) => progress.push(step)).then((value) => {
        captured = true;
        return value;
      });
      await bench.run(session, 8, () => captured);
      expect((await point).forceN).toBe(loadN);
    }
    // It waited for each new load, then filled a progress bar while it settled.
    expect(progress.some((step) => step.phase === 'waiting' && /an earlier point/.test(step.message))).toBe(true);
    expect(progress.filter((step) => step.phase === 'settling').map((step) => step.fraction)).toContain(1);
    const result = session.fit();
    expect(result.points).toHaveLength(4);
    const calibration = profileCalibration(newProfileEntry(result, { madeWith: 'command' }));
    for (const forceN of [5, 15, 30, 40]) {
      const readN = calibration.toNewtons(bench.source.calibration.toRaw(forceN));
      expect(Math.abs(readN - forceN)).toBeLessThanOrEqual(Math.max(errorAtN(result.stats.error, readN) ?? 0, 0.02 * forceN));
    }
  });

  it('hx711: the tare is the first point (0 N), one mass makes a 2-point calibration', async () => {
    const bench = new Bench('sim:weights?sensor=hx711&rate=80&loads=9.80665,19.6133&holdS=4&gain=0.9', 80);
    let deviceTares = 0;
    const session = new CalibrationSession({
      deviceId: '1a2b3c4d',
      sensor: 'hx711',
      toNewtons: (raw) => defaultCalibration('hx711').toNewtons(raw),
      tareDevice: () => {
        deviceTares++;
        return Promise.resolve();
      },
    });
    await bench.run(session, 2);
    let tared = false;
    const tare = session.tare().then(() => (tared = true));
    await bench.run(session, 3, () => tared);
    await tare;
    expect(deviceTares).toBe(1);
    expect(session.points).toEqual([expect.objectContaining({ kind: 'zero', forceN: 0 })]);
    let captured = false;
    const point = session.capture(knownLoad(1, 'kg')).then(() => (captured = true));
    await bench.run(session, 8, () => captured);
    await point;
    const result = session.fit();
    expect(result.fit.model).toBe('linear');
    expect(result.stats.error).toBeNull();
    // The simulator clips its noise at 0 N, so the zero it shows sits 0.016 N high: 0.2 % on 1 kg.
    if (result.fit.model === 'linear') expect(Math.abs(1 / result.fit.slopeNPerX / (42_800 * 0.9) - 1)).toBeLessThan(0.005);
  });

  it('refuses a load already taken, a negative one, and 0 N on an FSR; removes points; a capture can be cancelled', async () => {
    const bench = new Bench('sim:weights?loads=5,10&holdS=3', 100);
    const session = new CalibrationSession({ deviceId: '1a2b3c4d', sensor: 'fsr', toNewtons: (raw) => defaults.toNewtons(raw) });
    await bench.run(session, 2);
    await session.tare();
    await expect(session.capture({ massKg: -1, forceN: -9.8 })).rejects.toThrow(/negative/);
    await expect(session.capture(knownLoad(0, 'N'))).rejects.toThrow(/0 N on an FSR is its tare/);
    let captured = false;
    const point = session.capture(knownLoad(5, 'N')).then(() => (captured = true));
    await bench.run(session, 6, () => captured);
    await point;
    await expect(session.capture(knownLoad(5, 'N'))).rejects.toThrow(/there is already a point at 5.00 N/);
    expect(() => session.fit()).toThrow(CalibrationError);
    expect(() => session.fit()).toThrow(/has only 1 point; at least 2 are needed/);
    const pending = session.capture(knownLoad(10, 'N'));
    session.cancelCapture();
    await expect(pending).rejects.toThrow(/the capture was cancelled/);
    session.removePoint(0);
    expect(session.points).toHaveLength(0);
    expect(() => session.removePoint(3)).toThrow(/there is no point 4/);
  });
});

describe('plausibility: the reading must fit what the person says is on the tip', () => {
  const defaults = defaultCalibration('fsr');

  /** Runs the bench until the device time reaches `atS` seconds. */
  async function runUntil(bench: Bench, session: CalibrationSession, atS: number): Promise<void> {
    await bench.run(session, atS - bench.nowMs / 1000);
  }

  /** Captures `load`, feeding the bench until the capture ends; resolves with its outcome. */
  async function captureOn(bench: Bench, session: CalibrationSession, load: ReturnType<typeof knownLoad>, confirm = false): Promise<unknown> {
    let done = false;
    const outcome = session.capture(load, undefined, { confirm }).then(
      (point) => point,
      (error: unknown) => error,
    ).finally(() => (done = true));
    await bench.run(session, 20, () => done);
    return outcome;
  }

  it('fsr: a tare with 500 g still on the tip is refused, saying what it reads; confirmed, it is taken', async () => {
    // The default bench: bare for 6 s, then 500 g placed (0.8 s) and resting from 6.8 s.
    const bench = new Bench('sim:weights?gain=1.2', 100);
    const session = new CalibrationSession({ deviceId: '1a2b3c4d', sensor: 'fsr', toNewtons: (raw) => defaults.toNewtons(raw), waitLimitMs: 60_000 });
    await runUntil(bench, session, 9);
    const refused = session.tare();
    await expect(refused).rejects.toThrow(ImplausibleReadingError);
    await expect(refused).rejects.toThrow(/calibration for device 1a2b3c4d: the tip does not look bare: it reads 1\d\d\.\d counts, \d\.\d\d N by the current curve \(a bare FSR reads a few counts\): take everything off the tip and tare again; if nothing is on it, confirm to tare anyway/);
    expect(session.tareState).toBeNull();
    await expect(session.tare({ confirm: true })).resolves.toMatchObject({ raw: expect.any(Number) as unknown });
  });

  it('fsr: a bare tip is tared without a word (its few counts are no load)', async () => {
    const bench = new Bench('sim:weights?gain=2', 100);
    const session = new CalibrationSession({ deviceId: '1a2b3c4d', sensor: 'fsr', toNewtons: (raw) => defaults.toNewtons(raw) });
    await runUntil(bench, session, 3);
    await expect(session.tare()).resolves.toMatchObject({ raw: expect.any(Number) as unknown });
  });

  it('hx711: a load on the tip is refused before the firmware re-zeros on it', async () => {
    const bench = new Bench('sim:weights?sensor=hx711&rate=80&gain=0.5', 80);
    let deviceTares = 0;
    const session = new CalibrationSession({
      deviceId: '1a2b3c4d',
      sensor: 'hx711',
      toNewtons: (raw) => defaultCalibration('hx711').toNewtons(raw),
      tareDevice: () => {
        deviceTares++;
        return Promise.resolve();
      },
    });
    await runUntil(bench, session, 9);
    await expect(session.tare()).rejects.toThrow(/the tip does not look bare: it reads \d+\.\d counts, 2\.\d\d N by the current curve \(a bare load cell reads near the firmware's zero, 0 counts\)/);
    expect(deviceTares).toBe(0);
  });

  it('a load typed as 1 kg that settled on the 2 kg one is refused, naming both; confirmed, it is kept', async () => {
    // Bench: bare 0-6 s; 0.5 kg resting 6.8-12.8 s; 1 kg 13.6-19.6 s; 2 kg 20.4-26.4 s.
    const bench = new Bench('sim:weights?gain=1.2', 100);
    const session = new CalibrationSession({ deviceId: '1a2b3c4d', sensor: 'fsr', toNewtons: (raw) => defaults.toNewtons(raw), waitLimitMs: 60_000 });
    await runUntil(bench, session, 2);
    await session.tare();
    expect(await captureOn(bench, session, knownLoad(500, 'g'))).toMatchObject({ forceN: 0.5 * 9.80665 });
    // The person was slow: the 2 kg is on when they type 1 kg.
    await runUntil(bench, session, 22);
    const wrong = await captureOn(bench, session, knownLoad(1, 'kg'));
    expect(wrong).toBeInstanceOf(ImplausibleReadingError);
    expect(String(wrong)).toMatch(/the load settled at \d+\.\d counts, which on this part \(going by the point at 4\.90 N, \d+\.\d counts\) is about 19\.\d\d N, not the 1 kg \(9\.81 N\) typed: check that the load typed is the one on the tip/);
    expect(session.points).toHaveLength(1);
    expect(await captureOn(bench, session, knownLoad(1, 'kg'), true)).toMatchObject({ forceN: 9.80665 });
    expect(session.points).toHaveLength(2);
  });

  it('a load far from what the curve expects is refused even as the first point (more than 2.5 times off)', async () => {
    const bench = new Bench('sim:weights?gain=0.5', 100);
    const session = new CalibrationSession({ deviceId: '1a2b3c4d', sensor: 'fsr', toNewtons: (raw) => defaults.toNewtons(raw), waitLimitMs: 60_000 });
    await runUntil(bench, session, 2);
    await session.tare();
    const wrong = await captureOn(bench, session, knownLoad(5, 'kg'));
    expect(String(wrong)).toMatch(/the load settled at \d+\.\d counts, 2\.\d\d N by the current curve: 0\.05 times the 5 kg \(49\.03 N\) typed, where a part reads 0\.4 to 2\.5 times its curve/);
    expect(session.points).toHaveLength(0);
  });

  it('a load that drives the sensor to full scale is refused outright (saturated)', async () => {
    const session = new CalibrationSession({ deviceId: '1a2b3c4d', sensor: 'fsr', toNewtons: (raw) => defaults.toNewtons(raw), settleMs: 500 });
    const feed = (fromMs: number, toMs: number, raw: number): void => {
      const tMs = Array.from({ length: (toMs - fromMs) / 10 }, (_, index) => fromMs + index * 10);
      session.feed(tMs, tMs.map(() => raw));
    };
    feed(0, 1500, 2);
    await session.tare();
    const capture = session.capture(knownLoad(100, 'N'), undefined, { confirm: true });
    for (let atMs = 1500; atMs < 5000; atMs += 100) feed(atMs, atMs + 100, 1023);
    await expect(capture).rejects.toThrow(/settled at full scale \(1023\.0 of 1023 counts: the sensor is saturated\)/);
  });
});
