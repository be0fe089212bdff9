/**
 * The live stream's messages: the one definition of every socket.io event between the
 * server and its clients (the dashboard, or any other program). Each event has a zod
 * schema; the TypeScript types of both `new Server<...>()` and the dashboard's
 * `io<...>()` are derived from these schemas, so the validator and the type never differ.
 *
 * A client on the default namespace and path receives, with no request of its own:
 * `devices` at once and whenever the list changes, `status` for every device at once,
 * on every change and once a second, a `session` snapshot per device at once, `engine`
 * events as they happen, and `readings` batches (volatile: a slow client may miss some;
 * one message per 50 ms carrying a batch per device), after one `history` with every
 * device's last 30 s. docs/live-stream.md says what each event is for. The calibration
 * page's messages are declared in calibration/messages.ts (`calibration-events.ts`
 * re-exports them) and listed here.
 */
import { z } from 'zod';
import { busStatusSchema } from './bus-status.ts';
import { calibrationDetailSchema, calibrationRequestSchemas, calibrationStateSchema } from './calibration-events.ts';
import { sensorKindSchema, transportCapabilitiesSchema, transportStatusSchema } from './device.ts';
import { presetNameSchema } from '../engine/presets.ts';
import { engineConfigSchema, engineEventSchema, engineStateSchema, holdResultSchema, warningResultSchema } from '../engine/results.ts';
import { holdLabelSchema, plainText } from './records.ts';
import { deviceNameSchema } from '../../device/device-name.ts';

export { DEVICE_NAME_MAX_CHARS, deviceNameSchema } from '../../device/device-name.ts';

