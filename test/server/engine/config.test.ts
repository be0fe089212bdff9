// Presets and config validation: the presets are docs/engine.md's table; the shared example
// config is accepted as is; a config may start from a preset; every rule is refused with
// a message naming the field and the rule.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeEngineConfig, parseEngineConfig, PRESET_NAMES, PRESETS, presetConfig } from '../../../server/engine/presets.ts';
import { ENGINE_CONFIG_FIELDS, engineConfigSchema } from '../../../server/engine/results.ts';

const SHARED_CONFIG: unknown = JSON.parse(readFileSync(new URL('../../fixtures/traces/config.json', import.meta.url), 'utf8'));

/** The message parseEngineConfig gives, or a failure if it accepts the config. */
function refusal(json: unknown): string {
  try {
    parseEngineConfig(json, 'my-config.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error(`accepted ${JSON.stringify(json)}`);
}

describe('presets', () => {
  it('are the table of docs/engine.md with the shared times', () => {
    const shared = { holdMinMs: 3000, dropoutMs: 300, overDebounceMs: 100, overClearMs: 500 };
    expect(PRESET_NAMES).toEqual(['neck', 'shoulders', 'upper-back']);
    expect(PRESETS.neck).toEqual({ bandLowN: 8, bandHighN: 18, overLimitN: 25, overClearN: 22, targetHoldMs: 30_000, maxHoldMs: 60_000, ...shared });
    expect(PRESETS.shoulders).toEqual({ bandLowN: 15, bandHighN: 30, overLimitN: 45, overClearN: 40, targetHoldMs: 60_000, maxHoldMs: 90_000, ...shared });
    expect(PRESETS['upper-back']).toEqual({ bandLowN: 20, bandHighN: 40, overLimitN: 60, overClearN: 54, targetHoldMs: 60_000, maxHoldMs: 120_000, ...shared });
  });

  it('pass their own validation, and presetConfig hands out a copy', () => {
    for (const name of PRESET_NAMES) expect(engineConfigSchema.parse(PRESETS[name])).toEqual(PRESETS[name]);
    const copy = presetConfig('neck');
    copy.bandLowN = 1;
    expect(PRESETS.neck.bandLowN).toBe(8);
  });

  it('describe themselves in one line', () => {
    expect(describeEngineConfig(PRESETS.shoulders)).toBe('band 15-30 N, limit 45 N (clears below 40 N for 0.5 s), hold from 3 s, target 60 s, release after 90 s');
  });
});

describe('parseEngineConfig', () => {
  it('accepts the shared example config as is', () => {
    expect(parseEngineConfig(SHARED_CONFIG, 'config.json')).toEqual({ ...PRESETS.shoulders, maxHoldMs: 120_000 });
  });

  it('accepts a preset with only the fields that differ, and a preset alone', () => {
    expect(parseEngineConfig({ preset: 'neck', overLimitN: 23 }, 'x')).toEqual({ ...PRESETS.neck, overLimitN: 23 });
    expect(parseEngineConfig({ preset: 'upper-back' }, 'x')).toEqual(PRESETS['upper-back']);
  });

  it('refuses a band whose low is not below its high', () => {
    expect(refusal({ preset: 'shoulders', bandLowN: 30 })).toBe('my-config.json: bandLowN (30 N) must be below bandHighN (30 N): the band needs a width');
    expect(refusal({ preset: 'shoulders', bandLowN: 31 })).toMatch(/^my-config\.json: bandLowN \(31 N\) must be below bandHighN/);
  });

  it('refuses a limit inside (or below) the band', () => {
    expect(refusal({ preset: 'shoulders', overLimitN: 30, overClearN: 20 })).toBe(
      'my-config.json: overLimitN (30 N) must be above bandHighN (30 N): a limit inside the band would alarm on a good press',
    );
    expect(refusal({ preset: 'shoulders', overLimitN: 20, overClearN: 10 })).toMatch(/overLimitN \(20 N\) must be above bandHighN/);
  });

  it('refuses a clear level not below the limit', () => {
    expect(refusal({ preset: 'shoulders', overClearN: 45 })).toBe(
      'my-config.json: overClearN (45 N) must be below overLimitN (45 N): a warning clears only once the force is back under the limit',
    );
    expect(refusal({ preset: 'shoulders', overClearN: 50 })).toMatch(/overClearN \(50 N\) must be below overLimitN/);
  });

  it('refuses a negative or zero time, for every time field', () => {
    for (const field of ['holdMinMs', 'dropoutMs', 'overDebounceMs', 'overClearMs', 'targetHoldMs', 'maxHoldMs']) {
      expect(refusal({ preset: 'shoulders', [field]: -5 })).toContain(`${field} must be a time above 0 ms, got -5`);
      expect(refusal({ preset: 'shoulders', [field]: 0 })).toContain(`${field} must be a time above 0 ms, got 0`);
    }
  });

  it('refuses a force of zero or below', () => {
    expect(refusal({ preset: 'shoulders', bandLowN: 0 })).toBe('my-config.json: bandLowN must be above 0 N, got 0');
    expect(refusal({ preset: 'neck', overClearN: -1 })).toContain('overClearN must be above 0 N, got -1');
  });

  it('refuses a target shorter than holdMinMs and a maximum not after the target', () => {
    expect(refusal({ preset: 'neck', targetHoldMs: 2000 })).toContain('targetHoldMs (2000 ms) must be at least holdMinMs (3000 ms)');
    expect(refusal({ preset: 'neck', maxHoldMs: 30_000 })).toContain('maxHoldMs (30000 ms) must be above targetHoldMs (30000 ms)');
  });

  it('refuses an unknown field, suggesting the right spelling when it is only the case', () => {
    expect(refusal({ preset: 'neck', bandlowN: 5 })).toBe('my-config.json: unknown field "bandlowN" (did you mean bandLowN?)');
    expect(refusal({ ...(SHARED_CONFIG as object), colour: 'red' })).toMatch(/unknown field "colour" \(the fields are preset, bandLowN, .*maxHoldMs\)/);
  });

  it('refuses a value of the wrong type, naming the field', () => {
    expect(refusal({ preset: 'neck', bandHighN: '20' })).toBe('my-config.json: bandHighN must be a number of newtons, got "20"');
    expect(refusal({ preset: 'neck', dropoutMs: null })).toBe('my-config.json: dropoutMs must be a number of milliseconds, got null');
  });

  it('refuses a config without a preset that leaves fields out, naming each', () => {
    const partial: Record<string, unknown> = { ...(SHARED_CONFIG as object) };
    delete partial.maxHoldMs;
    delete partial.dropoutMs;
    const message = refusal(partial);
    expect(message).toContain('dropoutMs is missing: give every field, or a "preset"');
    expect(message).toContain('maxHoldMs is missing');
  });

  it('refuses an unknown preset and anything but an object', () => {
    expect(refusal({ preset: 'knee' })).toBe('my-config.json: preset must be one of neck, shoulders, upper-back, got "knee"');
    expect(refusal([1, 2])).toBe('my-config.json: a config must be a JSON object such as {"preset": "neck", "overLimitN": 23}, got a list');
    expect(refusal(null)).toContain('got null');
    expect(refusal(42)).toContain('got a number');
  });

  it('lists every problem at once', () => {
    const error = (() => {
      try {
        parseEngineConfig({ preset: 'neck', bandLowN: 20, dropoutMs: 0, extra: 1 }, 'x');
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^unknown field "extra"/),
        'dropoutMs must be a time above 0 ms, got 0',
        'bandLowN (20 N) must be below bandHighN (18 N): the band needs a width',
      ]),
    );
    expect(error.problems).toHaveLength(3);
  });

  it('knows every field of the schema', () => {
    expect(Object.keys(engineConfigSchema.parse(PRESETS.neck)).sort()).toEqual([...ENGINE_CONFIG_FIELDS].sort());
  });
});
