/**
 * Whether a device's newest reading is current: the one rule every part of the live view
 * uses (panel, banner, sound, chart), so a number that is not current never looks it.
 * A reading is current while the server link is up, the device says it is connected, and
 * the last batch of readings arrived less than `staleAfterMs` ago (3 sample periods, at
 * least 300 ms). When it is not, `cause` says whose fault (`link`: this page lost the
 * server; `device`: the server has no readings from the device) and `sinceWallMs` when the
 * last current reading arrived (Date.now() time; NaN when none ever did).
 *
 *   const freshness = freshnessOf(device, performance.now(), live.connected);
 *   if (!freshness.current) show(`no reading since ${clockTime(freshness.sinceWallMs)}`);
 */
import type { DeviceStatus } from '../../../server/contract/live-events.ts';

export type Freshness = { readonly current: true } | { readonly current: false; readonly sinceWallMs: number; readonly cause: 'link' | 'device' };

/** What freshness reads of a `DeviceView` (live.svelte.ts), which passes itself. */
export interface ReadingTimes {
  readonly status: DeviceStatus | null;
  /** performance.now() when the last live batch arrived, NaN before any. */
  readonly lastReadingAtMs: number;
  /** Date.now() at that moment, NaN before any. */
  readonly lastReadingWallMs: number;
}

/** The shortest time without readings that counts as stale (a batch comes every 50 ms). */
export const MIN_STALE_AFTER_MS = 300;
/** Sample periods without a reading that count as stale. */
const STALE_PERIODS = 3;
/** Before the device's rate is measured: the simulator's and firmware's default. */
const DEFAULT_RATE_HZ = 100;

/** How long without a reading makes `device`'s reading stale, ms. */
export function staleAfterMs(device: Pick<ReadingTimes, 'status'>): number {
  const measuredHz = device.status?.measuredRateHz ?? 0;
  const rateHz = measuredHz > 0 ? measuredHz : (device.status?.nominalRateHz ?? DEFAULT_RATE_HZ);
  return Math.max(MIN_STALE_AFTER_MS, (STALE_PERIODS * 1000) / (rateHz > 0 ? rateHz : DEFAULT_RATE_HZ));
}

/** `nowMs` is performance.now() time, as `DeviceView.lastReadingAtMs`. */
export function freshnessOf(device: ReadingTimes, nowMs: number, serverConnected: boolean): Freshness {
  if (!serverConnected) return { current: false, sinceWallMs: device.lastReadingWallMs, cause: 'link' };
  const arrived = !Number.isNaN(device.lastReadingAtMs) && nowMs - device.lastReadingAtMs <= staleAfterMs(device);
  if (arrived && device.status?.state === 'connected') return { current: true };
  return { current: false, sinceWallMs: device.lastReadingWallMs, cause: 'device' };
}

/** A wall-clock time as this browser shows times of day, with seconds ("14:03:12"). */
export function timeOfDay(wallMs: number): string {
  return new Date(wallMs).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/**
 * What a panel says when its reading is not current: since when, in words that change at
 * most once a second ("link lost 12 s ago", "no reading since 14:03:12").
 */
export function staleText(freshness: Freshness, nowWallMs: number): string {
  if (freshness.current) return '';
  if (Number.isNaN(freshness.sinceWallMs)) return freshness.cause === 'link' ? 'server link lost: no reading yet' : 'no reading yet';
  if (freshness.cause === 'device') return `no reading since ${timeOfDay(freshness.sinceWallMs)}`;
  const agoS = Math.max(0, Math.floor((nowWallMs - freshness.sinceWallMs) / 1000));
  return `link lost ${agoS} s ago (last reading ${timeOfDay(freshness.sinceWallMs)})`;
}

/** The same, without a ticking count: for a screen reader's live region, which must not repeat itself every second. */
export function staleAnnouncement(freshness: Freshness): string {
  if (freshness.current) return '';
  const since = Number.isNaN(freshness.sinceWallMs) ? '' : ` since ${timeOfDay(freshness.sinceWallMs)}`;
  return freshness.cause === 'link' ? `Server link lost: no current reading${since}` : `No reading from the device${since}`;
}
