/**
 * The pressure engine: calibrated readings (device time in ms, force in N) in, zones,
 * holds, over-pressure warnings and their events out. Pure and deterministic: no clock,
 * no I/O, no globals, so the very same code runs live, in replay, in `npm run analyze`
 * and in tests, and feeding the same samples in any chunking gives the same events and
 * results. Constant work and memory per sample; only the list of results grows.
 *
 *   const engine = new PressureEngine(presetConfig('shoulders'));
 *   const events = engine.pushBatch({ tMs: [0, 10, 20], forceN: [0, 16.2, 17.0] });
 *   ...
 *   engine.finish();
 *   const { holds, warnings } = engine.results();
 *
 * Pipeline position: calibration (newtons on device time) -> **engine** -> recorder,
 * broadcaster, device feedback. The rules are docs/engine.md's; the shapes it emits are
 * in `results.ts`; where the rules leave a choice open (the time a sample owns, when a
 * dip ends a hold, when events fire, how a warning arms and clears), the choice made here
 * and why: docs/design/engine.md. Time must not go backwards and every number must be
 * finite, else a `RangeError` (a device that restarts its clock needs a new engine).
 */
import {
  engineConfigSchema,
  type EngineConfig,
  type EngineEvent,
  type EngineResults,
  type EngineState,
  type HoldResult,
  type WarningResult,
  type Zone,
} from './results.ts';

/** Samples as parallel arrays, like the pipeline's calibrated readings. */
export interface SampleBatch {
  readonly tMs: readonly number[];
  readonly forceN: readonly number[];
}

/** The zone of one reading under a configuration (docs/engine.md, "Zones"). */
export function zoneOf(forceN: number, config: EngineConfig): Zone {
  if (forceN < config.bandLowN) return 'below';
  if (forceN <= config.bandHighN) return 'band';
  if (forceN < config.overLimitN) return 'above';
  return 'over';
}

/**
 * An interval longer than this many sample periods has lost samples in it. Above 1 for
 * jitter; below 2 so that even one lost sample counts as lost.
 */
const GAP_PERIODS = 1.5;
/** How many intervals make one estimate of the sample period (their median). */
const PERIOD_BLOCK = 32;

/**
 * The device's sample period, as the median of blocks of intervals. Until the first block
 * is complete it is the median of the intervals seen so far (so the first interval counts
 * fully). Equal times (zero intervals) say nothing about the rate and are skipped.
 */
class SamplePeriod {
  readonly #block = new Float64Array(PERIOD_BLOCK);
  readonly #sorted = new Float64Array(PERIOD_BLOCK);
  #count = 0;
  #settled = false;
  periodMs = Number.NaN;

  note(intervalMs: number): void {
    if (!(intervalMs > 0)) return;
    this.#block[this.#count++] = intervalMs;
    if (!this.#settled || this.#count === PERIOD_BLOCK) this.#estimate();
    if (this.#count === PERIOD_BLOCK) {
      this.#count = 0;
      this.#settled = true;
    }
  }

  /** The part of an interval the sample before it owns: all of it, or one period across lost samples. */
  owned(intervalMs: number): number {
    if (intervalMs <= GAP_PERIODS * this.periodMs) return intervalMs;
    return Number.isNaN(this.periodMs) ? 0 : this.periodMs;
  }

  #estimate(): void {
    const sorted = this.#sorted.subarray(0, this.#count);
    sorted.set(this.#block.subarray(0, this.#count));
    sorted.sort();
    const middle = this.#count >> 1;
    this.periodMs = this.#count % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
  }
}

/**
 * A press in progress: from its first sample at or above `bandLowN` on. Sums and times are
 * "committed" up to its last pressed sample (its end so far); what came after that sample
 * (its owned interval, then the dip's samples) is "pending" until the press either comes
 * back (the dip is bridged: commit) or the dip reaches `dropoutMs` (discard).
 */
class OpenHold {
  readonly startMs: number;
  lastPressedMs: number;
  sumN = 0;
  count = 0;
  peakN = Number.NEGATIVE_INFINITY;
  timeInBandMs = 0;
  timeOverMs = 0;
  pendingSumN = 0;
  pendingCount = 0;
  pendingInBandMs = 0;
  pendingOverMs = 0;
  /** First sample of the current dip, null while pressed. */
  dipStartMs: number | null = null;
  dipOwnedMs = 0;
  started = false;
  targetReached = false;
  longReached = false;

  constructor(startMs: number) {
    this.startMs = startMs;
    this.lastPressedMs = startMs;
  }

  result(): HoldResult {
    return {
      startMs: this.startMs,
      endMs: this.lastPressedMs,
      durationMs: this.lastPressedMs - this.startMs,
      meanN: this.sumN / this.count,
      peakN: this.peakN,
      timeInBandMs: this.timeInBandMs,
      timeOverMs: this.timeOverMs,
    };
  }
}

export class PressureEngine {
  readonly config: EngineConfig;
  readonly #period = new SamplePeriod();
  #lastTMs = Number.NaN;
  #lastForceN = Number.NaN;
  #lastZone: Zone | null = null;
  #finished = false;

