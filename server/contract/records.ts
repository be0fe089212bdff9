/**
 * What the recorder keeps and the review API serves, as zod schemas with their types
 * derived from them: recorded sessions with their holds (labelled by body area and knot)
 * and warnings, the whole-session force envelope, and hold trends over weeks. Declared
 * once here; the session store, the REST API, `npm run analyze -- --session` and the
 * dashboard's review pages all use these shapes.
 *
 * Times inside a session are device ms since the session's first sample, exactly as
 * `npm run analyze` prints them for a trace that starts at 0; wall-clock times (when a
 * session started) are ISO 8601 strings in UTC.
 *
 * Pipeline position: fan-out -> **recorder** -> session store -> REST API -> dashboard.
 */
import { z } from 'zod';
import { presetNameSchema } from '../engine/presets.ts';
import { engineConfigSchema, holdResultSchema, warningResultSchema } from '../engine/results.ts';

export const SESSION_STATUSES = ['recording', 'complete', 'interrupted'] as const;
/** `recording` while it goes on; `complete` once ended; `interrupted` if the server died while recording it. */
export const sessionStatusSchema = z.enum(SESSION_STATUSES);
export type SessionStatus = z.infer<typeof sessionStatusSchema>;

export const LABEL_MAX_CHARS = 60;

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
/** As above, but tab, line feed and carriage return, which a longer text (notes) may hold. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL_CHARACTERS_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
/** Half of a UTF-16 surrogate pair without its other half: text that no encoding can carry. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Refuses what no text field may hold: C0 and C1 control characters (U+0000 to U+001F,
 * U+007F to U+009F; `lines` lets tab and line breaks through) and unpaired surrogates.
 */
export function plainText<Schema extends z.ZodType<string>>(schema: Schema, options: { readonly lines?: boolean } = {}) {
  const controls = options.lines === true ? CONTROL_CHARACTERS_BUT_LINES : CONTROL_CHARACTERS;
  return schema
    .refine((text) => !controls.test(text), options.lines === true ? 'must not contain control characters (U+0000 to U+001F but tab and line breaks, U+007F to U+009F)' : 'must not contain control characters (line breaks, tabs, U+0000 to U+001F, U+007F to U+009F)')
    .refine((text) => !LONE_SURROGATE.test(text), 'must not contain an unpaired surrogate (half of a UTF-16 character): send well-formed text');
}

/** A body area or knot label as a person types it: trimmed, 1 to 60 characters, no control characters. */
export const labelTextSchema = plainText(
  z
    .string({ error: 'must be text' })
    .trim()
    .min(1, 'must not be empty (send null to clear it)')
    .max(LABEL_MAX_CHARS, `must be at most ${LABEL_MAX_CHARS} characters`),
);

/** Where on the body a hold was and which knot: set live from the dashboard, editable later. */
export const holdLabelSchema = z.strictObject({
  bodyArea: labelTextSchema.nullable(),
  knot: labelTextSchema.nullable(),
});
export type HoldLabel = z.infer<typeof holdLabelSchema>;

export const NO_LABEL: HoldLabel = Object.freeze({ bodyArea: null, knot: null });

/**
 * A recorded hold: the engine's figures (times relative to the session), its place in
 * the session (`number`: 1 for the first hold, as the dashboard, the CSV exports and
 * `analyze` count them, and as `PATCH /api/sessions/:id/holds/:number` takes it), its
 * label, and the target it was held against (the preset may change during a session).
 */
export const recordedHoldSchema = holdResultSchema.extend({
  number: z.number().int().positive(),
  targetHoldMs: z.number().positive(),
  bodyArea: z.string().nullable(),
  knot: z.string().nullable(),
});
export type RecordedHold = z.infer<typeof recordedHoldSchema>;

/** A session in a list: who, when, how long, and what it held. */
export const sessionSummarySchema = z.strictObject({
  id: z.number().int().positive(),
  deviceId: z.string(),
  /**
   * The device's display name as it is now (kept per device id, server/devices/names.ts):
   * the review API fills it in; a store's own records have none.
   */
  deviceName: z.string().optional(),
  /** The device spec it was recorded from, e.g. `sim:treatment?...`, `serial:/dev/ttyACM0`, `replay:trace.csv`. */
  spec: z.string(),
  transport: z.string(),
  sensor: z.string(),
  /** The body-area preset it started with, or null for a custom config. */
  preset: presetNameSchema.nullable(),
  status: sessionStatusSchema,
  /** Wall-clock time of the session's first sample. */
  startedAt: z.iso.datetime(),
  /** Wall-clock time it ended, or null while recording. */
  endedAt: z.iso.datetime().nullable(),
  /** Device time from its first sample to its last. */
  durationMs: z.number().nonnegative(),
  holdCount: z.number().int().nonnegative(),
  totalHoldMs: z.number().nonnegative(),
  warningCount: z.number().int().nonnegative(),
  /** The distinct body areas and knots its holds are labelled with. */
  bodyAreas: z.array(z.string()),
  knots: z.array(z.string()),
  /** The distinct labels (body area and knot as one) of its labelled holds, in order. */
  labels: z.array(holdLabelSchema),
  notes: z.string(),
});
export type SessionSummary = z.infer<typeof sessionSummarySchema>;

