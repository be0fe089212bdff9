/**
 * What the review API accepts: every path parameter, query string and body as a zod
 * schema, so a bad request is refused (400) with a message naming the parameter, what it
 * needs and what it got. Shared with the dashboard, which builds its requests from the
 * same limits.
 *
 * Pipeline position: the edge of the REST API (`routes.ts`), in front of the session store.
 */
import { z } from 'zod';
import { FORCE_UNITS, unitColumnSuffix } from '../../calibration/units.ts';
import { holdLabelSchema, labelTextSchema, plainText, SESSION_STATUSES } from './records.ts';

export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;
/** Enough for a chart on a wide screen at twice its pixels; more would only slow the answer. */
export const MAX_POINTS = 10_000;
export const DEFAULT_POINTS = 2000;
export const MAX_NOTES_CHARS = 2000;
export const EXPORT_TABLES = ['holds', 'warnings', 'samples'] as const;

/** A decimal number of at most 20 characters: longer is no time in a session (and 401 digits would parse to Infinity). */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;
const MAX_DECIMAL_CHARS = 20;
const DAY_MS = 86_400_000;

export const wholeNumberText = (what: string, min: number, max: number) =>
  z
    .string({ error: `${what} must be given once, as a whole number from ${min} to ${max}` })
    .regex(/^\d{1,16}$/, `${what} must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((value) => value >= min && value <= max, `${what} must be a whole number from ${min} to ${max}`);

const msText = (what: string) =>
  z
    .string({ error: `${what} must be given once, as a number of ms since the session's first sample` })
    .regex(DECIMAL, `${what} must be a number of ms since the session's first sample, e.g. 1530`)
    .max(MAX_DECIMAL_CHARS, `${what} must be a number of ms of at most ${MAX_DECIMAL_CHARS} characters, e.g. 1530`)
    .transform(Number)
    .refine(Number.isFinite, `${what} must be a finite number of ms since the session's first sample`)
    .refine((value) => value >= 0, `${what} must be at least 0 (ms since the session's first sample)`);

/**
 * A wall-clock bound as an ISO date (`2026-11-02`, UTC) or date and time
 * (`2026-11-02T08:00:00Z`), as Unix ms. A date alone as `to` means the end of that day.
 */
export const wallTimeText = (what: 'from' | 'to') =>
  z
    .string({ error: `${what} must be given once, as a date (2026-11-02) or a date and time (2026-11-02T08:00:00Z)` })
    .refine((text) => z.iso.date().safeParse(text).success || z.iso.datetime({ offset: true }).safeParse(text).success, {
      message: `${what} must be a date (2026-11-02) or a date and time with its zone (2026-11-02T08:00:00Z)`,
    })
    .transform((text) => (text.length === 10 ? Date.parse(`${text}T00:00:00Z`) + (what === 'to' ? DAY_MS : 0) : Date.parse(text)));

/** Whether `name` is a time zone this runtime knows (an IANA name such as `Europe/Berlin`, or `UTC`). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The reader's time zone, an IANA name: what the browser's Intl.DateTimeFormat().resolvedOptions().timeZone says. */
export const timeZoneText = (what: string) =>
  z
    .string({ error: `${what} must be given once, as an IANA time zone name such as Europe/Berlin` })
    .max(64, `${what} must be an IANA time zone name of at most 64 characters, such as Europe/Berlin`)
    .refine(isTimeZone, `${what} must be an IANA time zone name this server knows, such as Europe/Berlin or Pacific/Auckland`);

export const deviceIdText = plainText(z.string({ error: 'deviceId must be given once, as a device id' }).trim().min(1, 'deviceId must not be empty').max(64, 'deviceId must be at most 64 characters'));
export const labelFilter = (what: string) => z.string({ error: `${what} must be given once` }).pipe(labelTextSchema);

export const sessionParamsSchema = z.strictObject({
  id: z.string().regex(/^[1-9]\d{0,14}$/, 'the session id must be a whole number from 1 on, e.g. /api/sessions/12').transform(Number),
});

/** A hold by its number in the session: 1 for the first, as the dashboard and the CSV exports count. */
export const holdParamsSchema = sessionParamsSchema.extend({
  number: z.string().regex(/^[1-9]\d{0,8}$/, 'the hold number must be a whole number from 1 on (the first hold is 1, as in the session\'s "number" fields and the CSV)').transform(Number),
});

export const fromBeforeTo = (query: { from?: number | undefined; to?: number | undefined }) => query.from === undefined || query.to === undefined || query.from < query.to;
export const FROM_BEFORE_TO = { message: 'from must be before to', path: ['from'] };

export const listQuerySchema = z
  .strictObject({
    deviceId: deviceIdText.optional(),
    bodyArea: labelFilter('bodyArea').optional(),
    knot: labelFilter('knot').optional(),
    status: z.string({ error: 'status must be given once' }).pipe(z.enum(SESSION_STATUSES, { error: `status must be one of ${SESSION_STATUSES.join(', ')}` })).optional(),
    from: wallTimeText('from').optional(),
    to: wallTimeText('to').optional(),
    limit: wholeNumberText('limit', 1, MAX_PAGE_SIZE).optional(),
    offset: wholeNumberText('offset', 0, Number.MAX_SAFE_INTEGER).optional(),
  })
  .refine(fromBeforeTo, FROM_BEFORE_TO);
export type ListQuery = z.infer<typeof listQuerySchema>;

/** `GET /api/audit`: a page of the audit log, newest first. */
export const auditQuerySchema = z.strictObject({
  limit: wholeNumberText('limit', 1, MAX_PAGE_SIZE).optional(),
  offset: wholeNumberText('offset', 0, Number.MAX_SAFE_INTEGER).optional(),
});

export const trendsQuerySchema = z
  .strictObject({
    deviceId: deviceIdText.optional(),
    bodyArea: labelFilter('bodyArea').optional(),
    knot: labelFilter('knot').optional(),
    from: wallTimeText('from').optional(),
    to: wallTimeText('to').optional(),
    /** Weeks start on Monday in this time zone; UTC unless given. */
    tz: timeZoneText('tz').optional(),
  })
  .refine(fromBeforeTo, FROM_BEFORE_TO);

export const samplesQuerySchema = z
  .strictObject({
    fromMs: msText('fromMs').optional(),
    toMs: msText('toMs').optional(),
    maxPoints: wholeNumberText('maxPoints', 2, MAX_POINTS).optional(),
  })
  .refine((query) => query.fromMs === undefined || query.toMs === undefined || query.fromMs < query.toMs, { message: 'fromMs must be below toMs', path: ['fromMs'] });

/**
 * A unit as a script may spell it in ASCII (`kgf/cm2`, or the CSV column's `kgf_per_cm2`,
 * `kpa`, `n`): `²` must be percent-encoded in a URL, which curl does not do by itself.
 */
function unitFromQuery(text: string): string {
  const ascii = text.toLowerCase() === 'kgf/cm2' ? 'kgf_per_cm2' : text.toLowerCase();
  return FORCE_UNITS.find((unit) => unit === text || unitColumnSuffix(unit) === ascii) ?? text;
}

export const exportQuerySchema = z.strictObject({
  table: z.string({ error: 'table must be given once' }).pipe(z.enum(EXPORT_TABLES, { error: `table must be one of ${EXPORT_TABLES.join(', ')}` })).optional(),
  /** The unit forces are written in (holds and warnings; a `samples` trace stays in newtons). */
  unit: z
    .string({ error: 'unit must be given once' })
    .transform(unitFromQuery)
    .pipe(z.enum(FORCE_UNITS, { error: `unit must be one of ${FORCE_UNITS.join(', ')} (or in ASCII kgf/cm2, as the CSV columns name them: n, kpa, kgf_per_cm2)` }))
    .optional(),
});

/** For the routes that take no query: a parameter given anyway is named, not ignored. */
export const noQuerySchema = z.strictObject({});

/** A hold's new labels: either or both; null clears one. */
export const holdPatchSchema = z
  .strictObject({
    bodyArea: holdLabelSchema.shape.bodyArea.optional(),
    knot: holdLabelSchema.shape.knot.optional(),
  }, { error: 'the body must be a JSON object like {"bodyArea": "neck", "knot": "left C5"}' })
  .refine((patch) => patch.bodyArea !== undefined || patch.knot !== undefined, { message: 'give bodyArea, knot or both (null clears one)' });
export type HoldPatch = z.infer<typeof holdPatchSchema>;

export const sessionPatchSchema = z.strictObject(
  {
    notes: plainText(z.string({ error: 'notes must be text' }).max(MAX_NOTES_CHARS, `notes must be at most ${MAX_NOTES_CHARS} characters`), { lines: true }),
  },
  { error: 'the body must be a JSON object like {"notes": "left side tender after the third hold"}' },
);

/** The body of every error answer. */
export const apiErrorSchema = z.strictObject({ error: z.string() });

/** A zod failure as one sentence naming each wrong parameter and what was given. */
export function describeIssues(error: z.ZodError, where: 'path' | 'query' | 'body', input: unknown): string {
  return error.issues
    .map((issue) => {
      const name = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') return `${where}: unknown parameter${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`;
      const given = name === '' ? undefined : (input as Record<string, unknown> | null | undefined)?.[name];
      const got = given === undefined ? '' : ` (got ${JSON.stringify(given)})`;
      const named = name === '' || where === 'path' || issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`;
      return `${where}: ${named}${got}`;
    })
    .join('; ');
}
