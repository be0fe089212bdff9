/**
 * The pressure engine's data: its configuration, what it finds (holds, warnings) and the
 * events it emits, as zod schemas with their types derived from them. These are the
 * shapes that leave the engine: the `analyze` command prints them, the recorder stores
 * them and the live broadcaster sends them over socket.io, so everything here is plain
 * JSON data (numbers, strings, null; no Date, no Map, no undefined) and is declared once.
 *
 * Pipeline position: calibration (Reading, newtons on device time) -> **engine** -> fan-out.
 * The rules that produce these values are in `engine.ts`; presets and the validation of
 * a user's config file are in `presets.ts`.
 */
import { z } from 'zod';

/** Every field of the engine's configuration, in the order they are listed to users. */
export const ENGINE_CONFIG_FIELDS = [
  'bandLowN',
  'bandHighN',
  'overLimitN',
  'overClearN',
  'holdMinMs',
  'dropoutMs',
  'overDebounceMs',
  'overClearMs',
  'targetHoldMs',
  'maxHoldMs',
] as const;
export type EngineConfigField = (typeof ENGINE_CONFIG_FIELDS)[number];

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'a list' : 'an object';
}

const forceField = (field: EngineConfigField) =>
  z
    .number({ error: (issue) => `${field} must be a number of newtons, got ${describeValue(issue.input)}` })
    .positive({ error: (issue) => `${field} must be above 0 N, got ${describeValue(issue.input)}` });

const timeField = (field: EngineConfigField) =>
  z
    .number({ error: (issue) => `${field} must be a number of milliseconds, got ${describeValue(issue.input)}` })
    .positive({ error: (issue) => `${field} must be a time above 0 ms, got ${describeValue(issue.input)}` });

/**
 * One engine configuration, complete. The rules between fields (each refused with a
 * message naming the field, the rule and the values):
 * - `bandLowN < bandHighN`: the band must have a width;
 * - `bandHighN < overLimitN`: a limit inside the band would alarm on a good press;
 * - `overClearN < overLimitN`: the warning clears below the limit (hysteresis), else it
 *   could clear while still over. A clear level inside the band is unusual but safe (the
 *   warning only lasts longer), so it is allowed;
 * - every force and every time above 0;
 * - `holdMinMs <= targetHoldMs < maxHoldMs`: `hold.target` comes after `hold.started`,
 *   and the "release" cue after the target.
 */
export const engineConfigSchema = z
  .strictObject({
    /** Below this a reading is `below`: not pressing (or a dip inside a hold). */
    bandLowN: forceField('bandLowN'),
    /** Top of the target band; above it and under the limit is `above` (firm). */
    bandHighN: forceField('bandHighN'),
    /** At or above this a reading is `over`; held for `overDebounceMs` it is a warning. */
    overLimitN: forceField('overLimitN'),
    /** A warning ends once the force stays below this for `overClearMs`. */
    overClearN: forceField('overClearN'),
    /** Shorter presses are searching, not holding: not recorded, no events. */
    holdMinMs: timeField('holdMinMs'),
    /** A dip below `bandLowN` shorter than this does not end a hold. */
    dropoutMs: timeField('dropoutMs'),
    /** A run at or over the limit shorter than this is an impact, not a press. */
    overDebounceMs: timeField('overDebounceMs'),
    overClearMs: timeField('overClearMs'),
    /** `hold.target`: the hold has lasted long enough to do its work. */
    targetHoldMs: timeField('targetHoldMs'),
    /** `hold.long`: the hold has lasted longer than this; time to release. */
    maxHoldMs: timeField('maxHoldMs'),
  })
  .superRefine((config, context) => {
    const refuse = (field: EngineConfigField, message: string): void => {
      context.addIssue({ code: 'custom', path: [field], message, input: config[field] });
    };
    if (!(config.bandLowN < config.bandHighN)) {
      refuse('bandLowN', `bandLowN (${config.bandLowN} N) must be below bandHighN (${config.bandHighN} N): the band needs a width`);
    }
    if (!(config.bandHighN < config.overLimitN)) {
      refuse('overLimitN', `overLimitN (${config.overLimitN} N) must be above bandHighN (${config.bandHighN} N): a limit inside the band would alarm on a good press`);
    }
    if (!(config.overClearN < config.overLimitN)) {
      refuse('overClearN', `overClearN (${config.overClearN} N) must be below overLimitN (${config.overLimitN} N): a warning clears only once the force is back under the limit`);
    }
    if (!(config.targetHoldMs >= config.holdMinMs)) {
      refuse('targetHoldMs', `targetHoldMs (${config.targetHoldMs} ms) must be at least holdMinMs (${config.holdMinMs} ms): a press shorter than holdMinMs is not a hold`);
    }
    if (!(config.maxHoldMs > config.targetHoldMs)) {
      refuse('maxHoldMs', `maxHoldMs (${config.maxHoldMs} ms) must be above targetHoldMs (${config.targetHoldMs} ms): the release cue comes after the target`);
    }
  });
