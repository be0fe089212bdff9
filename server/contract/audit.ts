/**
 * The audit log's shapes: every safety-relevant change (a preset, limits, a calibration
 * saved, a tare, a session deleted) with when, who (the client's name: `localhost` for
 * this machine) and what it was before and after. The store keeps them, `GET /api/audit`
 * serves them newest first, the dashboard's Changes page lists them.
 *
 *   { id: 7, at: '2026-11-02T08:00:00.000Z', client: 'localhost', action: 'preset',
 *     deviceId: '1a2b3c4d', sessionId: null, before: { preset: 'neck' }, after: { preset: 'shoulders' } }
 */
import { z } from 'zod';

export const AUDIT_ACTIONS = ['preset', 'limits', 'calibration', 'tare', 'delete', 'name'] as const;
export const auditActionSchema = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof auditActionSchema>;

/** Before or after: a few named values (null: there was nothing, e.g. after a delete). */
export const auditValueSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable();
export type AuditValue = z.infer<typeof auditValueSchema>;

/** A change as it is recorded (the store gives it its id). */
export const auditChangeSchema = z.strictObject({
  /** When, ISO 8601 in UTC. */
  at: z.iso.datetime(),
  /** Who: `localhost` for a client on this machine, else its address (or, once paired, its name). */
  client: z.string().min(1),
  action: auditActionSchema,
  deviceId: z.string().nullable(),
  sessionId: z.number().int().positive().nullable(),
  before: auditValueSchema,
  after: auditValueSchema,
});
export type AuditChange = z.infer<typeof auditChangeSchema>;

export const auditEntrySchema = auditChangeSchema.extend({ id: z.number().int().positive() });
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** `GET /api/audit`: one page, newest first, and how many there are in all. */
export const auditPageSchema = z.strictObject({
  entries: z.array(auditEntrySchema),
  total: z.number().int().nonnegative(),
  limit: z.number().int().positive(),
  offset: z.number().int().nonnegative(),
});
export type AuditPage = z.infer<typeof auditPageSchema>;
