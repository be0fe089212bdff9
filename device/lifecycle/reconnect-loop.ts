/**
 * The reconnect loop every port-based transport (serial, firmata) runs: one attempt to
 * attach; while it fails, another after a backoff from 50 ms doubling up to a ceiling
 * (500 ms for a named port, 1 s for auto-detect); after a loss, again from 50 ms.
 * The attempt itself (open, handshake) is the transport's; it never throws.
 *
 *   const loop = new ReconnectLoop({ maxDelayMs: 500, attempt: () => this.#connectOnce() });
 *   await loop.start();   // the first attempt; retries follow on their own while it fails
 *   loop.lost();          // the link went away: try again soon
 *   loop.stop();
 */

export const RECONNECT_FIRST_DELAY_MS = 50;
/** Ceilings of the backoff: a named port is cheap to retry; auto-detect opens every port. */
export const RECONNECT_MAX_DELAY_MS = { path: 500, autoDetect: 1000 } as const;

export interface ReconnectLoopOptions {
  /** Longest wait between two attempts. */
  readonly maxDelayMs: number;
  /** One attempt to attach; resolves true once attached, false otherwise (never rejects). */
  readonly attempt: () => Promise<boolean>;
}

export class ReconnectLoop {
  readonly #options: ReconnectLoopOptions;
  #timer: NodeJS.Timeout | null = null;
  #failures = 0;
  #running = false;

  constructor(options: ReconnectLoopOptions) {
    if (!(options.maxDelayMs >= RECONNECT_FIRST_DELAY_MS)) throw new TypeError(`maxDelayMs ${options.maxDelayMs}: must be at least ${RECONNECT_FIRST_DELAY_MS} ms`);
    this.#options = options;
  }

  /** Makes the first attempt; resolves once it is over (attached, or retrying). */
  async start(): Promise<void> {
    this.#running = true;
    this.#failures = 0;
    await this.#run();
  }

  /** The link was lost: attempts start again from the shortest delay. */
  lost(): void {
    this.#failures = 0;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #run(): Promise<void> {
    const attached = await this.#options.attempt();
    if (attached) this.#failures = 0;
    else this.#schedule();
  }

  #schedule(): void {
    if (!this.#running || this.#timer !== null) return;
    const delayMs = Math.min(RECONNECT_FIRST_DELAY_MS * 2 ** this.#failures, this.#options.maxDelayMs);
    this.#failures++;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#running) void this.#run();
    }, delayMs);
  }
}
