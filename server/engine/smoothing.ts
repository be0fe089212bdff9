/**
 * Causal smoothing of a force signal before the pressure engine: each output is the mean
 * of the samples of the last `windowMs` of device time (the current one included), so it
 * needs no future samples and runs live as well as on a file (`analyze --smooth-ms N`).
 * A window of about 100 ms averages out hand tremor (4 to 12 Hz) and sensor noise that
 * would otherwise make zones flicker at a threshold; the price is a lag of about half the
 * window on every edge, which shifts hold starts and ends by as much.
 *
 *   const smoother = new MovingAverage(100);
 *   engine.pushBatch(smoother.smoothBatch(readings));
 *
 * Pipeline position: calibration -> **smoothing (optional)** -> engine. Like the engine it
 * is deterministic and chunking-invariant. Memory: the samples of one window.
 */
import type { SampleBatch } from './engine.ts';

/** Every this many samples the running sum is recomputed, so rounding cannot pile up over hours. */
const RESUM_EVERY = 65_536;

export class MovingAverage {
  readonly windowMs: number;
  #timesMs = new Float64Array(64);
  #forcesN = new Float64Array(64);
  /** Index of the oldest sample in the ring; `#size` samples follow it. */
  #head = 0;
  #size = 0;
  #sumN = 0;
  #untilResum = RESUM_EVERY;

  /** @throws TypeError unless `windowMs` is a finite number above 0. */
  constructor(windowMs: number) {
    if (!Number.isFinite(windowMs) || windowMs <= 0) {
      throw new TypeError(`the smoothing window must be a time above 0 ms, got ${windowMs}`);
    }
    this.windowMs = windowMs;
  }

  /** The smoothed force at `tMs`; samples must come in time order. */
  next(tMs: number, forceN: number): number {
    const mask = this.#timesMs.length - 1;
    const oldestKeptMs = tMs - this.windowMs;
    while (this.#size > 0 && (this.#timesMs[this.#head] as number) <= oldestKeptMs) {
      this.#sumN -= this.#forcesN[this.#head] as number;
      this.#head = (this.#head + 1) & mask;
      this.#size--;
    }
    if (this.#size === this.#timesMs.length) this.#grow();
    const tail = (this.#head + this.#size) & (this.#timesMs.length - 1);
    this.#timesMs[tail] = tMs;
    this.#forcesN[tail] = forceN;
    this.#size++;
    this.#sumN += forceN;
    if (--this.#untilResum === 0) this.#resum();
    return this.#sumN / this.#size;
  }

  /** Smooths a batch (parallel arrays); the times are passed through unchanged. */
  smoothBatch(batch: SampleBatch): { tMs: readonly number[]; forceN: number[] } {
    const forceN = new Array<number>(batch.tMs.length);
    for (let index = 0; index < batch.tMs.length; index++) {
      forceN[index] = this.next(batch.tMs[index] as number, batch.forceN[index] as number);
    }
    return { tMs: batch.tMs, forceN };
  }

  /** Doubles the ring (its capacity stays a power of two, so indices wrap with a mask). */
  #grow(): void {
    const capacity = this.#timesMs.length;
    const timesMs = new Float64Array(capacity * 2);
    const forcesN = new Float64Array(capacity * 2);
    for (let index = 0; index < this.#size; index++) {
      timesMs[index] = this.#timesMs[(this.#head + index) & (capacity - 1)] as number;
      forcesN[index] = this.#forcesN[(this.#head + index) & (capacity - 1)] as number;
    }
    this.#timesMs = timesMs;
    this.#forcesN = forcesN;
    this.#head = 0;
  }

  #resum(): void {
    const mask = this.#timesMs.length - 1;
    let sumN = 0;
    for (let index = 0; index < this.#size; index++) sumN += this.#forcesN[(this.#head + index) & mask] as number;
    this.#sumN = sumN;
    this.#untilResum = RESUM_EVERY;
  }
}
