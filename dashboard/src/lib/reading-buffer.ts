/**
 * The dashboard's copy of one device's recent readings: the last `windowMs` of calibrated
 * force on device time, as the `{x, y}` points chart.js draws directly (x in seconds,
 * y in newtons). Deliberately not reactive: at 1 kHz it changes a thousand times a
 * second, and the chart reads it once per animation frame.
 */
import type { ReadingsBatch } from '../../../server/contract/live-events.ts';

export interface ChartPoint {
  x: number;
  y: number;
}

/** Index of the first point with x >= `x` (points sorted by x), by bisection. */
export function firstIndexFrom(points: readonly ChartPoint[], x: number): number {
  let low = 0;
  let high = points.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((points[middle]?.x ?? Infinity) < x) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Past this much device time going backwards, the device restarted: start afresh. */
const RESTART_THRESHOLD_MS = 1000;
/** A pause longer than this many sample periods is a gap in the data, drawn as a break. */
const GAP_PERIODS = 3;

export class ReadingBuffer {
  readonly points: ChartPoint[] = [];
  readonly #windowMs: number;
  /** The device's sample period as last seen inside a batch, ms. */
  #periodMs = Number.POSITIVE_INFINITY;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Device time of the newest reading, ms (NaN when empty). */
  get latestMs(): number {
    return (this.points.at(-1)?.x ?? Number.NaN) * 1000;
  }

  get latestForceN(): number | null {
    return this.points.at(-1)?.y ?? null;
  }

  /**
   * Adds a batch. Readings not newer than what is held are skipped (a history that
   * overlaps what a reconnecting client already has); a batch far older than the newest
   * reading means the device or server restarted, and replaces what is held. Readings
   * missing in between (lost on the link, or a message this client could not take) leave
   * a break in the line (a NaN point, which chart.js does not draw) rather than a
   * straight line that was never measured.
   */
  add(batch: ReadingsBatch): void {
    const [firstMs, secondMs] = batch.tMs;
    if (firstMs !== undefined && secondMs !== undefined && secondMs > firstMs) this.#periodMs = secondMs - firstMs;
    if (firstMs !== undefined && firstMs < this.latestMs - RESTART_THRESHOLD_MS) this.points.length = 0;
    let lastMs = this.points.length === 0 ? Number.NEGATIVE_INFINITY : this.latestMs;
    for (const [index, tMs] of batch.tMs.entries()) {
      if (tMs <= lastMs) continue;
      if (Number.isFinite(lastMs) && tMs - lastMs > GAP_PERIODS * this.#periodMs) this.points.push({ x: (lastMs + tMs) / 2000, y: Number.NaN });
      this.points.push({ x: tMs / 1000, y: batch.forceN[index] ?? 0 });
      lastMs = tMs;
    }
    this.#dropOld();
  }

  clear(): void {
    this.points.length = 0;
  }

  /** Drops readings older than the window, in chunks (a splice per batch would be O(n) each time). */
  #dropOld(): void {
    const excess = firstIndexFrom(this.points, (this.latestMs - this.#windowMs) / 1000);
    if (excess > Math.max(64, this.points.length / 8)) this.points.splice(0, excess);
  }
}
