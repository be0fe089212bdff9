/**
 * Pressure-pain threshold (PPT) measurements: the analyser's settings and results (one
 * trial, the summary of three), a measurement as stored (device, knot, phase, trials,
 * summary), the REST bodies that save one and turn it into a preset, the PPT trends
 * across weeks and a session's before/after pair. Declared once here; the analyser
 * (`engine/ppt.ts`), `npm run analyze -- --ppt`, the store, the REST API and the
 * dashboard's algometer mode all use these shapes. docs/ppt.md explains the rules.
 *
 *   const trial = pptTrialSchema.parse(json);   // { startMs, onsetMs, onset: 'mark', pptN, ... }
 *
 * Pressures are kPa through the device's tip area (`areaCm2`); 1 kgf/cm² = 98.0665 kPa.
 *
 * Pipeline position: engine (PPT analyser) -> store -> REST API -> dashboard.
 */
import { z } from 'zod';
import { engineConfigSchema } from '../engine/results.ts';
import { labelTextSchema, plainText } from './records.ts';
import { deviceIdText as deviceIdQuery, FROM_BEFORE_TO, fromBeforeTo, labelFilter, MAX_PAGE_SIZE, timeZoneText, wallTimeText, wholeNumberText } from './requests.ts';

/** A trial starts when the force rises through this (newtons). */
export const DEFAULT_PPT_START_LEVEL_N = 1;
/** The DFNS quantitative sensory testing protocol's rate (about 5 N/s on 1 cm²). */
export const DEFAULT_PPT_RATE_KPA_S = 50;
/** Fischer's algometry: 1 kgf/cm² per second. */
export const FISCHER_PPT_RATE_KPA_S = 98.0665;
/** Trials per site, averaged (docs/ppt.md). */
export const PPT_TRIALS_PER_SITE = 3;
/** An onset sooner than this after the trial's start is a twitch, not a threshold. */
export const PPT_MIN_TRIAL_MS = 500;
/** A release: the force falls to half of its highest value of the last this-many ms. */
export const PPT_RELEASE_WINDOW_MS = 500;
/** A trial whose rate is off its target by more than this fraction of it is not valid. */
export const PPT_RATE_TOLERANCE = 0.5;
/**
 * The minimal detectable change of a PPT (Chesterton 2007, upper trapezius: MDC about
 * 17.4 N/cm², i.e. 174 kPa or 1.77 kgf/cm²): a smaller difference is within noise.
 */
export const PPT_MDC_KPA = 174;

/** kPa per newton on a tip of `areaCm2` (1 N on 1 cm² is 10 kPa). */
export function kPaPerNewton(areaCm2: number): number {
  return 10 / areaCm2;
}

/** What the analyser needs besides the samples; every field has its default. */
export const pptSettingsSchema = z.strictObject({
  startLevelN: z.number({ error: 'startLevelN must be a number of newtons' }).min(0.1, 'startLevelN must be at least 0.1 N (below that, sensor noise starts trials)').max(50, 'startLevelN must be at most 50 N'),
  rateKPaPerS: z.number({ error: 'rateKPaPerS must be a number of kPa per second' }).min(5, 'rateKPaPerS must be at least 5 kPa/s').max(500, 'rateKPaPerS must be at most 500 kPa/s'),
  areaCm2: z.number({ error: 'areaCm2 must be a number of cm²' }).min(0.1, 'areaCm2 must be at least 0.1 cm²').max(20, 'areaCm2 must be at most 20 cm²'),
});
export type PptSettings = z.infer<typeof pptSettingsSchema>;

export const DEFAULT_PPT_SETTINGS: Readonly<PptSettings> = Object.freeze({ startLevelN: DEFAULT_PPT_START_LEVEL_N, rateKPaPerS: DEFAULT_PPT_RATE_KPA_S, areaCm2: 1.5 });

export const PPT_ONSETS = ['mark', 'release'] as const;
export const pptOnsetSchema = z.enum(PPT_ONSETS);
export type PptOnset = z.infer<typeof pptOnsetSchema>;

/**
 * Why a trial is not valid, checked in this order: the onset came less than 0.5 s after
 * the start; the ramp's slope is not above 0; the rate is more than 50 % off the target.
 */
export const PPT_INVALID_REASONS = ['onset-too-soon', 'ramp-not-rising', 'rate-off-target'] as const;
export const pptInvalidReasonSchema = z.enum(PPT_INVALID_REASONS);
export type PptInvalidReason = z.infer<typeof pptInvalidReasonSchema>;

/** What each reason means, for people (the dashboard shows it beside the trial). */
export const PPT_REASON_TEXT: Readonly<Record<PptInvalidReason, string>> = {
  'onset-too-soon': 'the pain came less than 0.5 s after the press started: press again, slower',
  'ramp-not-rising': 'the force was not rising up to the onset: press steadily harder until it hurts',
  'rate-off-target': 'the pressure rose more than 50 % faster or slower than the target rate: follow the guide line',
};