export const deviceInfoSchema = z.strictObject({
  deviceId: z.string().min(1),
  /**
   * What people call the device: the name set on the dashboard or by `?name=` in its spec,
   * else a default from its kind and id ("Simulator 3f2a"). Show this wherever a device is named.
   */
  name: z.string(),
  /**
   * What people call the room of the server the device is plugged into (`--room`; with `--bus`
   * the host's name by default), so that a clinic's tablets tell three rooms' "Couch" apart.
   * Null: a server with no room name (one server alone): show nothing.
   */
  room: deviceNameSchema.nullable(),
  /** The transport spec in canonical form, e.g. `sim:treatment?rate=100&...`. */
  spec: z.string(),
  /** The transport kind, to show people: `sim`, `serial`, `firmata`, `emulator`, `replay`. Code reads `capabilities`. */
  transport: z.string(),
  /** What its samples are and what it allows: forces already calibrated (a replay), calibratable, one recording that ends. */
  capabilities: transportCapabilitiesSchema,
  sensor: sensorKindSchema,
  /** `default`: no calibration profile yet, forces are approximate ("uncalibrated"). */
  calibration: z.enum(['default', 'profile', 'exact']),
  /** Contact area, the profile in force with its error bar, a problem with its file (absent: as `default` with 1.5 cm²). */
  calibrationDetail: calibrationDetailSchema.optional(),
  /** The body-area preset the engine runs with, or null for a custom `--config`. */
  preset: presetNameSchema.nullable(),
  /** The pressure engine's thresholds and times for this device. */
  engineConfig: engineConfigSchema,
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

/**
 * What the pressure engine found in a device's readings, sent reliably and at once (an
 * over-pressure warning is never delayed or dropped). Zone changes that happen between
 * two flushes are folded into one, so a force trembling at a threshold does not flood
 * the link.
 */
export const engineEventsSchema = z.strictObject({
  deviceId: z.string().min(1),
  events: z.array(engineEventSchema).min(1),
});
export type EngineEvents = z.infer<typeof engineEventsSchema>;

/**
 * Where a device's session stands, for a client that connects (or reconnects) mid-session:
 * the engine's state (zone, hold in progress, open warning) and this session's holds and
 * warnings so far (an open warning last, with `endMs: null`).
 */
export const sessionSnapshotSchema = z.strictObject({
  deviceId: z.string().min(1),
  state: engineStateSchema,
  holds: z.array(holdResultSchema),
  warnings: z.array(warningResultSchema),
});
export type SessionSnapshot = z.infer<typeof sessionSnapshotSchema>;

/**
 * The recorder's state: whether sessions are being written to the database (`error`
 * says why not, and what to do; live view and alerts go on regardless), and per device
 * the session being recorded (null between sessions) and the label its holds get.
 */
export const recorderStatusSchema = z.strictObject({
  state: z.enum(['recording', 'error']),
  /** Where sessions are recorded (the `--db` file, or the `--store` URL without its password). */
  database: z.string(),
  error: z.string().nullable(),
  /**
   * While writes fail: the samples kept in memory to write once the database works again,
   * the most it keeps (beyond that the oldest go), and how many went so far.
   */
  buffered: z.strictObject({ samples: z.number().int().nonnegative(), capacitySamples: z.number().int().positive(), droppedSamples: z.number().int().nonnegative() }).optional(),
  devices: z.array(
    z.strictObject({
      deviceId: z.string().min(1),
      sessionId: z.number().int().positive().nullable(),
      label: holdLabelSchema,
    }),
  ),
});
export type RecorderStatus = z.infer<typeof recorderStatusSchema>;

/**
 * A mark: the moment a person signalled something about the pressure (in an algometer
 * trial, that it became painful). `device`: the massager's thumb button, dated by the
 * device's clock at the press; `dashboard`: a client's `mark` request (space bar, on-screen
 * button), dated at the device's latest reading when the server took it. `seq` counts
 * each device's marks of each source from 0 while the server runs; a jump in a device's
 * `device` marks is presses lost on the way.
 */
export const markEventSchema = z.strictObject({
  deviceId: z.string().min(1),
  /** Device time in ms, on the same clock as the device's readings' `tMs`. */
  tMs: z.number(),
  seq: z.number().int().nonnegative(),
  source: z.enum(['device', 'dashboard']),
});
export type MarkEvent = z.infer<typeof markEventSchema>;

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
  engine: engineEventsSchema,
  /** Sent on connection (one per device) and after a device's preset changes. */
  session: sessionSnapshotSchema,
  /** Sent on connection and whenever it changes, when the server records sessions (`--db`). */
  recorder: recorderStatusSchema,
  /** One device's calibration in progress and its saved profiles: per device on connection, and on every change. */
  calibration: calibrationStateSchema,
  /** A mark, from a device's thumb button or a client's `mark` request: sent to every client as it happens. */
  mark: markEventSchema,
  /** Sent on connection and whenever it changes, when the server is joined to others (`--bus`): whether the bus is up. */
  bus: busStatusSchema,
} as const;

/** A device named in a client's request: short plain text (it may be quoted back in the answer). */
const requestedDeviceIdSchema = plainText(z.string().min(1).max(64));

/** Every client -> server event and its payload schema. */
export const clientEventSchemas = {
  /** Switch a device's engine to a body-area preset (every client sees the new `devices`). */
  selectPreset: z.strictObject({ deviceId: requestedDeviceIdSchema, preset: presetNameSchema }),
  /**
   * Label a device's holds with a body area and knot: the hold in progress and every
   * later one of this session, until labelled again (null clears a field).
   */
  labelHold: z.strictObject({ deviceId: requestedDeviceIdSchema, bodyArea: holdLabelSchema.shape.bodyArea, knot: holdLabelSchema.shape.knot }),
  /** Mark the moment on a device (the dashboard's space bar or big button): every client gets a `mark` event with source `dashboard`. */
  mark: z.strictObject({ deviceId: requestedDeviceIdSchema }),
  /** Name a device (kept per device id in the data directory; every client sees the new `devices`). */
  renameDevice: z.strictObject({ deviceId: requestedDeviceIdSchema, name: deviceNameSchema }),
  /** The calibration page: tare, capture, cancel, remove a point, start over, save (see calibration/messages.ts). */
  ...calibrationRequestSchemas,
} as const;
export type SelectPreset = z.infer<typeof clientEventSchemas.selectPreset>;
export type LabelHold = z.infer<typeof clientEventSchemas.labelHold>;
export type RenameDevice = z.infer<typeof clientEventSchemas.renameDevice>;
export type MarkRequest = z.infer<typeof clientEventSchemas.mark>;

/** The server's answer to a client's request (socket.io acknowledgement). */
/**
 * The answer to every request. A refusal the person may override (`confirmable`: a tare on a
 * tip that does not look bare, a load that disagrees with the reading) is sent again with
 * `confirm: true` once they have read why it was refused.
 */
export const commandReplySchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true) }),
  z.strictObject({ ok: z.literal(false), error: z.string(), confirmable: z.literal(true).optional() }),
]);
export type CommandReply = z.infer<typeof commandReplySchema>;

type Handlers<Schemas extends Record<string, z.ZodType>> = {
  [Event in keyof Schemas]: (payload: z.infer<Schemas[Event]>) => void;
};

export type ServerToClientEvents = Handlers<typeof serverEventSchemas>;
export type ClientToServerEvents = {
  [Event in keyof typeof clientEventSchemas]: (payload: z.infer<(typeof clientEventSchemas)[Event]>, reply: (reply: CommandReply) => void) => void;
};
