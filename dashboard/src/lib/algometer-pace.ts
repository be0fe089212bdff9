/**
 * The algometer page's pure parts (server/engine/ppt.ts does the analysis): the pace cue
 * for the live rate against the target, and thinning a trial's samples to what one
 * posted trial may hold.
 */
import { MAX_PPT_TRIAL_SAMPLES, type PptTrialSamples } from '../../../server/contract/ppt.ts';

/** Within this fraction of the target rate the pace is right; outside it the guide says slower or faster (a trial is invalid only past PPT_RATE_TOLERANCE). */
export const PACE_TOLERANCE = 0.2;
/** No pace cue before the trial has run this long: the first moments of a press say little about its rate. */
export const PACE_AFTER_MS = 700;

export type Pace = 'slower' | 'faster' | 'steady' | null;

/** The pace cue for a rate against its target: `null` until there is a rate to judge. */
export function paceOf(rateKPaPerS: number | null, targetKPaPerS: number, elapsedMs: number): Pace {
  if (rateKPaPerS === null || elapsedMs < PACE_AFTER_MS) return null;
  if (rateKPaPerS > targetKPaPerS * (1 + PACE_TOLERANCE)) return 'slower';
  if (rateKPaPerS < targetKPaPerS * (1 - PACE_TOLERANCE)) return 'faster';
  return 'steady';
}

/** Keeps at most `max` samples by an even stride, the first and the last always kept. */
export function thinned(samples: PptTrialSamples, max = MAX_PPT_TRIAL_SAMPLES): PptTrialSamples {
  const count = samples.tMs.length;
  if (count <= max) return samples;
  const stride = Math.ceil((count - 1) / (max - 1));
  const keep = (_: number, index: number): boolean => index % stride === 0 || index === count - 1;
  return { tMs: samples.tMs.filter(keep), forceN: samples.forceN.filter(keep), markMs: samples.markMs };
}