export type EngineConfig = z.infer<typeof engineConfigSchema>;

/**
 * Where a reading `f` sits: `below` f < bandLowN; `band` bandLowN <= f <= bandHighN;
 * `above` bandHighN < f < overLimitN; `over` f >= overLimitN.
 */
export const zoneSchema = z.enum(['below', 'band', 'above', 'over']);
export type Zone = z.infer<typeof zoneSchema>;

/**
 * A recorded hold. Times are device time in ms. `meanN` is the plain mean of every sample
 * from start to end, dips included; `timeInBandMs` / `timeOverMs` are the time owned by
 * samples in `band` / `over` between start and end (see `engine.ts` for what a sample
 * owns), so they never add up to more than `durationMs`.
 */
export const holdResultSchema = z.strictObject({
  startMs: z.number(),
  endMs: z.number(),
  durationMs: z.number().nonnegative(),
  meanN: z.number(),
  peakN: z.number(),
  timeInBandMs: z.number().nonnegative(),
  timeOverMs: z.number().nonnegative(),
});
export type HoldResult = z.infer<typeof holdResultSchema>;

/**
 * An over-pressure warning. `startMs`: first sample of the over-limit run that fired it;
 * `alertMs`: the sample at which it fired (`overDebounceMs` into the run); `endMs`: first
 * sample of the below-`overClearN` run that cleared it, `null` while it is open; `peakN`:
 * highest sample from start to end (so far, while open).
 */
export const warningResultSchema = z.strictObject({
  startMs: z.number(),
  alertMs: z.number(),
  endMs: z.number().nullable(),
  peakN: z.number(),
});
export type WarningResult = z.infer<typeof warningResultSchema>;

export const engineResultsSchema = z.strictObject({
  holds: z.array(holdResultSchema),
  warnings: z.array(warningResultSchema),
});
export type EngineResults = z.infer<typeof engineResultsSchema>;

/**
 * Everything the engine emits. `tMs` is the device time of the sample that caused the
 * event (for `hold.ended` at the end of data: the last sample). Events of one sample come
 * in this order: `zone.changed`, then hold events, then warning events.
 */
export const engineEventSchema = z.discriminatedUnion('type', [
  /** The zone of this sample differs from the previous sample's (`previous` null: first sample). */
  z.strictObject({ type: z.literal('zone.changed'), tMs: z.number(), zone: zoneSchema, previous: zoneSchema.nullable(), forceN: z.number() }),
  /** The current press has lasted `holdMinMs`: it is a hold and will be recorded. */
  z.strictObject({ type: z.literal('hold.started'), tMs: z.number(), startMs: z.number() }),
  /** The hold has lasted `targetHoldMs`. */
  z.strictObject({ type: z.literal('hold.target'), tMs: z.number(), startMs: z.number() }),
  /** The hold has lasted more than `maxHoldMs`: time to release. */
  z.strictObject({ type: z.literal('hold.long'), tMs: z.number(), startMs: z.number() }),
  /** A recorded hold is over (its dip reached `dropoutMs`, or the data ended). */
  z.strictObject({ type: z.literal('hold.ended'), tMs: z.number(), hold: holdResultSchema }),
  /** A warning fired (`tMs` is its `alertMs`); its `endMs` is null. */
  z.strictObject({ type: z.literal('over.started'), tMs: z.number(), warning: warningResultSchema }),
  /** The warning's clear is confirmed (`overClearMs` after its `endMs`, on regular data). */
  z.strictObject({ type: z.literal('over.ended'), tMs: z.number(), warning: warningResultSchema }),
]);
export type EngineEvent = z.infer<typeof engineEventSchema>;
export type EngineEventType = EngineEvent['type'];

/**
 * A snapshot for a client that connects mid-session: the last sample, its zone, the press
 * in progress (if any) and the open warning (if any). `hold.started` says whether the press
 * has already lasted `holdMinMs` (it is a hold; before that it may still turn out to be a
 * search). `hold.elapsedMs` runs from the hold's start to the last sample, through dips;
 * `hold.meanN`/`peakN` cover the hold up to its last sample at or above `bandLowN`.
 */
export const engineStateSchema = z.strictObject({
  tMs: z.number().nullable(),
  forceN: z.number().nullable(),
  zone: zoneSchema.nullable(),
  hold: z
    .strictObject({
      startMs: z.number(),
      elapsedMs: z.number().nonnegative(),
      started: z.boolean(),
      targetReached: z.boolean(),
      longReached: z.boolean(),
      inDip: z.boolean(),
      meanN: z.number(),
      peakN: z.number(),
    })
    .nullable(),
  warning: warningResultSchema.nullable(),
});
export type EngineState = z.infer<typeof engineStateSchema>;
