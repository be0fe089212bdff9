/**
 * The bus between servers (`--bus`) as the dashboard's header shows it: a live event
 * (`bus`, in `live-events.ts`) sent on connection and on every change, only by a server
 * started with `--bus`. Apart from `bus.ts` so that `live-events.ts` can list it without
 * an import cycle.
 */
import { z } from 'zod';

/** The bus as the header shows it: up (joined to the other servers through Redis) or down (this server alone until Redis is back). */
export const busStatusSchema = z.strictObject({
  state: z.enum(['up', 'down']),
  /** The Redis address (`redis://HOST:PORT`, without any password). */
  url: z.string(),
  /** Why it is down, and what happens meanwhile (null when up). */
  error: z.string().nullable(),
  /** The other servers heard from within the last few seconds, by name. */
  servers: z.array(z.string()),
  /**
   * Messages on the bus this server refused since it started: not signed with the clinic's
   * bus key (someone with Redis's password but not the key, or a server given another
   * `--bus-key`), replayed, or stale (a host's clock off). Dropped unread; nothing done.
   */
  refused: z.number().int().nonnegative(),
});
export type BusStatus = z.infer<typeof busStatusSchema>;
