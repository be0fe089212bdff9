/**
 * The live stream's messages: the one definition of every socket.io event between the
 * server and its clients (the dashboard, or any other program). Each event has a zod
 * schema; the TypeScript types of both `new Server<...>()` and the dashboard's
 * `io<...>()` are derived from these schemas, so the validator and the type never differ.
 *
 * A client on the default namespace and path receives, with no request of its own:
 * `devices` at once and whenever the list changes, `status` for every device at once,
 * on every change and once a second, and `readings` batches (volatile: a slow client
 * may miss some; one message per 50 ms carrying a batch per device), after one
 * `history` with every device's last 30 s.
 */
import { z } from 'zod';
import { sensorKindSchema, transportStatusSchema } from '../../device/transport.ts';

export const deviceInfoSchema = z.strictObject({
  deviceId: z.string().min(1),
  /** The transport spec in canonical form, e.g. `sim:treatment?rate=100&...`. */
  spec: z.string(),
  /** The transport kind: `sim`, `serial`, `firmata`, `replay`. */
  transport: z.string(),
  sensor: sensorKindSchema,
  /** `default`: no calibration profile yet, forces are approximate ("uncalibrated"). */
  calibration: z.enum(['default', 'profile', 'exact']),
});
export type DeviceInfo = z.infer<typeof deviceInfoSchema>;

export const deviceListSchema = z.array(deviceInfoSchema);

export const deviceStatusSchema = transportStatusSchema.extend({
  /** Samples per second of device time over the last few seconds (0 when none arrive). */
  measuredRateHz: z.number().nonnegative(),
});
export type DeviceStatus = z.infer<typeof deviceStatusSchema>;

/**
 * A batch of calibrated readings from one device, as parallel arrays (compact on the
 * wire). `tMs` is device time in milliseconds, increasing within and across batches.
 */
export const readingsBatchSchema = z
  .strictObject({
    deviceId: z.string().min(1),
    tMs: z.array(z.number()),
    forceN: z.array(z.number()),
    raw: z.array(z.number().int()),
  })
  .refine((batch) => batch.forceN.length === batch.tMs.length && batch.raw.length === batch.tMs.length, {
    message: 'tMs, forceN and raw must have the same length',
  });
export type ReadingsBatch = z.infer<typeof readingsBatchSchema>;

/** Every server -> client event and its payload schema. */
export const serverEventSchemas = {
  devices: deviceListSchema,
  status: deviceStatusSchema,
  /**
   * Every device's new readings in one message (volatile: one message per flush, so a
   * busy connection drops a whole flush rather than starving the devices sent last).
   */
  readings: z.array(readingsBatchSchema),
  /** Sent once on connection: the last 30 s of every device, oldest first. */
  history: z.array(readingsBatchSchema),
} as const;

type Handlers<Schemas extends Record<string, z.ZodType>> = {
  [Event in keyof Schemas]: (payload: z.infer<Schemas[Event]>) => void;
};

export type ServerToClientEvents = Handlers<typeof serverEventSchemas>;
/** Client -> server events: none yet (subscribing is automatic). */
export type ClientToServerEvents = Record<string, never>;
