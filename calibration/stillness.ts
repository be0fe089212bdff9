/**
 * Is the reading still? Tare and capture both take the mean of a still period, so both
 * must know when the tip is at rest: a hand still moving a weight into place, a knock, or
 * a tip being pressed give a mean that belongs to no load in particular.
 *
 * Pure: it is fed samples and asked; time is the device's.
 *
 *   const stats = windowStats(tMs, raw, toNewtons); // null: too few samples
 *   if (stats?.still === true) capture(stats.meanRaw); // else describeMotion(stats) says why not
 *
 * Why the judgement is made in newtons, and its tolerance: docs/design/calibration.md.
 */

export const STILL_TOLERANCE_MIN_N = 0.15;
export const STILL_TOLERANCE_FRACTION = 0.015;
/** Fewer samples than this in a window say nothing about motion. */
const MIN_WINDOW_SAMPLES = 6;

export interface WindowStats {
  readonly samples: number;
  /** Device time covered, first to last sample. */
  readonly spanMs: number;
  readonly meanRaw: number;
  readonly sdRaw: number;
  readonly meanN: number;
  readonly sdN: number;
  /** Mean of the window's second half minus that of its first half, newtons. */
  readonly driftN: number;
  readonly toleranceN: number;
  readonly still: boolean;
}

export function toleranceAt(forceN: number): number {
  return Math.max(STILL_TOLERANCE_MIN_N, STILL_TOLERANCE_FRACTION * Math.abs(forceN));
}

/** Judges a run of samples (device ms, raw counts) with a conversion to newtons. */
export function windowStats(tMs: readonly number[], raw: readonly number[], toNewtons: (raw: number) => number): WindowStats | null {
  const n = raw.length;
  if (n === 0) return null;
  let sumRaw = 0;
  let sumN = 0;
  const forces = raw.map((value) => {
    sumRaw += value;
    const forceN = toNewtons(value);
    sumN += forceN;
    return forceN;
  });
  const meanRaw = sumRaw / n;
  const meanN = sumN / n;
  let squaresRaw = 0;
  let squaresN = 0;
  let firstHalfN = 0;
  let secondHalfN = 0;
  const half = Math.floor(n / 2);
  for (let index = 0; index < n; index++) {
    squaresRaw += ((raw[index] ?? 0) - meanRaw) ** 2;
    const forceN = forces[index] ?? 0;
    squaresN += (forceN - meanN) ** 2;
    if (index < half) firstHalfN += forceN;
    else secondHalfN += forceN;
  }
  const sdRaw = Math.sqrt(squaresRaw / n);
  const sdN = Math.sqrt(squaresN / n);
  const driftN = half === 0 ? 0 : secondHalfN / (n - half) - firstHalfN / half;
  const toleranceN = toleranceAt(meanN);
  return {
    samples: n,
    spanMs: (tMs.at(-1) ?? 0) - (tMs[0] ?? 0),
    meanRaw,
    sdRaw,
    meanN,
    sdN,
    driftN,
    toleranceN,
    still: n >= MIN_WINDOW_SAMPLES && sdN <= toleranceN / 2 && Math.abs(driftN) <= toleranceN / 2,
  };
}

/** How a window's motion reads to a person: "±0.42 N, drifting 0.30 N; still is within ±0.08 N". */
export function describeMotion(stats: WindowStats): string {
  return `±${stats.sdN.toFixed(2)} N, drifting ${Math.abs(stats.driftN).toFixed(2)} N; still is within ±${(stats.toleranceN / 2).toFixed(2)} N`;
}

/** The last samples of a device, kept for `keepMs` of device time. */
export class RecentSamples {
  readonly #keepMs: number;
  #tMs: number[] = [];
  #raw: number[] = [];
  #start = 0;

  constructor(keepMs: number) {
    this.#keepMs = keepMs;
  }

  get latestMs(): number {
    return this.#tMs.at(-1) ?? Number.NaN;
  }

  get count(): number {
    return this.#tMs.length - this.#start;
  }

  push(tMs: readonly number[], raw: readonly number[]): void {
    // A device clock that goes back means it restarted: what came before is another run.
    if ((tMs[0] ?? Infinity) < this.latestMs) this.clear();
    for (let index = 0; index < tMs.length; index++) {
      this.#tMs.push(tMs[index] ?? 0);
      this.#raw.push(raw[index] ?? 0);
    }
    const oldestMs = this.latestMs - this.#keepMs;
    while (this.#start < this.#tMs.length && (this.#tMs[this.#start] ?? 0) < oldestMs) this.#start++;
    // Compact now and then rather than shifting on every sample.
    if (this.#start > 4096 && this.#start > this.#tMs.length / 2) {
      this.#tMs = this.#tMs.slice(this.#start);
      this.#raw = this.#raw.slice(this.#start);
      this.#start = 0;
    }
  }

  clear(): void {
    this.#tMs = [];
    this.#raw = [];
    this.#start = 0;
  }

  /** The samples of the last `spanMs` of device time (and after `afterMs`, if given). */
  last(spanMs: number, afterMs = -Infinity): { tMs: number[]; raw: number[] } {
    const fromMs = Math.max(this.latestMs - spanMs, afterMs);
    let index = this.#tMs.length;
    while (index > this.#start && (this.#tMs[index - 1] ?? 0) >= fromMs) index--;
    return { tMs: this.#tMs.slice(index), raw: this.#raw.slice(index) };
  }
}
