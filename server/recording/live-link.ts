/**
 * The recorder on the live stream: every client gets the recorder's status when it
 * connects and whenever it changes (`recorder`), and may label the holds of a device
 * (`labelHold`, answered with a socket.io acknowledgement like `selectPreset`). Every
 * request is validated with its schema from `contract/live-events.ts`; a bad one changes nothing
 * and is answered with what was wrong.
 *
 * Joined to other servers (`--bus`), the status goes to this server's clients only, as
 * `shown` makes it (with the other servers' devices), never over another server's.
 *
 * Pipeline position: beside the live broadcaster, on the same socket.io server.
 */
import type { Server } from 'socket.io';
import { clientEventSchemas, type ClientToServerEvents, type CommandReply, type LabelHold, type RecorderStatus, type ServerToClientEvents } from '../contract/live-events.ts';
import type { Recording } from './recording.ts';
import type { LiveRequests } from '../live/requests.ts';

type LiveServer = Server<ClientToServerEvents, ServerToClientEvents>;

/** Sends the recorder's status to every client; returns the function to call when it changes. */
export function linkRecordingToLive(
  io: LiveServer,
  requests: LiveRequests,
  recording: () => Recording | null,
  shown: (status: RecorderStatus) => RecorderStatus = (status) => status,
  /** Called once a device's holds are labelled (a knot's own preset, `knot-preset-on-label.ts`). */
  labelled: (label: LabelHold, client: string) => void = () => undefined,
): (status: RecorderStatus) => void {
  io.on('connection', (socket) => {
    const current = recording();
    if (current !== null) socket.emit('recorder', shown(current.status()));
  });
  requests.on('labelHold', (payload: unknown, answer: (result: CommandReply) => void, client: string) => {
    const request = clientEventSchemas.labelHold.safeParse(payload);
    if (!request.success) {
      answer({ ok: false, error: `labelHold: ${request.error.issues.map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`).join('; ')}` });
      return;
    }
    const recorder = recording()?.recorder ?? null;
    if (recorder === null) {
      answer({ ok: false, error: `labelHold: this server is not recording (${recording()?.status().error ?? 'start it with --db'}), so there is no hold to label` });
      return;
    }
    // The label in force already: nothing changes, so nothing is broadcast.
    const current = recorder.status().devices.find((device) => device.deviceId === request.data.deviceId)?.label;
    if (current?.bodyArea === request.data.bodyArea && current.knot === request.data.knot) {
      answer({ ok: true });
      return;
    }
    try {
      recorder.labelHolds(request.data);
      answer({ ok: true });
      labelled(request.data, client);
    } catch (error) {
      answer({ ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  });
  return (status) => io.local.emit('recorder', shown(status));
}