  #hold: OpenHold | null = null;
  readonly #holds: HoldResult[] = [];

  /** First sample of the current run at or over the limit (no warning open), or null. */
  #overRunStartMs: number | null = null;
  #overRunPeakN = Number.NEGATIVE_INFINITY;
  /** The open warning: also the last entry of `#warnings`, which `results()` copies. */
  #warning: WarningResult | null = null;
  /** First sample of the current run below `overClearN` (warning open), or null. */
  #clearRunStartMs: number | null = null;
  #clearRunOwnedMs = 0;
  readonly #warnings: WarningResult[] = [];

  /** @throws TypeError naming the field when the config breaks a rule of `engineConfigSchema`. */
  constructor(config: EngineConfig) {
    const checked = engineConfigSchema.safeParse(config);
    if (!checked.success) {
      throw new TypeError(`invalid engine config: ${checked.error.issues.map((issue) => issue.message).join('; ')}`);
    }
    this.config = Object.freeze({ ...checked.data });
  }

  /** Feeds one sample; returns the events it caused (often none). */
  push(tMs: number, forceN: number): EngineEvent[] {
    const events: EngineEvent[] = [];
    this.#step(tMs, forceN, events);
    return events;
  }

  /** Feeds samples as parallel arrays (the live pipeline's batches); same as pushing each. */
  pushBatch(batch: SampleBatch): EngineEvent[] {
    const { tMs, forceN } = batch;
    if (tMs.length !== forceN.length) {
      throw new RangeError(`a sample batch needs as many forces as times (got ${tMs.length} times and ${forceN.length} forces)`);
    }
    const events: EngineEvent[] = [];
    for (let index = 0; index < tMs.length; index++) this.#step(tMs[index] as number, forceN[index] as number, events);
    return events;
  }

