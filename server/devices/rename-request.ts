/**
 * The live stream's `renameDevice` request: a dashboard names a device. Validated with its
 * contract schema, kept (names.ts), audited like every other change, and answered with a
 * socket.io acknowledgement; the device's pipeline then sends its info with the new name
 * to every client. It passes the gates every live request passes (Host and Origin at the
 * connection, the per-client rate limit, a viewer refused when clients pair: server/security).
 *
 *   broadcaster.requests.on('renameDevice', renameRequests({ names, pipelines: () => pipelines, audit }));
 *
 * Pipeline position: beside the live broadcaster, on its socket.io server.
 */
import { clientEventSchemas, type CommandReply } from '../contract/live-events.ts';
import type { AuditTrail } from '../recording/audit-trail.ts';
import type { DevicePipeline } from '../pipeline.ts';
import { DeviceNamesError, type DeviceNames } from './names.ts';

export interface RenameDeps {
  readonly names: DeviceNames;
  readonly pipelines: () => readonly DevicePipeline[];
  readonly audit: AuditTrail;
}

/** The handler of `renameDevice`: `client` names who asked, as the audit log does. */
export function renameRequests(deps: RenameDeps): (payload: unknown, reply: (answer: CommandReply) => void, client: string) => void {
  return (payload, reply, client) => {
    const request = clientEventSchemas.renameDevice.safeParse(payload);
    if (!request.success) {
      reply({ ok: false, error: `renameDevice refused, nothing changed: ${request.error.issues.map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`).join('; ')}` });
      return;
    }
    const { deviceId, name } = request.data;
    const info = deps.pipelines().find((pipeline) => pipeline.info?.deviceId === deviceId)?.info ?? null;
    if (info === null) {
      reply({ ok: false, error: `renameDevice refused: no device ${deviceId} on this server` });
      return;
    }
    let change;
    try {
      change = deps.names.rename(deviceId, name);
    } catch (error) {
      reply({ ok: false, error: `renameDevice refused, nothing changed: ${error instanceof DeviceNamesError ? error.message : String(error)}` });
      return;
    }
    if (change.before !== change.after) deps.audit({ client, action: 'name', deviceId, sessionId: null, before: { name: change.before ?? info.name }, after: { name: change.after } });
    reply({ ok: true });
  };
}
