/**
 * Token buckets, one per client, for the live stream's requests: a client may send
 * `burst` requests at once and `perSecond` a second after that. Clock-free (the caller
 * passes the time), bounded: a bucket that has refilled is forgotten, so a crowd of
 * clients that have gone quiet costs nothing.
 *
 *   const buckets = new TokenBuckets({ burst: 20, perSecond: 5 });
 *   if (!buckets.take('127.0.0.1', performance.now())) refuse();
 */

export interface TokenBucketLimits {
  /** Requests a client may send at once. */
  readonly burst: number;
  /** Requests a second a client may send once its burst is spent. */
  readonly perSecond: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/** Past this many clients, buckets that have refilled are swept before a new one is made. */
const SWEEP_ABOVE = 1000;

export class TokenBuckets {
  readonly limits: TokenBucketLimits;
  readonly #buckets = new Map<string, Bucket>();

  constructor(limits: TokenBucketLimits) {
    if (!(Number.isInteger(limits.burst) && limits.burst >= 1)) throw new TypeError(`burst must be a whole number of requests, at least 1 (got ${limits.burst})`);
    if (!(Number.isFinite(limits.perSecond) && limits.perSecond > 0)) throw new TypeError(`perSecond must be a number of requests above 0 (got ${limits.perSecond})`);
    this.limits = limits;
  }

  /** Takes a token from the client's bucket: false (and nothing taken) when it is empty. */
  take(client: string, nowMs: number): boolean {
    const bucket = this.#refilled(client, nowMs);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** How many clients are remembered (those that have not refilled since they last asked). */
  get size(): number {
    return this.#buckets.size;
  }

  #refilled(client: string, nowMs: number): Bucket {
    let bucket = this.#buckets.get(client);
    if (bucket === undefined) {
      if (this.#buckets.size >= SWEEP_ABOVE) this.#sweep(nowMs);
      bucket = { tokens: this.limits.burst, atMs: nowMs };
      this.#buckets.set(client, bucket);
      return bucket;
    }
    const elapsedMs = Math.max(0, nowMs - bucket.atMs);
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + (elapsedMs / 1000) * this.limits.perSecond);
    bucket.atMs = nowMs;
    return bucket;
  }

  #sweep(nowMs: number): void {
    for (const [client, bucket] of this.#buckets) {
      if (bucket.tokens + ((nowMs - bucket.atMs) / 1000) * this.limits.perSecond >= this.limits.burst) this.#buckets.delete(client);
    }
  }
}