  /**
   * End of data. A press in progress ends at its last sample at or above `bandLowN` (and is
   * recorded if it lasted `holdMinMs`); an open warning stays open (`endMs: null`). The
   * engine takes no samples afterwards; calling `finish()` again returns no events.
   */
  finish(): EngineEvent[] {
    const events: EngineEvent[] = [];
    if (this.#finished) return events;
    this.#finished = true;
    if (this.#hold !== null) this.#closeHold(this.#lastTMs, events);
    this.#overRunStartMs = null;
    return events;
  }

  /** Recorded holds and warnings so far (an open warning with `endMs: null`), oldest first. */
  results(): EngineResults {
    return {
      holds: this.#holds.map((hold) => ({ ...hold })),
      warnings: this.#warnings.map((warning) => ({ ...warning })),
    };
  }

  /** Where things stand after the last sample, for a client that connects now. */
  state(): EngineState {
    const hold = this.#hold;
    const hasData = this.#lastZone !== null;
    return {
      tMs: hasData ? this.#lastTMs : null,
      forceN: hasData ? this.#lastForceN : null,
      zone: this.#lastZone,
      hold:
        hold === null
          ? null
          : {
              startMs: hold.startMs,
              elapsedMs: this.#lastTMs - hold.startMs,
              started: hold.started,
              targetReached: hold.targetReached,
              longReached: hold.longReached,
              inDip: hold.dipStartMs !== null,
              meanN: hold.sumN / hold.count,
              peakN: hold.peakN,
            },
      warning: this.#warning === null ? null : { ...this.#warning },
    };
  }

  #step(tMs: number, forceN: number, events: EngineEvent[]): void {
    if (this.#finished) throw new Error('the pressure engine has finished (end of data): create a new engine for more samples');
    if (!Number.isFinite(tMs) || !Number.isFinite(forceN)) {
      throw new RangeError(`a sample needs a finite time and force (got tMs ${tMs}, forceN ${forceN})`);
    }
    const config = this.config;
    const first = this.#lastZone === null;
    if (!first) {
      if (tMs < this.#lastTMs) {
        throw new RangeError(`device time went backwards from ${this.#lastTMs} ms to ${tMs} ms: samples must come in time order (a device that restarted needs a new engine)`);
      }
      this.#creditPrevious(tMs - this.#lastTMs);
    }

    const zone = zoneOf(forceN, config);
    if (zone !== this.#lastZone) events.push({ type: 'zone.changed', tMs, zone, previous: this.#lastZone, forceN });
    this.#lastTMs = tMs;
    this.#lastForceN = forceN;
    this.#lastZone = zone;

    this.#stepHold(tMs, forceN, zone, events);
    this.#stepWarning(tMs, forceN, events);
  }

  /**
   * Gives the previous sample the part of the interval up to this one that it owns: to the
   * open hold's pending zone times (a pressed sample) or to its dip, and to the clearing run.
   */
  #creditPrevious(intervalMs: number): void {
    this.#period.note(intervalMs);
    const ownedMs = this.#period.owned(intervalMs);
    const hold = this.#hold;
    if (hold !== null) {
      if (hold.dipStartMs !== null) hold.dipOwnedMs += ownedMs;
      else if (this.#lastZone === 'band') hold.pendingInBandMs += ownedMs;
      else if (this.#lastZone === 'over') hold.pendingOverMs += ownedMs;
    }
    if (this.#clearRunStartMs !== null) this.#clearRunOwnedMs += ownedMs;
  }

  #stepHold(tMs: number, forceN: number, zone: Zone, events: EngineEvent[]): void {
    const config = this.config;
    let hold = this.#hold;
    if (hold !== null && hold.dipStartMs !== null && hold.dipOwnedMs >= config.dropoutMs) {
      this.#closeHold(tMs, events);
      hold = null;
    }
    if (zone === 'below') {
      if (hold === null) return;
      if (hold.dipStartMs === null) {
        hold.dipStartMs = tMs;
        hold.dipOwnedMs = 0;
      }
      hold.pendingSumN += forceN;
      hold.pendingCount++;
      return;
    }

    if (hold === null) {
      hold = new OpenHold(tMs);
      this.#hold = hold;
    }
    // Pressed again: everything since the last pressed sample is part of the hold.
    hold.sumN += hold.pendingSumN + forceN;
    hold.count += hold.pendingCount + 1;
    hold.timeInBandMs += hold.pendingInBandMs;
    hold.timeOverMs += hold.pendingOverMs;
    hold.pendingSumN = 0;
    hold.pendingCount = 0;
    hold.pendingInBandMs = 0;
    hold.pendingOverMs = 0;
    hold.dipStartMs = null;
    hold.dipOwnedMs = 0;
    if (forceN > hold.peakN) hold.peakN = forceN;
    hold.lastPressedMs = tMs;

    const elapsedMs = tMs - hold.startMs;
    if (!hold.started && elapsedMs >= config.holdMinMs) {
      hold.started = true;
      events.push({ type: 'hold.started', tMs, startMs: hold.startMs });
    }
    if (hold.started && !hold.targetReached && elapsedMs >= config.targetHoldMs) {
      hold.targetReached = true;
      events.push({ type: 'hold.target', tMs, startMs: hold.startMs });
    }
    if (hold.started && !hold.longReached && elapsedMs > config.maxHoldMs) {
      hold.longReached = true;
      events.push({ type: 'hold.long', tMs, startMs: hold.startMs });
    }
  }

  /** Ends the press in progress at its last pressed sample; `tMs` is the deciding sample. */
  #closeHold(tMs: number, events: EngineEvent[]): void {
    const hold = this.#hold;
    if (hold === null) return;
    this.#hold = null;
    if (hold.lastPressedMs - hold.startMs < this.config.holdMinMs) return;
    const result = hold.result();
    this.#holds.push(result);
    events.push({ type: 'hold.ended', tMs, hold: { ...result } });
  }

  #stepWarning(tMs: number, forceN: number, events: EngineEvent[]): void {
    const config = this.config;
    const warning = this.#warning;
    if (warning !== null) {
      if (this.#clearRunStartMs !== null && this.#clearRunOwnedMs >= config.overClearMs) {
        warning.endMs = this.#clearRunStartMs;
        this.#warning = null;
        this.#clearRunStartMs = null;
        this.#clearRunOwnedMs = 0;
        events.push({ type: 'over.ended', tMs, warning: { ...warning } });
        // This sample is after the warning: it may start the next over-limit run below.
      } else {
        if (forceN > warning.peakN) warning.peakN = forceN;
        if (forceN >= config.overClearN) {
          this.#clearRunStartMs = null;
          this.#clearRunOwnedMs = 0;
        } else if (this.#clearRunStartMs === null) {
          this.#clearRunStartMs = tMs;
          this.#clearRunOwnedMs = 0;
        }
        return;
      }
    }

    if (forceN < config.overLimitN) {
      this.#overRunStartMs = null;
      return;
    }
    if (this.#overRunStartMs === null) {
      this.#overRunStartMs = tMs;
      this.#overRunPeakN = forceN;
    } else if (forceN > this.#overRunPeakN) {
      this.#overRunPeakN = forceN;
    }
    if (tMs - this.#overRunStartMs >= config.overDebounceMs) {
      const fired: WarningResult = { startMs: this.#overRunStartMs, alertMs: tMs, endMs: null, peakN: this.#overRunPeakN };
      this.#warning = fired;
      this.#warnings.push(fired);
      this.#overRunStartMs = null;
      events.push({ type: 'over.started', tMs, warning: { ...fired } });
    }
  }
}
