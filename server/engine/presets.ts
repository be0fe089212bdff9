/**
 * Engine configurations: the body-area presets of docs/engine.md and the validation of a
 * user's config (a file, a settings form, a message), which either yields a complete
 * `EngineConfig` or a `ConfigError` naming each field that is wrong and the rule it breaks.
 * No I/O here (the caller reads the file and parses its JSON), so the dashboard can import
 * the presets for its picker.
 *
 * Pipeline position: configures the pressure engine (`engine.ts`); the shapes are in
 * `results.ts`.
 *
 * A config is a JSON object. Either it gives every field of `EngineConfig`, or it names a
 * `"preset"` and gives only the fields it changes:
 *
 *   {"preset": "neck", "overLimitN": 23}
 *
 * Unknown fields are refused (a typo would otherwise silently keep a default), and the
 * merged result must pass every rule of `engineConfigSchema`.
 */
import { z } from 'zod';
import { ENGINE_CONFIG_FIELDS, engineConfigSchema, type EngineConfig } from './results.ts';

export const PRESET_NAMES = ['neck', 'shoulders', 'upper-back'] as const;
export const presetNameSchema = z.enum(PRESET_NAMES);
export type PresetName = z.infer<typeof presetNameSchema>;

/** Labels for a preset picker. */
export const PRESET_LABELS: Readonly<Record<PresetName, string>> = {
  neck: 'Neck',
  shoulders: 'Shoulders (upper trapezius)',
  'upper-back': 'Upper back',
};

/** The preset the `analyze` command and a new device start from: the simulator's band. */
export const DEFAULT_PRESET: PresetName = 'shoulders';

/**
 * Shared by every preset (docs/engine.md, "Presets"): shorter presses are searching, not holding; a hand
 * wobble does not end a hold; a knock is not a press.
 */
const SHARED_TIMES = { holdMinMs: 3000, dropoutMs: 300, overDebounceMs: 100, overClearMs: 500 } as const;

/** docs/engine.md, "Presets" (newtons, 1.5 cm^2 tip). */
export const PRESETS: Readonly<Record<PresetName, Readonly<EngineConfig>>> = {
  neck: Object.freeze({ bandLowN: 8, bandHighN: 18, overLimitN: 25, overClearN: 22, ...SHARED_TIMES, targetHoldMs: 30_000, maxHoldMs: 60_000 }),
  shoulders: Object.freeze({ bandLowN: 15, bandHighN: 30, overLimitN: 45, overClearN: 40, ...SHARED_TIMES, targetHoldMs: 60_000, maxHoldMs: 90_000 }),
  'upper-back': Object.freeze({ bandLowN: 20, bandHighN: 40, overLimitN: 60, overClearN: 54, ...SHARED_TIMES, targetHoldMs: 60_000, maxHoldMs: 120_000 }),
};

/** A copy of a preset's configuration. */
export function presetConfig(name: PresetName): EngineConfig {
  return { ...PRESETS[name] };
}

/** A config that cannot be used; `problems` has one message per wrong field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(`${source}: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

const KNOWN_FIELDS: readonly string[] = ['preset', ...ENGINE_CONFIG_FIELDS];

function unknownFieldMessage(key: string): string {
  const lower = key.toLowerCase();
  const alike = KNOWN_FIELDS.find((field) => field.toLowerCase() === lower);
  const hint = alike === undefined ? `the fields are ${KNOWN_FIELDS.join(', ')}` : `did you mean ${alike}?`;
  return `unknown field ${JSON.stringify(key)} (${hint})`;
}

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}

/**
 * Validates a config (already parsed from JSON) and returns the complete configuration.
 * `source` names where it came from (a file name, "settings") at the start of the message.
 * @throws ConfigError naming every wrong field and the rule it breaks.
 */
export function parseEngineConfig(json: unknown, source: string): EngineConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(source, [`a config must be a JSON object such as {"preset": "neck", "overLimitN": 23}, got ${describeJson(json)}`]);
  }
  const { preset, ...fields } = json as Record<string, unknown>;
  let base: Partial<EngineConfig> = {};
  if (preset !== undefined) {
    const name = presetNameSchema.safeParse(preset);
    if (!name.success) {
      throw new ConfigError(source, [`preset must be one of ${PRESET_NAMES.join(', ')}, got ${JSON.stringify(preset)}`]);
    }
    base = PRESETS[name.data];
  }
  const merged: Record<string, unknown> = { ...base, ...fields };
  const checked = engineConfigSchema.safeParse(merged);
  if (checked.success) return checked.data;

  const problems: string[] = [];
  for (const issue of checked.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      problems.push(...issue.keys.map(unknownFieldMessage));
    } else if (issue.code === 'invalid_type' && issue.path.length === 1 && merged[String(issue.path[0])] === undefined) {
      problems.push(`${String(issue.path[0])} is missing: give every field, or a "preset" (${PRESET_NAMES.join(', ')}) and only the fields that differ from it`);
    } else {
      problems.push(issue.message);
    }
  }
  throw new ConfigError(source, problems);
}

/** One line for people: "band 15-30 N, limit 45 N (clears below 40 N), target 60 s". */
export function describeEngineConfig(config: EngineConfig): string {
  const seconds = (ms: number): string => `${ms / 1000} s`;
  return (
    `band ${config.bandLowN}-${config.bandHighN} N, limit ${config.overLimitN} N (clears below ${config.overClearN} N ` +
    `for ${seconds(config.overClearMs)}), hold from ${seconds(config.holdMinMs)}, target ${seconds(config.targetHoldMs)}, ` +
    `release after ${seconds(config.maxHoldMs)}`
  );
}
