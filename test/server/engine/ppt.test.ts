// The PPT analyser (server/engine/ppt.ts) on synthetic ramps with a known PPT, rate and
// noise (fast-check): each rule of docs/ppt.md (start level, onset by mark, onset by
// release, the rate's least-squares slope, the summary over valid trials) and each reason
// a trial is not valid; feeding marks before their samples, in any chunking, gives the
// same trials; and the bounds (thinning of a very long trial, bad input refused).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analysePpt, MAX_TRIAL_SAMPLES, PptAnalyser, summarizePpt } from '../../../server/engine/ppt.ts';
import { DEFAULT_PPT_SETTINGS, kPaPerNewton, type PptSettings, type PptTrial } from '../../../server/contract/ppt.ts';

const SETTINGS: PptSettings = DEFAULT_PPT_SETTINGS;
/** 50 kPa/s on 1.5 cm². */
const TARGET_N_PER_S = 7.5;

/** Deterministic uniform noise in [-amplitude, amplitude]. */
function noise(seed: number, amplitude: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 4_294_967_296 - 0.5) * 2 * amplitude;
  };
}

interface Ramp {
  /** Newtons per second from 0 N. */
  readonly rateNPerS: number;
  readonly pptN: number;
  readonly onset: 'mark' | 'release';
}

interface Trace {
  tMs: number[];
  forceN: number[];
  marked: boolean[];
}

interface Planned {
  readonly trace: Trace;
  /** Per ramp: the sample index of its onset. */
  readonly onsetIndexes: number[];
}

/**
 * Rests at 0 N and linear ramps from 0 N at their rate up to their PPT, with noise on
 * every sample; a `mark` ramp is marked on its last sample and then falls to 0 within
 * 100 ms, a `release` ramp just falls.
 */
function plan(ramps: readonly Ramp[], options: { periodMs: number; noiseN: number; seed: number; restMs?: number }): Planned {
  const trace: Trace = { tMs: [], forceN: [], marked: [] };
  const jitter = noise(options.seed, options.noiseN);
  const onsetIndexes: number[] = [];
  let tMs = 0;
  const add = (forceN: number, marked = false): void => {
    trace.tMs.push(tMs);
    trace.forceN.push(Math.max(0, forceN + jitter()));
    trace.marked.push(marked);
    tMs += options.periodMs;
  };
  const rest = (ms: number): void => {
    for (let elapsed = 0; elapsed < ms; elapsed += options.periodMs) add(0);
  };
  rest(options.restMs ?? 1000);
  for (const ramp of ramps) {
    const rampMs = (ramp.pptN / ramp.rateNPerS) * 1000;
    const steps = Math.ceil(rampMs / options.periodMs);
    for (let step = 0; step < steps; step++) add((ramp.rateNPerS * step * options.periodMs) / 1000);
    onsetIndexes.push(trace.tMs.length);
    add(ramp.pptN, ramp.onset === 'mark');
    for (let elapsed = options.periodMs; elapsed < 100; elapsed += options.periodMs) add(ramp.pptN * (1 - elapsed / 100));
    rest(options.restMs ?? 1000);
  }
  return { trace, onsetIndexes };
}

const periodMs = fc.constantFrom(10, 5, 1);
const seed = fc.integer({ min: 1, max: 0x7fff_ffff });
/** Rates within 40 % of the target: valid. */
const goodRate = fc.double({ min: TARGET_N_PER_S * 0.6, max: TARGET_N_PER_S * 1.4, noNaN: true });
/** PPTs whose ramp at a good rate lasts well over 0.5 s. */
const ppt = fc.double({ min: 8, max: 60, noNaN: true });
const noiseN = fc.double({ min: 0, max: 0.1, noNaN: true });

