/**
 * Calibration on the live stream: the shapes of what the server says about a device's
 * calibration and of what the dashboard's calibration page asks for. `server/contract/live-events.ts`
 * lists them with every other event (one source of truth for server, dashboard and
 * tests); they are defined here, beside what they describe.
 *
 * - `calibrationDetailSchema`, in every `DeviceInfo`: the contact area, the profile in
 *   force (when and how made, its error bar and calibrated range) or null, and a problem
 *   with the device's profile file, named, when there is one.
 * - `calibrationStateSchema`, the `calibration` event: one device's calibration in
 *   progress (tare, points, the capture under way with its progress, the fit of the
 *   points so far or why there is none) and its saved history.
 * - the requests: tare, capture a known load, cancel, remove a point, start over, save.
 */
import { z } from 'zod';
import { sensorKindSchema } from '../device/transport.ts';
import { calibrationPointSchema, candidateSchema, errorBoundSchema, fittedPointSchema, fitStatsSchema } from './fit.ts';
import { fitModelSchema } from './model.ts';
import { profileEntrySchema } from './profile.ts';
import { massUnitSchema } from './units.ts';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const deviceId = z.string().min(1);

export const calibrationDetailSchema = z.strictObject({
  /** The tip's contact area for pressures: the profile's, else the default 1.5 cm². */
  areaCm2: z.number().positive(),
  /** The profile in force, or null (the documented default curve, or the simulator's exact one). */
  profile: z
    .strictObject({
      createdAt: z.string(),
      reason: profileEntrySchema.shape.reason,
      madeWith: profileEntrySchema.shape.madeWith,
      model: z.enum(['linear', 'power', 'monotone-cubic']),
      points: z.number().int().nonnegative(),
      /** The error bar of a reading, or null when too few points could tell it. */
      error: errorBoundSchema.nullable(),
      rangeN: z.tuple([finite, finite]),
    })
    .nullable(),
  /** Why the device's profile could not be used (a corrupt file, named), or null. */
  problem: z.string().nullable(),
});
export type CalibrationDetail = z.infer<typeof calibrationDetailSchema>;

/** A fit of the points so far (not saved yet). */
export const fitPreviewSchema = z.strictObject({
  sensor: sensorKindSchema,
  tareRaw: finite,
  fit: fitModelSchema,
  points: z.array(fittedPointSchema),
  stats: fitStatsSchema,
  candidates: z.array(candidateSchema),
});
export type FitPreview = z.infer<typeof fitPreviewSchema>;

export const calibrationStateSchema = z.strictObject({
  deviceId,
  sensor: sensorKindSchema,
  tare: z
    .strictObject({
      raw: finite,
      sdRaw: finite,
      at: z.string(),
      /** The firmware re-zeroed too (hx711). */
      onDevice: z.boolean(),
    })
    .nullable(),
  /** The points captured since the tare, in the order taken. */
  points: z.array(calibrationPointSchema),
  /** The capture under way, with its progress, or null. */
  capture: z
    .strictObject({
      forceN: finite,
      massKg: finite.nullable(),
      phase: z.enum(['waiting', 'settling']),
      fraction: z.number().min(0).max(1),
      readingN: finite.nullable(),
      message: z.string(),
    })
    .nullable(),
  /** The fit of the points so far, or null; `fitError` then says what is missing. */
  fit: fitPreviewSchema.nullable(),
  fitError: z.string().nullable(),
  /** The device's saved profiles, oldest first (the last is in force). */
  history: z.array(profileEntrySchema),
  /** Why the history cannot be read (a corrupt profile file, named), or null. */
  historyError: z.string().nullable(),
});
export type CalibrationState = z.infer<typeof calibrationStateSchema>;

/** The client's calibration requests, each answered with a socket.io acknowledgement. */
export const calibrationRequestSchemas = {
  /** Zero the device from the mean of its last still second (hx711: the firmware too). */
  /** `confirm`: tare even though the tip does not look bare (after the refusal said so). */
  calibrationTare: z.strictObject({ deviceId, confirm: z.boolean().optional() }),
  /**
   * Wait for a known load to be on the tip and still, then add it as a point. `confirm`:
   * keep it even though the reading disagrees with the load (after the refusal said so).
   */
  calibrationCapture: z.strictObject({ deviceId, value: z.number().refine(Number.isFinite, 'must be a number'), unit: massUnitSchema, confirm: z.boolean().optional() }),
  calibrationCancel: z.strictObject({ deviceId }),
  /** Remove a point (its index in `points`). */
  calibrationRemovePoint: z.strictObject({ deviceId, index: z.number().int().nonnegative() }),
  /** Forget the tare and every point of the calibration in progress. */
  calibrationReset: z.strictObject({ deviceId }),
  /**
   * Fit the points and save the profile (added to the device's history, in force at once).
   * `confirm`: save it even though it moves forces by more than 25 % (after the refusal said how).
   */
  calibrationSave: z.strictObject({ deviceId, areaCm2: z.number().positive().max(100), confirm: z.boolean().optional() }),
} as const;
