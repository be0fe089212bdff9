// The simulated massager: deterministic for a seed, and each scenario has the shape its
// name promises (checked on the forces the calibration turns its raw counts into).
import { describe, expect, it } from 'vitest';
import { parseDeviceSpec } from '../../../device/device-spec.ts';
import { parseSimulatorSpec, SimulatedSampleSource, SimulatorTransport, type SimulatorOptions } from '../../../device/transports/simulator.ts';
import { PPT_SIMULATION, SHOULDERS_BAND } from '../../../device/simulator/scenarios.ts';
import { Recorder, until } from '../serial/support/recorder.ts';

function options(spec: string, seed = 42): SimulatorOptions {
  return parseSimulatorSpec(parseDeviceSpec(spec), { instance: 0, seed });
}

function forces(spec: string, seconds: number, seed = 42): number[] {
  const source = new SimulatedSampleSource(options(spec, seed));
  const samples = source.take(Math.round(seconds * options(spec, seed).rateHz));
  return samples.map((sample) => source.calibration.toNewtons(sample.raw));
}

/** Lengths (in samples) of runs where the predicate holds. */
function runs(values: number[], predicate: (value: number) => boolean): number[] {
  const lengths: number[] = [];
  let current = 0;
  for (const value of values) {
    if (predicate(value)) current++;
    else if (current > 0) {
      lengths.push(current);
      current = 0;
    }
  }
  if (current > 0) lengths.push(current);
  return lengths;
}