function expectClose(actual: number, expected: number, tolerance: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

describe('PPT analyser: the rules', () => {
  it('a marked ramp: starts where the force rises through 1 N, PPT is the force at the mark, the rate is the ramp\'s', () => {
    fc.assert(
      fc.property(goodRate, ppt, noiseN, periodMs, seed, (rateNPerS, pptN, noiseAmplitude, period, seedValue) => {
        const { trace, onsetIndexes } = plan([{ rateNPerS, pptN, onset: 'mark' }], { periodMs: period, noiseN: noiseAmplitude, seed: seedValue });
        const { trials, summary } = analysePpt(trace, SETTINGS);
        expect(trials).toHaveLength(1);
        const [trial] = trials as [PptTrial];
        const onsetIndex = onsetIndexes[0] ?? -1;
        expect(trial.onset).toBe('mark');
        expect(trial.onsetMs).toBe(trace.tMs[onsetIndex]);
        expect(trial.pptN).toBe(trace.forceN[onsetIndex]);
        expectClose(trial.pptKPa, trial.pptN * kPaPerNewton(1.5), 1e-9, 'pptKPa');
        // The start: the first sample at or above 1 N, which noise moves by at most its size over the rate.
        const rampStartMs = 1000;
        expectClose(trial.startMs, rampStartMs + (1 / rateNPerS) * 1000, ((2 * noiseAmplitude) / rateNPerS) * 1000 + period, 'startMs');
        expect(trace.forceN[trace.tMs.indexOf(trial.startMs)]).toBeGreaterThanOrEqual(1);
        expectClose(trial.rateNPerS, rateNPerS, rateNPerS * 0.03, 'rateNPerS');
        expectClose(trial.rateKPaPerS, trial.rateNPerS * kPaPerNewton(1.5), 1e-9, 'rateKPaPerS');
        expect(trial).toMatchObject({ valid: true, reason: null });
        expect(summary).toMatchObject({ n: 1, meanPptN: trial.pptN, sdN: null, cv: null });
      }),
      { numRuns: 60 },
    );
  });

  it('an unmarked ramp ends at its release: PPT is the peak before the force halves within 0.5 s', () => {
    fc.assert(
      fc.property(goodRate, ppt, noiseN, periodMs, seed, (rateNPerS, pptN, noiseAmplitude, period, seedValue) => {
        const { trace, onsetIndexes } = plan([{ rateNPerS, pptN, onset: 'release' }], { periodMs: period, noiseN: noiseAmplitude, seed: seedValue });
        const [trial, ...others] = analysePpt(trace, SETTINGS).trials;
        expect(others).toEqual([]);
        const onsetIndex = onsetIndexes[0] ?? -1;
        const peakN = Math.max(...trace.forceN);
        expect(trial).toMatchObject({ onset: 'release', pptN: peakN, onsetMs: trace.tMs[trace.forceN.indexOf(peakN)], valid: true });
        // The peak is the top of the ramp, give or take the noise.
        expectClose(trial?.onsetMs ?? 0, trace.tMs[onsetIndex] ?? 0, ((2 * noiseAmplitude) / rateNPerS) * 1000 + period, 'onsetMs');
        expectClose(trial?.rateNPerS ?? 0, rateNPerS, rateNPerS * 0.03, 'rateNPerS');
      }),
      { numRuns: 60 },
    );
  });

  it('a slow release (the force never halves within 0.5 s) ends once the force is back under the start level, at the peak', () => {
    const trace: Trace = { tMs: [], forceN: [], marked: [] };
    const add = (tMs: number, forceN: number): void => {
      trace.tMs.push(tMs);
      trace.forceN.push(forceN);
      trace.marked.push(false);
    };
    add(0, 0);
    for (let tMs = 10; tMs <= 2000; tMs += 10) add(tMs, (tMs / 1000) * 7.5);
    // 15 N down to 0.5 N over 6 s: never half of the last 0.5 s's highest above 1 N... until under it.
    for (let tMs = 2010; tMs <= 8000; tMs += 10) add(tMs, 15 - ((tMs - 2000) / 6000) * 14.5);
    const { trials } = analysePpt(trace, SETTINGS);
    expect(trials).toHaveLength(1);
    expect(trials[0]).toMatchObject({ onset: 'release', onsetMs: 2000, pptN: 15, valid: true });
  });

  it('three trials: the summary is the mean, sample sd and cv of the valid ones, in N and in kPa through the tip area', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ rateNPerS: goodRate, pptN: ppt, onset: fc.constantFrom('mark' as const, 'release' as const) }), { minLength: 3, maxLength: 3 }), seed, (ramps, seedValue) => {
        const { trace } = plan(ramps, { periodMs: 10, noiseN: 0.05, seed: seedValue });
        const area = 1;
        const { trials, summary } = analysePpt(trace, { ...SETTINGS, areaCm2: area, rateKPaPerS: TARGET_N_PER_S * 10 });
        expect(trials.map((trial) => trial.valid)).toEqual([true, true, true]);
        const ppts = trials.map((trial) => trial.pptN);
        const mean = ppts.reduce((sum, value) => sum + value, 0) / 3;
        const sd = Math.sqrt(ppts.reduce((sum, value) => sum + (value - mean) ** 2, 0) / 2);
        expect(summary.n).toBe(3);
        expectClose(summary.meanPptN ?? Number.NaN, mean, 1e-9, 'meanPptN');
        expectClose(summary.meanPptKPa ?? Number.NaN, mean * 10, 1e-8, 'meanPptKPa');
        expectClose(summary.sdN ?? Number.NaN, sd, 1e-9, 'sdN');
        expectClose(summary.cv ?? Number.NaN, sd / mean, 1e-9, 'cv');
        ramps.forEach((ramp, index) => expectClose(ppts[index] ?? 0, ramp.pptN, 0.05 + 1e-9, `trial ${index} pptN`));
      }),
      { numRuns: 40 },
    );
  });

  it('invalid trials are left out of the summary', () => {
    const trial = (pptN: number, valid: boolean): PptTrial => ({ startMs: 0, onsetMs: 1000, onset: 'mark', pptN, pptKPa: pptN * 10, rateNPerS: 5, rateKPaPerS: 50, valid, reason: valid ? null : 'rate-off-target' });
    expect(summarizePpt([trial(10, true), trial(99, false), trial(14, true)], 1)).toEqual({ n: 2, meanPptN: 12, meanPptKPa: 120, sdN: Math.sqrt(8), cv: Math.sqrt(8) / 12 });
    expect(summarizePpt([trial(99, false)], 1)).toEqual({ n: 0, meanPptN: null, meanPptKPa: null, sdN: null, cv: null });
  });
});

