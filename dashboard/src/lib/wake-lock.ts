/**
 * Keeps the screen on during a session where the browser allows it (Screen Wake Lock
 * API; a secure context, e.g. loopback or HTTPS). The browser drops the lock when the page
 * is hidden; it is taken again when the page shows while still wanted. Where the API is
 * missing or refuses, the screen behaves as usual: nothing else depends on it.
 *
 *   const wakeLock = new ScreenWakeLock();
 *   wakeLock.want(sessionInProgress);
 */
export class ScreenWakeLock {
  #wanted = false;
  #sentinel: WakeLockSentinel | null = null;
  #requesting = false;
  readonly #onVisibility = (): void => {
    if (document.visibilityState === 'visible') void this.#acquire();
  };

  constructor() {
    document.addEventListener('visibilitychange', this.#onVisibility);
  }

  /** Whether the page holds the lock now. */
  get held(): boolean {
    return this.#sentinel !== null && !this.#sentinel.released;
  }

  want(wanted: boolean): void {
    if (wanted === this.#wanted) return;
    this.#wanted = wanted;
    if (wanted) void this.#acquire();
    else void this.#release();
  }

  close(): void {
    document.removeEventListener('visibilitychange', this.#onVisibility);
    this.want(false);
  }

  async #acquire(): Promise<void> {
    if (!this.#wanted || this.held || this.#requesting || !('wakeLock' in navigator) || document.visibilityState !== 'visible') return;
    this.#requesting = true;
    try {
      const sentinel = await navigator.wakeLock.request('screen');
      this.#sentinel = sentinel;
      // No longer wanted while the request was pending.
      if (!this.#stillWanted()) await this.#release();
    } catch {
      // Refused (battery saver, a policy, not a secure context): the screen may sleep as usual.
    } finally {
      this.#requesting = false;
    }
  }

  #stillWanted(): boolean {
    return this.#wanted;
  }

  async #release(): Promise<void> {
    const sentinel = this.#sentinel;
    this.#sentinel = null;
    await sentinel?.release().catch(() => undefined);
  }
}
