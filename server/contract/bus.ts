/**
 * The bus between servers (`--bus redis://HOST:PORT`): what one server tells the others
 * through Redis, and the bus's state as the dashboard's header shows it.
 *
 * The live events themselves (readings, status, engine, session, calibration) cross the
 * bus as socket.io broadcasts, through socket.io's Redis streams adapter, in the shapes of
 * `live-events.ts`. These are the server-to-server messages besides them (socket.io's
 * `serverSideEmit`): each server's announcement (its heartbeat), a request for a new
 * client's welcome, and a client's request forwarded to the server that owns the device.
 * Each is validated on arrival: another server may run another version.
 */
import { z } from 'zod';
import { commandReplySchema, deviceInfoSchema, deviceStatusSchema, recorderStatusSchema } from './live-events.ts';

/** A server on the bus: a random id per start (a restarted server is a new one) and a name for people. */
export const busServerSchema = z.strictObject({
  serverId: z.string().min(1).max(64),
  /** Host name and port, e.g. `room-2:8080`: how messages and logs name it. */
  name: z.string().min(1).max(200),
});
export type BusServer = z.infer<typeof busServerSchema>;

/**
 * A server's heartbeat (every second, and at once on a change): the devices it owns, their
 * latest status and its recorder's status. Not heard for `BUS_SILENCE_MS`: its devices show
 * disconnected on every other server.
 */
export const busAnnouncementSchema = busServerSchema.extend({
  devices: z.array(deviceInfoSchema),
  statuses: z.array(deviceStatusSchema),
  recorder: recorderStatusSchema.nullable(),
});
export type BusAnnouncement = z.infer<typeof busAnnouncementSchema>;

/** Asks every other server to send its devices' state (status, session, last 30 s, calibration) to a room: one client, or every client of a server. */
export const busWelcomeSchema = z.strictObject({
  room: z.string().min(1).max(200),
  /** Only these devices (null: all the server owns). */
  deviceIds: z.array(z.string().min(1)).nullable(),
  /** Whether to send the last 30 s of readings too (a new client has none; a rejoin keeps what it has). */
  history: z.boolean(),
});
export type BusWelcome = z.infer<typeof busWelcomeSchema>;

/** A client's request (`selectPreset`, `labelHold`, a calibration step, `mark`) forwarded to the server that owns its device. */
export const busRequestSchema = z.strictObject({
  /** The owner's serverId: every other server answers null at once. */
  to: z.string().min(1),
  event: z.string().min(1).max(64),
  payload: z.unknown(),
  /** Who asked, as the audit log names them, and through which server. */
  client: z.string().min(1).max(300),
});
export type BusRequest = z.infer<typeof busRequestSchema>;

/** A server's answer to a forwarded request: the owner's reply, null from the others. */
export const busReplySchema = commandReplySchema.nullable();

export { busStatusSchema, type BusStatus } from './bus-status.ts';