describe('PPT analyser: why a trial is not valid', () => {
  it('a rate more than 50 % off the target: rate-off-target (measured, and shown)', () => {
    const offRate = fc.oneof(fc.double({ min: TARGET_N_PER_S * 0.2, max: TARGET_N_PER_S * 0.45, noNaN: true }), fc.double({ min: TARGET_N_PER_S * 1.6, max: TARGET_N_PER_S * 4, noNaN: true }));
    fc.assert(
      fc.property(offRate, noiseN, seed, fc.constantFrom('mark' as const, 'release' as const), (rateNPerS, noiseAmplitude, seedValue, onset) => {
        // Long enough a ramp at any of these rates (over 0.5 s): only the rate is wrong.
        const pptN = Math.max(8, rateNPerS * 0.8);
        const { trace } = plan([{ rateNPerS, pptN, onset }], { periodMs: 5, noiseN: noiseAmplitude, seed: seedValue });
        const [trial] = analysePpt(trace, SETTINGS).trials;
        expect(trial).toMatchObject({ valid: false, reason: 'rate-off-target' });
        expectClose(trial?.rateNPerS ?? 0, rateNPerS, rateNPerS * 0.03, 'rateNPerS');
        expect(analysePpt(trace, SETTINGS).summary.n).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it('an onset within 0.5 s of the start: onset-too-soon', () => {
    fc.assert(
      fc.property(fc.double({ min: 2, max: 4.5, noNaN: true }), seed, (pptN, seedValue) => {
        // 7.5 N/s from 0: 1 N at 133 ms, 4.5 N at 600 ms: under 0.5 s from the start.
        const { trace } = plan([{ rateNPerS: TARGET_N_PER_S, pptN, onset: 'mark' }], { periodMs: 10, noiseN: 0.02, seed: seedValue });
        const [trial] = analysePpt(trace, SETTINGS).trials;
        expect((trial?.onsetMs ?? 0) - (trial?.startMs ?? 0)).toBeLessThan(500);
        expect(trial).toMatchObject({ valid: false, reason: 'onset-too-soon', onset: 'mark' });
      }),
      { numRuns: 30 },
    );
  });

  it('a ramp that is not rising up to the onset: ramp-not-rising', () => {
    fc.assert(
      fc.property(fc.double({ min: 10, max: 40, noNaN: true }), fc.integer({ min: 3000, max: 8000 }), noiseN, seed, (topN, declineMs, noiseAmplitude, seedValue) => {
        // Up to the top in 0.2 s, then down by 30 % over seconds, marked at the end.
        const jitter = noise(seedValue, noiseAmplitude);
        const trace: Trace = { tMs: [], forceN: [], marked: [] };
        const add = (tMs: number, forceN: number): void => {
          trace.tMs.push(tMs);
          trace.forceN.push(forceN);
          trace.marked.push(false);
        };
        for (let tMs = 0; tMs <= 200; tMs += 10) add(tMs, tMs === 0 ? 0 : (topN * tMs) / 200 + jitter());
        for (let tMs = 210; tMs <= 200 + declineMs; tMs += 10) add(tMs, topN * (1 - (0.3 * (tMs - 200)) / declineMs) + jitter());
        trace.marked[trace.marked.length - 1] = true;
        const [trial] = analysePpt(trace, SETTINGS).trials;
        expect(trial).toMatchObject({ valid: false, reason: 'ramp-not-rising', onset: 'mark' });
        expect(trial?.rateNPerS).toBeLessThanOrEqual(0);
      }),
      { numRuns: 30 },
    );
  });
});

describe('PPT analyser: marks, chunking and bounds', () => {
  it('a mark fed before its samples (the device button beside the sample batches) ends the trial at the same sample', () => {
    fc.assert(
      fc.property(goodRate, ppt, seed, fc.integer({ min: 1, max: 200 }), (rateNPerS, pptN, seedValue, earlyBy) => {
        const { trace } = plan([{ rateNPerS, pptN, onset: 'mark' }], { periodMs: 10, noiseN: 0.05, seed: seedValue });
        const expected = analysePpt(trace, SETTINGS);
        const markIndex = trace.marked.indexOf(true);
        const analyser = new PptAnalyser(SETTINGS);
        for (let index = 0; index < trace.tMs.length; index++) {
          // The mark arrives `earlyBy` samples before the sample it marks.
          if (index === Math.max(0, markIndex - earlyBy)) analyser.mark(trace.tMs[markIndex] ?? 0);
          analyser.push(trace.tMs[index] ?? 0, trace.forceN[index] ?? 0);
        }
        analyser.finish();
        expect(analyser.results()).toEqual(expected);
      }),
      { numRuns: 40 },
    );
  });

  it('batches of any size give the same trials as one sample at a time, and events report each trial as it ends', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ rateNPerS: goodRate, pptN: ppt, onset: fc.constant('release' as const) }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 500 }), seed, (ramps, batchSize, seedValue) => {
        const { trace } = plan(ramps, { periodMs: 10, noiseN: 0.05, seed: seedValue });
        const expected = analysePpt(trace, SETTINGS);
        const analyser = new PptAnalyser(SETTINGS);
        const ended: PptTrial[] = [];
        let started = 0;
        for (let from = 0; from < trace.tMs.length; from += batchSize) {
          for (const event of analyser.pushBatch({ tMs: trace.tMs.slice(from, from + batchSize), forceN: trace.forceN.slice(from, from + batchSize) })) {
            if (event.type === 'trial.ended') ended.push(event.trial);
            else started++;
          }
        }
        analyser.finish();
        expect(analyser.results()).toEqual(expected);
        expect(ended).toEqual(expected.trials);
        expect(started).toBe(expected.trials.length);
      }),
      { numRuns: 40 },
    );
  });

  it('marks with no trial running or before its start are ignored; a trace that starts pressed waits for a release first', () => {
    const analyser = new PptAnalyser(SETTINGS);
    expect(analyser.mark(0)).toEqual([]);
    analyser.push(0, 5);
    analyser.push(10, 6);
    expect(analyser.state().phase).toBe('idle');
    analyser.push(20, 0.2);
    expect(analyser.state().phase).toBe('armed');
    expect(analyser.mark(15)).toEqual([]);
    const events = analyser.push(30, 1.5);
    expect(events).toEqual([{ type: 'trial.started', tMs: 30, startMs: 30 }]);
    expect(analyser.mark(25)).toEqual([]);
    analyser.push(530, 1.5 + 3.75);
    analyser.push(1030, 1.5 + 7.5);
    const state = analyser.state();
    expect(state).toMatchObject({ phase: 'ramp', tMs: 1030, forceN: 9, trial: { startMs: 30, elapsedMs: 1000, peakN: 9, guideN: 8.5 } });
    expectClose(state.trial?.rateNPerS ?? 0, 7.5, 1e-9, 'live rate');
    expectClose(state.trial?.rateKPaPerS ?? 0, 50, 1e-9, 'live rate in kPa/s');
    const [ended] = analyser.mark(1030);
    expect(ended).toMatchObject({ type: 'trial.ended', trial: { onset: 'mark', pptN: 9, onsetMs: 1030, valid: true } });
    // A trial with no onset when the data ends is no trial.
    analyser.push(2000, 0);
    analyser.push(2010, 3);
    analyser.push(3000, 10);
    expect(analyser.finish()).toEqual([]);
    expect(analyser.results().trials).toHaveLength(1);
  });

  it('a trial longer than its sample buffer is thinned, not grown: memory stays bounded and the rate is still right', () => {
    const analyser = new PptAnalyser({ ...SETTINGS, rateKPaPerS: 5 });
    // 0.75 N/s (5 kPa/s on 1.5 cm²) for 3 * MAX_TRIAL_SAMPLES samples at 1 kHz.
    analyser.push(0, 0);
    const count = 3 * MAX_TRIAL_SAMPLES;
    for (let index = 1; index <= count; index++) analyser.push(index, 1 + (index * 0.75) / 1000);
    const [ended] = analyser.mark(count);
    expect(ended?.type).toBe('trial.ended');
    if (ended?.type !== 'trial.ended') return;
    expectClose(ended.trial.rateNPerS, 0.75, 1e-6, 'rate');
    expect(ended.trial.onsetMs).toBe(count);
  });

  it('refuses what is not a trace: time going backwards, a number that is not finite, settings out of range', () => {
    const analyser = new PptAnalyser(SETTINGS);
    analyser.push(10, 0);
    expect(() => analyser.push(5, 0)).toThrow(RangeError);
    expect(() => analyser.push(20, Number.NaN)).toThrow(/finite/);
    expect(() => new PptAnalyser({ ...SETTINGS, areaCm2: 0 })).toThrow(/areaCm2/);
    expect(() => new PptAnalyser({ ...SETTINGS, rateKPaPerS: -1 })).toThrow(/rateKPaPerS/);
  });
});