/** Null before any text, then text by its code units: the order SQLite's `ORDER BY` gives labels (bar characters beyond U+FFFF). */
function compareLabelText(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

/** A session summary's label fields from its holds, as the store computes them. */
export function summaryLabels(holds: readonly HoldLabel[]): Pick<SessionSummary, 'bodyAreas' | 'knots' | 'labels'> {
  const distinct = (values: (string | null)[]): string[] => [...new Set(values.filter((value): value is string => value !== null))].sort(compareLabelText);
  const labels = new Map<string, HoldLabel>();
  for (const { bodyArea, knot } of holds) {
    if (bodyArea !== null || knot !== null) labels.set(JSON.stringify([bodyArea, knot]), { bodyArea, knot });
  }
  return {
    bodyAreas: distinct(holds.map((hold) => hold.bodyArea)),
    knots: distinct(holds.map((hold) => hold.knot)),
    labels: [...labels.values()].sort((a, b) => compareLabelText(a.bodyArea, b.bodyArea) || compareLabelText(a.knot, b.knot)),
  };
}

/** One session whole: its summary, engine settings, holds and warnings. */
export const sessionDetailSchema = sessionSummarySchema.extend({
  /** The engine's settings when the session started. */
  engineConfig: engineConfigSchema,
  /** Device time (ms, the device's own clock) of the first sample: every time here is relative to it. */
  firstDeviceMs: z.number(),
  sampleCount: z.number().int().nonnegative(),
  holds: z.array(recordedHoldSchema),
  /** Over-pressure warnings, oldest first; one still open when recording stopped has `endMs: null`. */
  warnings: z.array(warningResultSchema),
});
export type SessionDetail = z.infer<typeof sessionDetailSchema>;

export const sessionPageSchema = z.strictObject({
  sessions: z.array(sessionSummarySchema),
  /** How many sessions match the filters (all pages). */
  total: z.number().int().nonnegative(),
  limit: z.number().int().positive(),
  offset: z.number().int().nonnegative(),
});
export type SessionPage = z.infer<typeof sessionPageSchema>;

/**
 * The force over a stretch of a session, thinned to at most `maxPoints` entries: each is
 * the lowest and highest force in a bucket of `bucketMs` (at the bucket's middle), so a
 * spike is never averaged away. `exact`: the stretch had no more samples than that, and
 * each entry is one sample (min = max). Buckets without samples are left out: a gap
 * longer than `bucketMs` between two entries is missing data.
 */
export const sampleEnvelopeSchema = z.strictObject({
  fromMs: z.number(),
  toMs: z.number(),
  bucketMs: z.number().nonnegative(),
  exact: z.boolean(),
  tMs: z.array(z.number()),
  minN: z.array(z.number()),
  maxN: z.array(z.number()),
});
export type SampleEnvelope = z.infer<typeof sampleEnvelopeSchema>;

/** One hold in a trend: when it happened (wall clock) and its figures. */
export const trendHoldSchema = z.strictObject({
  sessionId: z.number().int().positive(),
  /** The hold's `number` in its session (from 1). */
  holdNumber: z.number().int().positive(),
  at: z.iso.datetime(),
  durationMs: z.number().nonnegative(),
  meanN: z.number(),
  peakN: z.number(),
  targetHoldMs: z.number().positive(),
});
export type TrendHold = z.infer<typeof trendHoldSchema>;

/** A week's holds of one body area and knot (weeks start on Monday, UTC). */
export const trendWeekSchema = z.strictObject({
  weekStart: z.iso.date(),
  holdCount: z.number().int().positive(),
  medianDurationMs: z.number().nonnegative(),
  longestDurationMs: z.number().nonnegative(),
  medianPeakN: z.number(),
  highestPeakN: z.number(),
});
export type TrendWeek = z.infer<typeof trendWeekSchema>;

/** The holds of one body area and knot (null: not labelled) over time. */
export const trendGroupSchema = z.strictObject({
  bodyArea: z.string().nullable(),
  knot: z.string().nullable(),
  holds: z.array(trendHoldSchema),
  weeks: z.array(trendWeekSchema),
});
export type TrendGroup = z.infer<typeof trendGroupSchema>;

export const trendsSchema = z.strictObject({ groups: z.array(trendGroupSchema) });
export type Trends = z.infer<typeof trendsSchema>;