/** Least-squares slope of y on x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  const covariance = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const variance = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return covariance / variance;
}

describe('simulated massager', () => {
  it('gives the same samples for the same seed and different ones for another', () => {
    const first = new SimulatedSampleSource(options('sim:treatment')).take(5000);
    const again = new SimulatedSampleSource(options('sim:treatment')).take(5000);
    const other = new SimulatedSampleSource(options('sim:treatment', 43)).take(5000);
    expect(again).toEqual(first);
    expect(other.map((sample) => sample.raw)).not.toEqual(first.map((sample) => sample.raw));
  });

  it('stamps samples on an exact device clock at the set rate', () => {
    const samples = new SimulatedSampleSource(options('sim:kneading?rate=1000')).take(3000);
    expect(samples.map((sample) => sample.seq)).toEqual([...Array(3000).keys()]);
    expect(samples.every((sample, index) => sample.deviceTimeUs === index * 1000)).toBe(true);
  });

  it('treatment: holds of 20-90 s inside the band, with rests between', () => {
    const trace = forces('sim:treatment', 600);
    const pressedRuns = runs(trace, (forceN) => forceN >= SHOULDERS_BAND.bandLowN * 0.8).map((length) => length / 100);
    const holds = pressedRuns.filter((seconds) => seconds >= 15);
    expect(holds.length).toBeGreaterThanOrEqual(3);
    for (const seconds of holds) expect(seconds).toBeLessThan(100);
    const restSeconds = runs(trace, (forceN) => forceN < 2).map((length) => length / 100);
    expect(restSeconds.filter((seconds) => seconds >= 3).length).toBeGreaterThanOrEqual(3);
    const held = trace.filter((forceN) => forceN >= SHOULDERS_BAND.bandLowN);
    const inBand = held.filter((forceN) => forceN <= SHOULDERS_BAND.bandHighN);
    expect(inBand.length / held.length).toBeGreaterThan(0.8);
  });

  it('treatment: a steady hold still trembles (4-12 Hz tremor is present)', () => {
    const trace = forces('sim:treatment?rate=200', 300);
    const steady = trace.slice(0).filter((forceN) => forceN > SHOULDERS_BAND.bandLowN + 2);
    const successiveDifferences = steady.slice(1).map((forceN, index) => Math.abs(forceN - (steady[index] ?? forceN)));
    const meanStepN = successiveDifferences.reduce((sum, step) => sum + step, 0) / successiveDifferences.length;
    expect(meanStepN).toBeGreaterThan(0.05);
    expect(meanStepN).toBeLessThan(1.5);
  });

  it('over-pressure: goes past the limit for seconds at a time, every episode', () => {
    const trace = forces('sim:over-pressure', 120);
    const overRuns = runs(trace, (forceN) => forceN >= SHOULDERS_BAND.overLimitN).map((length) => length / 100);
    expect(overRuns.filter((seconds) => seconds >= 1).length).toBeGreaterThanOrEqual(3);
  });

  it('kneading: a rhythm of strokes about once or twice a second', () => {
    const trace = forces('sim:kneading', 20);
    const strokes = runs(trace, (forceN) => forceN > SHOULDERS_BAND.bandLowN);
    expect(strokes.length).toBeGreaterThanOrEqual(9);
    expect(strokes.length).toBeLessThanOrEqual(20);
  });

  it('idle: nothing but sensor noise near zero', () => {
    const trace = forces('sim:idle', 30);
    expect(Math.max(...trace)).toBeLessThan(0.5);
  });

  it('ppt: three steady ramps at about 7.5 N/s (50 kPa/s on 1.5 cm2), each ended by a thumb-button press at the threshold, then a release', () => {
    for (const seed of [1, 2, 3]) {
      const source = new SimulatedSampleSource(options('sim:ppt?rate=100', seed));
      const samples = source.take(6000); // 60 s: one knot's three trials and the rest after them
      const marks = source.takeMarks();
      const forceAt = (timeUs: number): number => source.calibration.toNewtons(samples.find((sample) => sample.deviceTimeUs >= timeUs)?.raw ?? 0);
      expect(marks.map((mark) => mark.seq)).toEqual([0, 1, 2]);
      const [low, high] = PPT_SIMULATION.pptKPa.map((kPa) => kPa * PPT_SIMULATION.areaCm2 * 0.1) as [number, number];
      for (const mark of marks) {
        expect(mark.lostBefore).toBe(0);
        expect(forceAt(mark.deviceTimeUs)).toBeGreaterThan(low * 0.9);
        expect(forceAt(mark.deviceTimeUs)).toBeLessThan(high * 1.1);
        // The 2 s before the press: a steady rise at about the rate asked for (least squares, through the tremor).
        const ramp = samples.filter((sample) => sample.deviceTimeUs > mark.deviceTimeUs - 2e6 && sample.deviceTimeUs <= mark.deviceTimeUs);
        const rateNPerS = slope(ramp.map((sample) => [sample.deviceTimeUs / 1e6, source.calibration.toNewtons(sample.raw)] as const));
        expect(rateNPerS).toBeGreaterThan(7.5 * 0.8);
        expect(rateNPerS).toBeLessThan(7.5 * 1.2);
        // Released within a second of the press.
        expect(forceAt(mark.deviceTimeUs + 1.2e6)).toBeLessThan(2);
      }
    }
  });

  it('presses its thumb button on demand: a mark at the latest sample, at once', async () => {
    const transport = new SimulatorTransport(options('sim:idle?speed=20'));
    const recorder = new Recorder();
    expect(() => transport.pressButton()).toThrow(/is not started: nothing to press/);
    await transport.start(recorder);
    try {
      await until(() => recorder.samples.length > 50, 'samples');
      const mark = transport.pressButton();
      expect(recorder.marks).toEqual([mark]);
      expect(mark).toEqual({ deviceId: transport.status().deviceId, seq: 0, deviceTimeUs: recorder.samples.at(-1)?.deviceTimeUs, lostBefore: 0 });
      expect(transport.pressButton().seq).toBe(1);
    } finally {
      await transport.stop();
    }
  });

  it('loses samples in bursts at the asked rate and counts them', () => {
    const source = new SimulatedSampleSource(options('sim:treatment?loss=0.05'));
    const samples = source.take(100_000);
    expect(samples.length + source.lostSamples).toBe(100_000);
    expect(source.lostSamples / 100_000).toBeGreaterThan(0.03);
    expect(source.lostSamples / 100_000).toBeLessThan(0.07);
    const gaps = samples.slice(1).filter((sample, index) => sample.seq !== (samples[index]?.seq ?? 0) + 1);
    expect(gaps.length).toBeLessThan(source.lostSamples);
  });

  it('refuses bad specs, naming what is wrong', () => {
    expect(() => options('sim:massage')).toThrow(/unknown scenario "massage" \(known: treatment, over-pressure, kneading, idle, weights, ppt\)/);
    expect(() => options('sim?rate=5000')).toThrow(/rate=5000 is not a number from 10 to 1000/);
    expect(() => options('sim?sensor=hx711&rate=100')).toThrow(/rate=100 is not a number from 10 to 80/);
    expect(() => options('sim?colour=red')).toThrow(/unknown option "colour"/);
    expect(() => options('sim?loss=abc')).toThrow(/loss=abc is not a number/);
  });
});
