// The algometer page's pace cue and the thinning of a trial to what one posted trial may
// hold (dashboard/src/lib/algometer-pace.ts).
import { describe, expect, it } from 'vitest';
import { MAX_PPT_TRIAL_SAMPLES, pptTrialSamplesSchema } from '../../../server/contract/ppt.ts';
import { PACE_AFTER_MS, paceOf, thinned } from '../../../dashboard/src/lib/algometer-pace.ts';

describe('paceOf', () => {
  it('says nothing without a rate or before the press has run long enough to judge', () => {
    expect(paceOf(null, 50, 2000)).toBeNull();
    expect(paceOf(200, 50, PACE_AFTER_MS - 1)).toBeNull();
  });

  it('says slower above 120 % of the target, faster below 80 %, steady between', () => {
    expect(paceOf(60.1, 50, PACE_AFTER_MS)).toBe('slower');
    expect(paceOf(60, 50, PACE_AFTER_MS)).toBe('steady');
    expect(paceOf(40, 50, PACE_AFTER_MS)).toBe('steady');
    expect(paceOf(39.9, 50, PACE_AFTER_MS)).toBe('faster');
  });
});

describe('thinned', () => {
  const ramp = (count: number) => ({ tMs: Array.from({ length: count }, (_, index) => index), forceN: Array.from({ length: count }, (_, index) => index / 100), markMs: count - 1 });

  it('leaves a trial that fits as it is', () => {
    const samples = ramp(MAX_PPT_TRIAL_SAMPLES);
    expect(thinned(samples)).toBe(samples);
  });

  it.each([MAX_PPT_TRIAL_SAMPLES + 1, 2 * MAX_PPT_TRIAL_SAMPLES, 2 * MAX_PPT_TRIAL_SAMPLES + 1, 60_000])('thins %i samples to what a posted trial holds, keeping the first, the last and the mark', (count) => {
    const samples = ramp(count);
    const kept = thinned(samples);
    expect(kept.tMs.length).toBeLessThanOrEqual(MAX_PPT_TRIAL_SAMPLES);
    expect(kept.tMs.length).toBeGreaterThan(MAX_PPT_TRIAL_SAMPLES / 3);
    expect([kept.tMs[0], kept.tMs.at(-1), kept.markMs]).toEqual([0, count - 1, count - 1]);
    expect(kept.forceN).toEqual(kept.tMs.map((tMs) => tMs / 100));
    expect(pptTrialSamplesSchema.safeParse(kept).success).toBe(true);
  });
});
