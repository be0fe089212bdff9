/**
 * A treatment preset from a knot's pressure-pain threshold (docs/ppt.md, "A preset from
 * the PPT"): the band from 50 % to 80 % of the PPT, the
 * over-pressure limit at the PPT (clearing below 90 % of it), never above the device's
 * own alarm ceiling, the times of the preset it replaces. Pure: the caller gives the PPT,
 * the ceiling in newtons (through the device's calibration) and the preset in force.
 *
 *   const made = presetFromPpt({ pptN: 22.7, ceilingN: 60, base: presetConfig('shoulders') });
 *   if (made.ok) made.config  // band 11.35-18.16 N, limit 22.7 N
 *   else made.reason           // why no sane preset can be made from it
 *
 * Pipeline position: PPT records -> **preset from PPT** -> previewed over REST, accepted into
 * a knot preset, then run by the pressure engine whenever the knot is labelled.
 */
import { engineConfigSchema, type EngineConfig } from './results.ts';

export const PPT_BAND_LOW_FRACTION = 0.5;
export const PPT_BAND_HIGH_FRACTION = 0.8;
/** The limit's warning clears below this fraction of it (the presets' own hysteresis is 88-90 %). */
export const PPT_CLEAR_FRACTION = 0.9;
/** Below this PPT the band (2 to 3.2 N) would sit in sensor noise and the start of a press. */
export const MIN_PRESET_PPT_N = 4;
/** Above this no knot's threshold lies (upper-back PPTs are some 60 N on 1.5 cm²): a measurement to check, not a preset. */
export const MAX_PRESET_PPT_N = 150;

export type PresetFromPpt = { readonly ok: true; readonly config: EngineConfig } | { readonly ok: false; readonly reason: string };

const newtons = (forceN: number): string => `${Math.round(forceN * 100) / 100} N`;

export function presetFromPpt(input: { readonly pptN: number; readonly ceilingN: number | null; readonly base: EngineConfig }): PresetFromPpt {
  const { pptN, ceilingN, base } = input;
  if (!Number.isFinite(pptN) || pptN < MIN_PRESET_PPT_N) {
    return {
      ok: false,
      reason: `the PPT (${newtons(pptN)}) is too low for a preset: its band (50-80 %) would be within sensor noise and the start of a press; a PPT of at least ${newtons(MIN_PRESET_PPT_N)} is needed (measure again, or keep the preset in force)`,
    };
  }
  if (pptN > MAX_PRESET_PPT_N) {
    return { ok: false, reason: `the PPT (${newtons(pptN)}) is above ${newtons(MAX_PRESET_PPT_N)}, higher than any knot's threshold: check the measurement (and the calibration) before making a preset from it` };
  }
  if (ceilingN !== null && pptN > ceilingN) {
    return {
      ok: false,
      reason: `the PPT (${newtons(pptN)}) is above the device's alarm ceiling (${newtons(ceilingN)}): its limit would be one the device itself cannot sound at; keep the preset in force (the ceiling is set on the device: docs/hardware.md, "Alarm ceiling")`,
    };
  }
  const config: EngineConfig = {
    ...base,
    bandLowN: pptN * PPT_BAND_LOW_FRACTION,
    bandHighN: pptN * PPT_BAND_HIGH_FRACTION,
    overLimitN: pptN,
    overClearN: pptN * PPT_CLEAR_FRACTION,
  };
  const checked = engineConfigSchema.safeParse(config);
  if (!checked.success) return { ok: false, reason: `no valid preset from a PPT of ${newtons(pptN)}: ${checked.error.issues.map((issue) => issue.message).join('; ')}` };
  return { ok: true, config: checked.data };
}
