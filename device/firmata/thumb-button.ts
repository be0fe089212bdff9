/**
 * The thumb button read on a Firmata board's pin (StandardFirmata has no firmware of ours
 * to debounce it), debounced on the host as our firmware does on the chip: a press counts
 * once the pin has read pressed, unchanged, for `settleMs` (a bounce train restarts the
 * wait at each edge, so it makes one press), dated at its first edge. A button already
 * down at the first report (held when the board attached) is no press until it is let go.
 *
 *   const button = new ThumbButtonDebouncer({ settleMs: 25, nowUs: () => clockUs(), onPress: (atUs) => ... });
 *   link.onButton = (down) => button.report(down);   // every report of the pin, changed or not
 *   button.reset();                                  // the board restarted: the next report is its first
 *
 * Firmata reports a pin when its port changes, each report stamped on arrival: bounces
 * faster than the link may arrive as one level, which only helps.
 */

/** As the firmware's (Knotmeter::kButtonSettleUs). */
export const BUTTON_SETTLE_MS = 25;

export interface ThumbButtonOptions {
  readonly settleMs?: number;
  /** The clock the press is dated on (the transport's sample clock), microseconds. */
  readonly nowUs: () => number;
  readonly onPress: (atUs: number) => void;
}

export class ThumbButtonDebouncer {
  readonly #options: ThumbButtonOptions;
  /** The last level reported (null: none yet), and the debounced state. */
  #pin: boolean | null = null;
  #down = false;
  /** When the press being confirmed began (its first edge), or null. */
  #pressStartUs: number | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: ThumbButtonOptions) {
    this.#options = options;
  }

  /** One report of the pin: `down` when it reads pressed (low, to ground). */
  report(down: boolean): void {
    if (this.#pin === null) {
      this.#pin = this.#down = down;
      return;
    }
    if (down === this.#pin) return;
    this.#pin = down;
    if (down && !this.#down) this.#pressStartUs ??= this.#options.nowUs();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#settled(), this.#options.settleMs ?? BUTTON_SETTLE_MS);
  }

  /** Forgets the pin (a new board or a restart): its next report is its state at attach. */
  reset(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pin = null;
    this.#down = false;
    this.#pressStartUs = null;
  }

  #settled(): void {
    this.#timer = null;
    const pin = this.#pin;
    if (pin !== null && pin !== this.#down) {
      this.#down = pin;
      const startUs = this.#pressStartUs;
      if (pin && startUs !== null) this.#options.onPress(startUs);
    }
    this.#pressStartUs = null;
  }
}
