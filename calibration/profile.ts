/**
 * Calibration profiles: what is kept per device id, and how a profile converts. A
 * device's file holds its whole history (every fit and every re-tare, oldest first);
 * the newest entry is the one in force. Each entry is complete on its own: sensor kind,
 * tare offset, the fitted model and its parameters, contact area, the points used with
 * their residuals, R^2, the largest error, the stated error bar and the date.
 *
 * The schemas here validate every profile read from disk (a file that fails is an error
 * naming it, never replaced by the default curve) and every profile sent to the
 * dashboard.
 */
import { z } from 'zod';
import { deviceIdSchema } from '../device/device-id.ts';
import { sensorKindSchema, type SensorKind } from '../device/transport.ts';
import type { ForceCalibration } from '../device/sensors.ts';
import { candidateSchema, fittedPointSchema, fitStatsSchema, type FitResult } from './fit.ts';
import { fitModelSchema, forceFromRaw, rawForForce } from './model.ts';
import { DEFAULT_CONTACT_AREA_CM2 } from './units.ts';

export const PROFILE_FORMAT = 'knotmeter-calibration';
export const PROFILE_VERSION = 1;

export const profileEntrySchema = z.strictObject({
  /** When it was made, ISO 8601. */
  createdAt: z.iso.datetime({ offset: true }),
  /** What made it: a new fit, or a re-tare of the fit before it (same curve, new zero). */
  reason: z.enum(['fit', 'tare']),
  /** Where it was made: the wizard, the dashboard, or `npm run calibrate -- fit`. */
  madeWith: z.enum(['wizard', 'dashboard', 'command']),
  sensor: sensorKindSchema,
  /** Raw counts with nothing on the tip (the zero every reading is measured from). */
  tareRaw: z.number().refine(Number.isFinite, 'must be a finite number'),
  /** The tip's contact area, for pressures (kPa, kgf/cm^2). */
  areaCm2: z.number().positive().max(100),
  fit: fitModelSchema,
  points: z.array(fittedPointSchema).min(2),
  stats: fitStatsSchema,
  candidates: z.array(candidateSchema).min(1),
});
export type ProfileEntry = z.infer<typeof profileEntrySchema>;

export const profileFileSchema = z
  .strictObject({
    format: z.literal(PROFILE_FORMAT),
    version: z.literal(PROFILE_VERSION),
    deviceId: deviceIdSchema,
    /** Oldest first; the last one is in force. */
    history: z.array(profileEntrySchema).min(1),
  })
  .refine((file) => file.history.every((entry) => entry.sensor === file.history[0]?.sensor), {
    message: 'every entry of a device must be for the same sensor kind',
    path: ['history'],
  });
export type ProfileFile = z.infer<typeof profileFileSchema>;

export function newProfileEntry(
  result: FitResult,
  options: { readonly areaCm2?: number; readonly madeWith: ProfileEntry['madeWith']; readonly now?: Date },
): ProfileEntry {
  return {
    createdAt: (options.now ?? new Date()).toISOString(),
    reason: 'fit',
    madeWith: options.madeWith,
    sensor: result.sensor,
    tareRaw: result.tareRaw,
    areaCm2: options.areaCm2 ?? DEFAULT_CONTACT_AREA_CM2,
    fit: result.fit,
    points: result.points,
    stats: result.stats,
    candidates: result.candidates,
  };
}

/** The same curve measured from a new zero (the offset drifts; the scale does not). */
export function retaredEntry(entry: ProfileEntry, tareRaw: number, madeWith: ProfileEntry['madeWith'], now = new Date()): ProfileEntry {
  return { ...entry, createdAt: now.toISOString(), reason: 'tare', madeWith, tareRaw };
}

/** A profile's conversion, for the pipeline (and for `npm run calibrate -- convert`). */
export function profileCalibration(entry: ProfileEntry): ForceCalibration {
  const sensor: SensorKind = entry.sensor;
  const toNewtons = (raw: number): number => forceFromRaw(sensor, entry.fit, entry.tareRaw, raw);
  return {
    source: 'profile',
    sensor,
    toNewtons,
    toRaw: (forceN) => rawForForce(sensor, toNewtons, forceN),
  };
}
