// The preset-from-PPT rule's bounds (server/engine/preset-from-ppt.ts): for every PPT it
// accepts, the band is 50-80 % of it, the limit is the PPT (never above the device's alarm
// ceiling), the times are the preset's it replaces, and the result is a valid engine
// config; a PPT too low, too high or above the ceiling is refused saying why.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PRESET_PPT_N, MIN_PRESET_PPT_N, presetFromPpt } from '../../../server/engine/preset-from-ppt.ts';
import { PRESET_NAMES, presetConfig } from '../../../server/engine/presets.ts';
import { engineConfigSchema } from '../../../server/engine/results.ts';

describe('a preset from a PPT', () => {
  it('band 50-80 % of the PPT, limit at the PPT, clearing at 90 %, the times of the preset in force, within the ceiling', () => {
    fc.assert(
      fc.property(fc.double({ min: MIN_PRESET_PPT_N, max: MAX_PRESET_PPT_N, noNaN: true }), fc.constantFrom(...PRESET_NAMES), fc.option(fc.double({ min: 1, max: 500, noNaN: true })), (pptN, name, ceilingN) => {
        const base = presetConfig(name);
        const made = presetFromPpt({ pptN, ceilingN, base });
        if (ceilingN !== null && pptN > ceilingN) {
          expect(made).toEqual({ ok: false, reason: expect.stringMatching(/above the device's alarm ceiling/) as unknown });
          return;
        }
        expect(made.ok).toBe(true);
        if (!made.ok) return;
        expect(engineConfigSchema.safeParse(made.config).success).toBe(true);
        expect(made.config).toMatchObject({ overLimitN: pptN, holdMinMs: base.holdMinMs, targetHoldMs: base.targetHoldMs, maxHoldMs: base.maxHoldMs, dropoutMs: base.dropoutMs });
        expect(made.config.bandLowN).toBeCloseTo(pptN * 0.5, 9);
        expect(made.config.bandHighN).toBeCloseTo(pptN * 0.8, 9);
        expect(made.config.overClearN).toBeCloseTo(pptN * 0.9, 9);
        if (ceilingN !== null) expect(made.config.overLimitN).toBeLessThanOrEqual(ceilingN);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a PPT too low for a sane band, one beyond any knot, one above the ceiling, and one that is not a number', () => {
    const base = presetConfig('neck');
    expect(presetFromPpt({ pptN: MIN_PRESET_PPT_N - 0.01, ceilingN: null, base })).toEqual({ ok: false, reason: expect.stringMatching(/^the PPT \(3.99 N\) is too low for a preset: .* at least 4 N/) as unknown });
    expect(presetFromPpt({ pptN: MIN_PRESET_PPT_N, ceilingN: null, base }).ok).toBe(true);
    expect(presetFromPpt({ pptN: MAX_PRESET_PPT_N + 0.01, ceilingN: null, base })).toEqual({ ok: false, reason: expect.stringMatching(/^the PPT \(150.01 N\) is above 150 N, higher than any knot's threshold: check the measurement/) as unknown });
    expect(presetFromPpt({ pptN: 30, ceilingN: 29.99, base })).toEqual({ ok: false, reason: expect.stringMatching(/^the PPT \(30 N\) is above the device's alarm ceiling \(29.99 N\)/) as unknown });
    expect(presetFromPpt({ pptN: 30, ceilingN: 30, base }).ok).toBe(true);
    expect(presetFromPpt({ pptN: Number.NaN, ceilingN: null, base }).ok).toBe(false);
  });
});
