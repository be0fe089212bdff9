/**
 * Min/max envelope downsampling: many samples in, at most `buckets` entries out, each the
 * lowest and highest force of an equal slice of time, so a one-sample spike still shows
 * in a whole-session overview (an average or every n-th sample would hide it). Pure; a
 * store feeds it samples, or the lowest and highest force of chunks of samples small
 * enough to sit in one bucket (at most `summaryMaxSpanMs` long, placed by their middle),
 * which it can fold without reading the samples themselves.
 *
 * Pipeline position: session store -> **envelope** -> REST API -> the session chart.
 */
import type { SampleEnvelope } from '../contract/records.ts';

export class EnvelopeBuilder {
  readonly fromMs: number;
  readonly toMs: number;
  readonly bucketMs: number;
  readonly #minN: Float64Array;
  readonly #maxN: Float64Array;

  /** `buckets` slices of equal length between `fromMs` and `toMs` (inclusive). */
  constructor(fromMs: number, toMs: number, buckets: number) {
    if (!(toMs > fromMs) || !Number.isInteger(buckets) || buckets < 1) {
      throw new RangeError(`an envelope needs fromMs < toMs and at least 1 bucket (got ${fromMs}..${toMs}, ${buckets})`);
    }
    this.fromMs = fromMs;
    this.toMs = toMs;
    this.bucketMs = (toMs - fromMs) / buckets;
    this.#minN = new Float64Array(buckets).fill(Number.POSITIVE_INFINITY);
    this.#maxN = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
  }

  get buckets(): number {
    return this.#minN.length;
  }

  /**
   * Chunks no longer than this (inside the range) may be folded whole into the bucket of
   * their middle, `floor((middle - fromMs) / bucketMs)` capped at the last bucket: their
   * samples are then off by at most half a bucket in time.
   */
  get summaryMaxSpanMs(): number {
    return this.bucketMs / 2;
  }

  /** The lowest and highest force of chunks folded into one bucket (see `summaryMaxSpanMs`). */
  addBucket(bucket: number, minN: number, maxN: number): void {
    this.#fold(Math.min(Math.max(bucket, 0), this.#minN.length - 1), minN, maxN);
  }

  /** Samples as parallel arrays; those outside the range are ignored. */
  addSamples(tMs: ArrayLike<number>, forceN: ArrayLike<number>): void {
    for (let index = 0; index < tMs.length; index++) {
      const t = tMs[index] as number;
      if (t < this.fromMs || t > this.toMs) continue;
      const force = forceN[index] as number;
      this.#fold(this.#bucketOf(t), force, force);
    }
  }

  result(): SampleEnvelope {
    const envelope: SampleEnvelope = { fromMs: this.fromMs, toMs: this.toMs, bucketMs: this.bucketMs, exact: false, tMs: [], minN: [], maxN: [] };
    for (let bucket = 0; bucket < this.#minN.length; bucket++) {
      const minN = this.#minN[bucket] as number;
      if (minN === Number.POSITIVE_INFINITY) continue;
      envelope.tMs.push(this.fromMs + (bucket + 0.5) * this.bucketMs);
      envelope.minN.push(minN);
      envelope.maxN.push(this.#maxN[bucket] as number);
    }
    return envelope;
  }

  #bucketOf(tMs: number): number {
    return Math.min(Math.max(Math.floor((tMs - this.fromMs) / this.bucketMs), 0), this.#minN.length - 1);
  }

  #fold(bucket: number, minN: number, maxN: number): void {
    if (minN < (this.#minN[bucket] as number)) this.#minN[bucket] = minN;
    if (maxN > (this.#maxN[bucket] as number)) this.#maxN[bucket] = maxN;
  }
}

/** Every sample between `fromMs` and `toMs` as it is (for a stretch with few enough samples). */
export class ExactCollector {
  readonly envelope: SampleEnvelope;

  constructor(fromMs: number, toMs: number) {
    this.envelope = { fromMs, toMs, bucketMs: 0, exact: true, tMs: [], minN: [], maxN: [] };
  }

  addSamples(tMs: ArrayLike<number>, forceN: ArrayLike<number>): void {
    const { envelope } = this;
    for (let index = 0; index < tMs.length; index++) {
      const t = tMs[index] as number;
      if (t < envelope.fromMs || t > envelope.toMs) continue;
      envelope.tMs.push(t);
      envelope.minN.push(forceN[index] as number);
      envelope.maxN.push(forceN[index] as number);
    }
  }
}