/**
 * One trial. Times are device ms (or ms from the trace's start); `onset` says how it
 * ended: `mark` (the person signalled pain: PPT is the force at the mark) or `release`
 * (no mark: PPT is the peak before the force fell to half within 0.5 s). The rate is the
 * least-squares slope of the force from the first sample at 20 % of the PPT to the onset.
 * `reason` is null exactly when `valid`.
 */
export const pptTrialSchema = z.strictObject({
  startMs: z.number(),
  onsetMs: z.number(),
  onset: pptOnsetSchema,
  pptN: z.number(),
  pptKPa: z.number(),
  rateNPerS: z.number(),
  rateKPaPerS: z.number(),
  valid: z.boolean(),
  reason: pptInvalidReasonSchema.nullable(),
});
export type PptTrial = z.infer<typeof pptTrialSchema>;

/**
 * Over the valid trials only: how many, their mean PPT, its sample standard deviation
 * and coefficient of variation (sd / mean). Null where there are too few valid trials
 * (a mean needs 1, a spread 2).
 */
export const pptSummarySchema = z.strictObject({
  n: z.number().int().nonnegative(),
  meanPptN: z.number().nullable(),
  meanPptKPa: z.number().nullable(),
  sdN: z.number().nonnegative().nullable(),
  cv: z.number().nonnegative().nullable(),
});
export type PptSummary = z.infer<typeof pptSummarySchema>;

/** What `npm run analyze -- --ppt` prints. */
export const pptAnalysisSchema = z.strictObject({ trials: z.array(pptTrialSchema), summary: pptSummarySchema });
export type PptAnalysis = z.infer<typeof pptAnalysisSchema>;

/** The analyser's events (live use): a trial started, a trial ended with its result. */
export const pptEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('trial.started'), tMs: z.number(), startMs: z.number() }),
  z.strictObject({ type: z.literal('trial.ended'), tMs: z.number(), trial: pptTrialSchema }),
]);
export type PptEvent = z.infer<typeof pptEventSchema>;

/**
 * Where the analyser stands after its last sample, for a live guide: `idle` (waiting for
 * the force to fall below the start level), `armed` (ready: the next rise starts a
 * trial), `ramp` (a trial is running: its start, elapsed time, the guide's force now,
 * the rate over the last second).
 */
export const pptStateSchema = z.strictObject({
  phase: z.enum(['idle', 'armed', 'ramp']),
  tMs: z.number().nullable(),
  forceN: z.number().nullable(),
  trial: z
    .strictObject({
      startMs: z.number(),
      elapsedMs: z.number().nonnegative(),
      peakN: z.number(),
      /** Where the force should be now at the target rate: the start level plus rate x elapsed. */
      guideN: z.number(),
      /** Least-squares slope over the last second (null until two samples). */
      rateNPerS: z.number().nullable(),
      rateKPaPerS: z.number().nullable(),
    })
    .nullable(),
});
export type PptState = z.infer<typeof pptStateSchema>;

export const PPT_PHASES = ['before', 'after'] as const;
/** Measured before or after a treatment of the knot. */
export const pptPhaseSchema = z.enum(PPT_PHASES);
export type PptPhase = z.infer<typeof pptPhaseSchema>;

/** At most this many trials in one measurement (three is the protocol; repeats of invalid ones allowed). */
export const MAX_PPT_TRIALS = 10;
/** At most this many samples per posted trial (a minute at 200 Hz, 12 s at 1 kHz). */
export const MAX_PPT_TRIAL_SAMPLES = 12_000;

const finite = (what: string) => z.number({ error: `${what} must be a number` }).refine(Number.isFinite, `${what} must be finite`);

/**
 * One trial as the dashboard posts it: the samples it saw (device ms, newtons) from
 * before the force rose through the start level to its onset (for a release, through
 * the fall), and the mark's time if the person marked. The server analyses them again
 * with the same analyser; what it stores is its own result, never the client's figures.
 */
export const pptTrialSamplesSchema = z
  .strictObject({
    tMs: z.array(finite('tMs')).min(2, 'a trial needs at least 2 samples').max(MAX_PPT_TRIAL_SAMPLES, `a trial has at most ${MAX_PPT_TRIAL_SAMPLES} samples`),
    forceN: z.array(finite('forceN')).max(MAX_PPT_TRIAL_SAMPLES, `a trial has at most ${MAX_PPT_TRIAL_SAMPLES} samples`),
    markMs: finite('markMs').nullable(),
  })
  .refine((trial) => trial.tMs.length === trial.forceN.length, { message: 'tMs and forceN must have the same length', path: ['forceN'] })
  .refine((trial) => trial.tMs.every((tMs, index) => index === 0 || tMs >= (trial.tMs[index - 1] ?? tMs)), { message: 'tMs must not go backwards', path: ['tMs'] });
