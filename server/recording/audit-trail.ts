/**
 * The audit trail: where the server's safety-relevant changes (a preset, a calibration
 * saved, a tare, a session deleted) are written down, stamped with the time. Each goes to
 * the log, and into the session store's audit log when the server records (`--db`), so
 * the dashboard's Changes page and `GET /api/audit` list it. Writing it never holds up
 * or undoes the change: a store that cannot take it is named in the log.
 *
 *   const audit = auditTrail(() => recording?.store ?? null, logger);
 *   audit({ client: 'localhost', action: 'preset', deviceId, sessionId: null, before: { preset: 'neck' }, after: { preset: 'shoulders' } });
 *
 * Pipeline position: beside the recorder; the live channels and the REST API write to it.
 */
import type { AuditChange } from '../contract/audit.ts';
import type { Logger } from '../log.ts';
import type { SessionStore } from './store.ts';

/** A change to write down; the trail stamps its time. */
export type AuditEvent = Omit<AuditChange, 'at'>;
export type AuditTrail = (event: AuditEvent) => void;

/** Writes to the log and to the store in force (none: the log alone). */
export function auditTrail(store: () => SessionStore | null, logger: Logger, now: () => Date = () => new Date()): AuditTrail {
  return (event) => {
    const change: AuditChange = { at: now().toISOString(), ...event };
    logger.info({ audit: change }, `audit: ${change.action} by ${change.client}`);
    const current = store();
    if (current === null) return;
    current.appendAudit(change).catch((error: unknown) => {
      logger.error({ err: error, audit: change }, `audit: the change could not be written to ${current.location}; it is in this log only`);
    });
  };
}
