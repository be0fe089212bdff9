// Synthetic PPT trials for the store and REST tests: what the dashboard posts per trial.
import type { PptTrialSamples } from '../../../server/contract/ppt.ts';

/** One trial's samples: rest, then a ramp at `rateNPerS` to `pptN` marked there (100 Hz). */
export function rampSamples(pptN: number, rateNPerS = 7.5, startMs = 0): PptTrialSamples {
  const tMs: number[] = [];
  const forceN: number[] = [];
  let t = startMs;
  const add = (force: number): void => {
    tMs.push(t);
    forceN.push(force);
    t += 10;
  };
  for (let index = 0; index < 20; index++) add(0);
  for (let force = 0; force < pptN; force += rateNPerS / 100) add(force);
  add(pptN);
  t -= 10;
  return { tMs, forceN, markMs: t };
}