export type PptTrialSamples = z.infer<typeof pptTrialSamplesSchema>;

const deviceIdText = plainText(z.string({ error: 'deviceId must be text' }).trim().min(1, 'deviceId must not be empty').max(64, 'deviceId must be at most 64 characters'));

/** `POST /api/ppt`: a measurement to analyse and store. */
export const pptMeasurementInputSchema = z.strictObject(
  {
    deviceId: deviceIdText,
    bodyArea: labelTextSchema,
    knot: labelTextSchema,
    phase: pptPhaseSchema,
    /** The recorded session it belongs to (the recorder's sessionId for the device), if any. */
    sessionId: z.number().int().positive().nullable().optional(),
    rateKPaPerS: pptSettingsSchema.shape.rateKPaPerS.optional(),
    areaCm2: pptSettingsSchema.shape.areaCm2.optional(),
    startLevelN: pptSettingsSchema.shape.startLevelN.optional(),
    trials: z.array(pptTrialSamplesSchema).min(1, 'give at least one trial').max(MAX_PPT_TRIALS, `give at most ${MAX_PPT_TRIALS} trials`),
  },
  { error: 'the body must be a JSON object like {"deviceId": "1a2b3c4d", "bodyArea": "shoulders", "knot": "left", "phase": "before", "trials": [{"tMs": [...], "forceN": [...], "markMs": 4210}]}' },
);
export type PptMeasurementInput = z.infer<typeof pptMeasurementInputSchema>;

/** A stored measurement: where, when, how, and what the analyser found. */
export const pptMeasurementSchema = z.strictObject({
  id: z.number().int().positive(),
  createdAt: z.iso.datetime(),
  deviceId: z.string(),
  bodyArea: z.string(),
  knot: z.string(),
  phase: pptPhaseSchema,
  sessionId: z.number().int().positive().nullable(),
  rateKPaPerS: z.number(),
  areaCm2: z.number(),
  startLevelN: z.number(),
  trials: z.array(pptTrialSchema),
  summary: pptSummarySchema,
});
export type PptMeasurement = z.infer<typeof pptMeasurementSchema>;

export const pptMeasurementPageSchema = z.strictObject({
  measurements: z.array(pptMeasurementSchema),
  total: z.number().int().nonnegative(),
  limit: z.number().int().positive(),
  offset: z.number().int().nonnegative(),
});
export type PptMeasurementPage = z.infer<typeof pptMeasurementPageSchema>;

/** One measurement in a trend: when, which phase, its mean. */
export const pptTrendPointSchema = z.strictObject({
  id: z.number().int().positive(),
  at: z.iso.datetime(),
  phase: pptPhaseSchema,
  sessionId: z.number().int().positive().nullable(),
  n: z.number().int().positive(),
  meanPptN: z.number(),
  meanPptKPa: z.number(),
});
export type PptTrendPoint = z.infer<typeof pptTrendPointSchema>;

/** A week's measurements of one knot (Monday, UTC), before and after apart: their mean of means (null: none). */
export const pptTrendWeekSchema = z.strictObject({
  weekStart: z.iso.date(),
  beforeKPa: z.number().nullable(),
  afterKPa: z.number().nullable(),
  beforeCount: z.number().int().nonnegative(),
  afterCount: z.number().int().nonnegative(),
});
export type PptTrendWeek = z.infer<typeof pptTrendWeekSchema>;

/**
 * A knot's PPT over weeks. `baselineKPa`: its first measurement with a valid trial (the
 * first `before` if there is one); a later value within `mdcKPa` of it is within noise.
 */
export const pptTrendGroupSchema = z.strictObject({
  bodyArea: z.string(),
  knot: z.string(),
  points: z.array(pptTrendPointSchema),
  weeks: z.array(pptTrendWeekSchema),
  baselineKPa: z.number().nullable(),
  mdcKPa: z.number().positive(),
});
export type PptTrendGroup = z.infer<typeof pptTrendGroupSchema>;

export const pptTrendsSchema = z.strictObject({ groups: z.array(pptTrendGroupSchema), mdcKPa: z.number().positive() });
export type PptTrends = z.infer<typeof pptTrendsSchema>;

/**
 * A session's before/after pair for one knot: the latest of each phase in the session,
 * and after minus before (null unless both have a valid trial). `beyondMdc`: the
 * difference is at least the minimal detectable change (null: no difference).
 */
