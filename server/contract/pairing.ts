/**
 * The pairing API's shapes: `GET /api/pairing` says whether clients must pair, who is
 * asking, and (when pairing applies) every paired device; `DELETE /api/pairing/:name`
 * revokes one (operators only). The dashboard's Paired devices page shows them.
 *
 *   { required: true, you: { name: 'tablet-1', role: 'operator' },
 *     clients: [{ name: 'tablet-1', role: 'operator', pairedAt: '2026-11-02T08:00:00.000Z', lastSeenAt: '2026-11-02T08:05:00.000Z' }] }
 */
import { z } from 'zod';

export const PAIRING_ROLES = ['viewer', 'operator'] as const;
export const pairingRoleSchema = z.enum(PAIRING_ROLES);

export const pairedClientSchema = z.strictObject({
  name: z.string().min(1),
  role: pairingRoleSchema,
  /** ISO 8601 in UTC. */
  pairedAt: z.iso.datetime(),
  /** ISO 8601 in UTC; null before its first request after pairing. */
  lastSeenAt: z.iso.datetime().nullable(),
});
export type PairedClientInfo = z.infer<typeof pairedClientSchema>;

export const pairingStateSchema = z.strictObject({
  /** Whether every client must pair (bound beyond loopback, or --auth always). */
  required: z.boolean(),
  /** The asking client, when it is paired. */
  you: z.strictObject({ name: z.string(), role: pairingRoleSchema }).nullable(),
  clients: z.array(pairedClientSchema),
});
export type PairingState = z.infer<typeof pairingStateSchema>;

export const pairingParamsSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'name must be a paired device\'s name (lower-case letters, digits and dashes)'),
});