export const pptSessionPairSchema = z.strictObject({
  bodyArea: z.string(),
  knot: z.string(),
  before: pptMeasurementSchema.nullable(),
  after: pptMeasurementSchema.nullable(),
  differenceN: z.number().nullable(),
  differenceKPa: z.number().nullable(),
  beyondMdc: z.boolean().nullable(),
});
export type PptSessionPair = z.infer<typeof pptSessionPairSchema>;

export const pptSessionPairsSchema = z.strictObject({ sessionId: z.number().int().positive(), pairs: z.array(pptSessionPairSchema), mdcKPa: z.number().positive() });
export type PptSessionPairs = z.infer<typeof pptSessionPairsSchema>;

/** A custom preset made from a knot's PPT, used whenever that knot is labelled. */
export const knotPresetSchema = z.strictObject({
  id: z.number().int().positive(),
  name: z.string(),
  bodyArea: z.string(),
  knot: z.string(),
  engineConfig: engineConfigSchema,
  /** The measurement it was made from. */
  fromMeasurementId: z.number().int().positive().nullable(),
  pptN: z.number(),
  createdAt: z.iso.datetime(),
});
export type KnotPreset = z.infer<typeof knotPresetSchema>;

export const knotPresetListSchema = z.strictObject({ presets: z.array(knotPresetSchema) });

/**
 * `GET /api/ppt/preset-preview`: the preset the knot's latest PPT makes beside the one
 * in force (`current`: the knot's custom preset, else the device's, else the default).
 */
export const pptPresetPreviewSchema = z.strictObject({
  bodyArea: z.string(),
  knot: z.string(),
  fromMeasurementId: z.number().int().positive(),
  pptN: z.number(),
  ceilingN: z.number().nullable(),
  current: z.strictObject({ name: z.string(), engineConfig: engineConfigSchema }),
  proposed: engineConfigSchema,
});
export type PptPresetPreview = z.infer<typeof pptPresetPreviewSchema>;

/** `POST /api/ppt/presets`: accept the preview for a knot into a named custom preset. */
export const knotPresetInputSchema = z.strictObject(
  {
    bodyArea: labelTextSchema,
    knot: labelTextSchema,
    /** The device whose alarm ceiling bounds it (the preview's): it must be running on this server. */
    deviceId: deviceIdText,
    name: labelTextSchema.optional(),
    /** The measurement the preview was made from: refused if a newer one exists meanwhile. */
    fromMeasurementId: z.number().int().positive(),
  },
  { error: 'the body must be a JSON object like {"bodyArea": "shoulders", "knot": "left", "fromMeasurementId": 12}' },
);
export type KnotPresetInput = z.infer<typeof knotPresetInputSchema>;

/** `/api/ppt/:id` and `/api/ppt/presets/:id`. */
export const pptParamsSchema = z.strictObject({
  id: z.string().regex(/^[1-9]\d{0,14}$/, 'the id must be a whole number from 1 on, e.g. /api/ppt/12').transform(Number),
});

const pptFilterFields = {
  deviceId: deviceIdQuery.optional(),
  bodyArea: labelFilter('bodyArea').optional(),
  knot: labelFilter('knot').optional(),
  from: wallTimeText('from').optional(),
  to: wallTimeText('to').optional(),
};

const phaseQuery = z.string({ error: 'phase must be given once' }).pipe(z.enum(PPT_PHASES, { error: `phase must be one of ${PPT_PHASES.join(', ')}` }));
const sessionIdQuery = wholeNumberText('sessionId', 1, Number.MAX_SAFE_INTEGER);

/** `GET /api/ppt` (and its exports, without paging): filters by knot (any spelling), device, phase, session, dates. */
export const pptListQuerySchema = z
  .strictObject({
    ...pptFilterFields,
    phase: phaseQuery.optional(),
    sessionId: sessionIdQuery.optional(),
    limit: wholeNumberText('limit', 1, MAX_PAGE_SIZE).optional(),
    offset: wholeNumberText('offset', 0, Number.MAX_SAFE_INTEGER).optional(),
  })
  .refine(fromBeforeTo, FROM_BEFORE_TO);

export const pptExportQuerySchema = z.strictObject({ ...pptFilterFields, phase: phaseQuery.optional(), sessionId: sessionIdQuery.optional() }).refine(fromBeforeTo, FROM_BEFORE_TO);

/** `GET /api/ppt/trends`: weeks start on Monday in `tz` (an IANA zone), UTC unless given, as `GET /api/trends`'s. */
export const pptTrendsQuerySchema = z.strictObject({ ...pptFilterFields, tz: timeZoneText('tz').optional() }).refine(fromBeforeTo, FROM_BEFORE_TO);

/** `GET /api/ppt/preset-preview?bodyArea=...&knot=...&deviceId=...`. */
export const pptPreviewQuerySchema = z.strictObject({ bodyArea: labelFilter('bodyArea'), knot: labelFilter('knot'), deviceId: deviceIdQuery });

