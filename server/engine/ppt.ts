/**
 * The pressure-pain threshold (PPT) analyser: force samples (device ms, newtons) and the
 * person's marks in, trials and their summary out. Pure and deterministic like the
 * pressure engine (`engine.ts`): no clock, no I/O, the same code in `npm run analyze --
 * --ppt`, on the server that stores a measurement and in the dashboard's algometer mode.
 *
 *   const ppt = new PptAnalyser({ startLevelN: 1, rateKPaPerS: 50, areaCm2: 1.5 });
 *   ppt.push(0, 0.2); ppt.push(10, 1.1); ...; ppt.mark(4210); ...
 *   ppt.finish();
 *   const { trials, summary } = ppt.results();
 *   // or, for a whole trace: analysePpt({ tMs, forceN, marked }, settings)
 *
 * The rules (docs/ppt.md): a trial starts at the first sample at or above the start level
 * after one below it, and ends at its onset: the first mark at or after its start (PPT =
 * the force of the last sample at or before the mark), or, with no mark, a release (PPT =
 * the trial's peak, onset at the peak) once the force falls to half of its highest value
 * of the last 0.5 s, or (a slow release) below the start level and half the peak. The
 * rate is the least-squares slope of the force from the first sample at or above 20 % of
 * the PPT to the onset. The force must be below half the start level before a trial can
 * start (at first, and again after each trial: noise as the hand lets go starts none); a
 * trial with no onset when the data ends is no trial. Marks with no trial running are
 * ignored.
 *
 * A mark may be fed before the samples up to its time have come (a device's button line
 * beside its sample batches): it waits for the first sample after it. Work per sample is
 * constant (amortized); a trial keeps its samples (for the slope), thinned to every
 * second one whenever it reaches MAX_TRIAL_SAMPLES, so memory stays bounded.
 * Time going backwards or a number that is not finite is a `RangeError`.
 */
import {
  kPaPerNewton,
  PPT_MIN_TRIAL_MS,
  PPT_RATE_TOLERANCE,
  PPT_RELEASE_WINDOW_MS,
  pptSettingsSchema,
  type PptAnalysis,
  type PptEvent,
  type PptInvalidReason,
  type PptOnset,
  type PptSettings,
  type PptState,
  type PptSummary,
  type PptTrial,
} from '../contract/ppt.ts';

/** Samples a trial keeps before it thins them (a minute at 1 kHz). */
export const MAX_TRIAL_SAMPLES = 65_536;
/** The live rate (`state().trial.rateNPerS`) is the slope over this much of the latest data. */
const LIVE_RATE_WINDOW_MS = 1000;
/**
 * After a trial the force must fall below this fraction of the start level before the
 * next can start: noise around the start level as the hand lets go starts no trial.
 */
const REARM_FRACTION = 0.5;
/** The ramp's slope is measured from this fraction of the PPT. */
const RAMP_FROM_FRACTION = 0.2;

/** Least-squares slope of force over time, per second; NaN for fewer than two distinct times. */
function slopeNPerS(tMs: Float64Array, forceN: Float64Array, from: number, to: number): number {
  const count = to - from;
  if (count < 2) return Number.NaN;
  const t0 = tMs[from] ?? 0;
  let sumT = 0;
  let sumF = 0;
  for (let index = from; index < to; index++) {
    sumT += (tMs[index] ?? 0) - t0;
    sumF += forceN[index] ?? 0;
  }
  const meanT = sumT / count;
  const meanF = sumF / count;
  let covariance = 0;
  let variance = 0;
  for (let index = from; index < to; index++) {
    const dt = (tMs[index] ?? 0) - t0 - meanT;
    covariance += dt * ((forceN[index] ?? 0) - meanF);
    variance += dt * dt;
  }
  return variance === 0 ? Number.NaN : (covariance / variance) * 1000;
}

/**
 * The samples of the running trial, thinned by two whenever full. The latest sample is
 * always kept (in the slot after the others while thinning skips it): a mark or a
 * release is measured at it.
 */
class TrialSamples {
  readonly tMs = new Float64Array(MAX_TRIAL_SAMPLES + 1);
  readonly forceN = new Float64Array(MAX_TRIAL_SAMPLES + 1);
  /** Samples kept for good; the slot after them holds the latest one when `hasTail`. */
  #kept = 0;
  #hasTail = false;
  #stride = 1;
  #sinceKept = 0;

  get length(): number {
    return this.#kept + (this.#hasTail ? 1 : 0);
  }

  add(tMs: number, forceN: number): void {
    this.#sinceKept++;
    if (this.#kept > 0 && this.#sinceKept < this.#stride) {
      this.tMs[this.#kept] = tMs;
      this.forceN[this.#kept] = forceN;
      this.#hasTail = true;
      return;
    }
    this.#sinceKept = 0;
    if (this.#kept === MAX_TRIAL_SAMPLES) {
      for (let index = 0; index < MAX_TRIAL_SAMPLES / 2; index++) {
        this.tMs[index] = this.tMs[index * 2] ?? 0;
        this.forceN[index] = this.forceN[index * 2] ?? 0;
      }
      this.#kept = MAX_TRIAL_SAMPLES / 2;
      this.#stride *= 2;
    }
    this.tMs[this.#kept] = tMs;
    this.forceN[this.#kept] = forceN;
    this.#kept++;
    this.#hasTail = false;
  }

  /** Index of the last sample at or before `tMs` (-1: none). */
  lastAtOrBefore(tMs: number): number {
    let index = this.length - 1;
    while (index >= 0 && (this.tMs[index] ?? 0) > tMs) index--;
    return index;
  }

  /** Index of the first sample at or after `tMs` (`length`: none). */
  firstFrom(tMs: number): number {
    let index = this.length;
    while (index > 0 && (this.tMs[index - 1] ?? 0) >= tMs) index--;
    return index;
  }

  /** Index of the first sample at or above `levelN` (up to `end`). */
  firstAtOrAbove(levelN: number, end: number): number {
    for (let index = 0; index < end; index++) if ((this.forceN[index] ?? 0) >= levelN) return index;
    return end;
  }
}

/** The highest force of the last PPT_RELEASE_WINDOW_MS: a monotonic queue (amortized constant work). */
class WindowMax {
  readonly #tMs: number[] = [];
  readonly #forceN: number[] = [];
  #head = 0;

  add(tMs: number, forceN: number): number {
    while (this.#forceN.length > this.#head && (this.#forceN.at(-1) ?? 0) <= forceN) {
      this.#tMs.pop();
      this.#forceN.pop();
    }
    this.#tMs.push(tMs);
    this.#forceN.push(forceN);
    while ((this.#tMs[this.#head] ?? tMs) < tMs - PPT_RELEASE_WINDOW_MS) this.#head++;
    if (this.#head > 1024) {
      this.#tMs.splice(0, this.#head);
      this.#forceN.splice(0, this.#head);
      this.#head = 0;
    }
    return this.#forceN[this.#head] ?? forceN;
  }
}

class OpenTrial {
  readonly startMs: number;
  readonly samples = new TrialSamples();
  readonly window = new WindowMax();
  peakN = Number.NEGATIVE_INFINITY;
  peakMs = 0;

  constructor(startMs: number) {
    this.startMs = startMs;
  }
}

/** The summary of a list of trials: over the valid ones (docs/ppt.md). */
export function summarizePpt(trials: readonly PptTrial[], areaCm2: number): PptSummary {
  const ppts = trials.filter((trial) => trial.valid).map((trial) => trial.pptN);
  const n = ppts.length;
  if (n === 0) return { n: 0, meanPptN: null, meanPptKPa: null, sdN: null, cv: null };
  const meanPptN = ppts.reduce((sum, value) => sum + value, 0) / n;
  const sdN = n < 2 ? null : Math.sqrt(ppts.reduce((sum, value) => sum + (value - meanPptN) ** 2, 0) / (n - 1));
  return { n, meanPptN, meanPptKPa: meanPptN * kPaPerNewton(areaCm2), sdN, cv: sdN === null || meanPptN <= 0 ? null : sdN / meanPptN };
}

export class PptAnalyser {
  readonly settings: PptSettings;
  /** The target rate in newtons per second through the tip's area. */
  readonly targetNPerS: number;
  #lastTMs = Number.NaN;
  #lastForceN = Number.NaN;
  /** Ready for a trial: the force has been below the start level since the last one. */
  #armed = false;
  #trial: OpenTrial | null = null;
  /** Marks not yet reached by the samples, in time order. */
  readonly #pendingMarks: number[] = [];
  readonly #trials: PptTrial[] = [];
  #finished = false;

  /** @throws TypeError naming the setting that is out of range. */
  constructor(settings: PptSettings) {
    const checked = pptSettingsSchema.safeParse(settings);
    if (!checked.success) throw new TypeError(`invalid PPT settings: ${checked.error.issues.map((issue) => issue.message).join('; ')}`);
    this.settings = Object.freeze({ ...checked.data });
    this.targetNPerS = this.settings.rateKPaPerS / kPaPerNewton(this.settings.areaCm2);
  }

  /** Feeds one sample; returns the events it caused (often none). */
  push(tMs: number, forceN: number): PptEvent[] {
    const events: PptEvent[] = [];
    this.#step(tMs, forceN, events);
    return events;
  }

  /** Feeds samples as parallel arrays; same as pushing each. */
  pushBatch(batch: { readonly tMs: readonly number[]; readonly forceN: readonly number[] }): PptEvent[] {
    if (batch.tMs.length !== batch.forceN.length) throw new RangeError(`a sample batch needs as many forces as times (got ${batch.tMs.length} times and ${batch.forceN.length} forces)`);
    const events: PptEvent[] = [];
    for (let index = 0; index < batch.tMs.length; index++) this.#step(batch.tMs[index] as number, batch.forceN[index] as number, events);
    return events;
  }

  /** Feeds a stretch of a trace: each sample, then its mark if it is marked (what `analysePpt` and `analyze --ppt` do). */
  pushTrace(trace: PptTrace): PptEvent[] {
    const events: PptEvent[] = [];
    for (let index = 0; index < trace.tMs.length; index++) {
      const tMs = trace.tMs[index] as number;
      this.#step(tMs, trace.forceN[index] as number, events);
      if (trace.marked?.[index] === true) events.push(...this.mark(tMs));
    }
    return events;
  }

  /**
   * The person signalled pain at device time `tMs`. If samples up to that time have come,
   * it ends the running trial at once (a mark before the trial's start, or with none
   * running, is ignored); else it waits for the first sample after it.
   */
  mark(tMs: number): PptEvent[] {
    if (this.#finished) throw new Error('the PPT analyser has finished (end of data): create a new one for more samples');
    if (!Number.isFinite(tMs)) throw new RangeError(`a mark needs a finite time (got ${tMs})`);
    const events: PptEvent[] = [];
    if (!Number.isNaN(this.#lastTMs) && tMs <= this.#lastTMs) this.#resolveMark(tMs, events);
    else {
      this.#pendingMarks.push(tMs);
      this.#pendingMarks.sort((a, b) => a - b);
    }
    return events;
  }

  /** End of data: a mark still waiting ends the running trial at the last sample; a trial with no onset is dropped. */
  finish(): PptEvent[] {
    const events: PptEvent[] = [];
    if (this.#finished) return events;
    this.#finished = true;
    for (const markMs of this.#pendingMarks.splice(0)) this.#resolveMark(markMs, events);
    this.#trial = null;
    return events;
  }

  /** The trials so far and their summary. */
  results(): PptAnalysis {
    const trials = this.#trials.map((trial) => ({ ...trial }));
    return { trials, summary: summarizePpt(trials, this.settings.areaCm2) };
  }

  /** Where the force should be at `tMs` in a trial that started at `startMs`: the start level plus the target rate. */
  guideN(startMs: number, tMs: number): number {
    return this.settings.startLevelN + (this.targetNPerS * Math.max(0, tMs - startMs)) / 1000;
  }

  state(): PptState {
    const hasData = !Number.isNaN(this.#lastTMs);
    const trial = this.#trial;
    let trialState: PptState['trial'] = null;
    if (trial !== null) {
      const { samples } = trial;
      const from = samples.firstFrom(this.#lastTMs - LIVE_RATE_WINDOW_MS);
      const rate = slopeNPerS(samples.tMs, samples.forceN, from, samples.length);
      const rateNPerS = Number.isNaN(rate) ? null : rate;
      trialState = {
        startMs: trial.startMs,
        elapsedMs: this.#lastTMs - trial.startMs,
        peakN: trial.peakN,
        guideN: this.guideN(trial.startMs, this.#lastTMs),
        rateNPerS,
        rateKPaPerS: rateNPerS === null ? null : rateNPerS * kPaPerNewton(this.settings.areaCm2),
      };
    }
    return {
      phase: trial !== null ? 'ramp' : this.#armed ? 'armed' : 'idle',
      tMs: hasData ? this.#lastTMs : null,
      forceN: hasData ? this.#lastForceN : null,
      trial: trialState,
    };
  }

  #step(tMs: number, forceN: number, events: PptEvent[]): void {
    if (this.#finished) throw new Error('the PPT analyser has finished (end of data): create a new one for more samples');
    if (!Number.isFinite(tMs) || !Number.isFinite(forceN)) throw new RangeError(`a sample needs a finite time and force (got tMs ${tMs}, forceN ${forceN})`);
    if (tMs < this.#lastTMs) {
      throw new RangeError(`device time went backwards from ${this.#lastTMs} ms to ${tMs} ms: samples must come in time order (a device that restarted needs a new analyser)`);
    }
    // Marks this sample has passed belong to the samples before it.
    while (this.#pendingMarks.length > 0 && (this.#pendingMarks[0] ?? 0) < tMs) this.#resolveMark(this.#pendingMarks.shift() ?? 0, events);
    this.#lastTMs = tMs;
    this.#lastForceN = forceN;
    const { startLevelN } = this.settings;
    const trial = this.#trial;
    if (trial === null) {
      if (forceN < startLevelN * REARM_FRACTION) this.#armed = true;
      else if (this.#armed && forceN >= startLevelN) {
        this.#armed = false;
        const started = new OpenTrial(tMs);
        this.#trial = started;
        this.#addToTrial(started, tMs, forceN);
        events.push({ type: 'trial.started', tMs, startMs: tMs });
      }
      return;
    }
    const windowMaxN = this.#addToTrial(trial, tMs, forceN);
    const slowRelease = forceN < startLevelN && forceN <= trial.peakN / 2;
    if (slowRelease || forceN <= windowMaxN / 2) {
      this.#end(trial, 'release', trial.samples.lastAtOrBefore(trial.peakMs), tMs, events);
      if (forceN < startLevelN * REARM_FRACTION) this.#armed = true;
    }
  }

  /** Adds a sample to the running trial; returns the highest force of the release window. */
  #addToTrial(trial: OpenTrial, tMs: number, forceN: number): number {
    trial.samples.add(tMs, forceN);
    if (forceN > trial.peakN) {
      trial.peakN = forceN;
      trial.peakMs = tMs;
    }
    return trial.window.add(tMs, forceN);
  }

  #resolveMark(markMs: number, events: PptEvent[]): void {
    const trial = this.#trial;
    if (trial === null || markMs < trial.startMs) return;
    this.#end(trial, 'mark', trial.samples.lastAtOrBefore(markMs), markMs, events);
  }

  /** Ends the running trial at the sample `onsetIndex` of its samples; `tMs` is the deciding time. */
  #end(trial: OpenTrial, onset: PptOnset, onsetIndex: number, tMs: number, events: PptEvent[]): void {
    this.#trial = null;
    const { samples } = trial;
    const index = Math.max(0, onsetIndex);
    const onsetMs = samples.tMs[index] ?? trial.startMs;
    const pptN = samples.forceN[index] ?? 0;
    const from = samples.firstAtOrAbove(RAMP_FROM_FRACTION * pptN, index + 1);
    const slope = slopeNPerS(samples.tMs, samples.forceN, from, index + 1);
    const rateNPerS = Number.isNaN(slope) ? 0 : slope;
    const perN = kPaPerNewton(this.settings.areaCm2);
    const reason = this.#invalidReason(onsetMs - trial.startMs, rateNPerS);
    const result: PptTrial = {
      startMs: trial.startMs,
      onsetMs,
      onset,
      pptN,
      pptKPa: pptN * perN,
      rateNPerS,
      rateKPaPerS: rateNPerS * perN,
      valid: reason === null,
      reason,
    };
    this.#trials.push(result);
    events.push({ type: 'trial.ended', tMs, trial: { ...result } });
  }

  #invalidReason(durationMs: number, rateNPerS: number): PptInvalidReason | null {
    if (durationMs < PPT_MIN_TRIAL_MS) return 'onset-too-soon';
    if (!(rateNPerS > 0)) return 'ramp-not-rising';
    if (Math.abs(rateNPerS - this.targetNPerS) > PPT_RATE_TOLERANCE * this.targetNPerS) return 'rate-off-target';
    return null;
  }
}

/** A whole trace: samples and, per sample, whether the person marked on it. */
export interface PptTrace {
  readonly tMs: readonly number[];
  readonly forceN: readonly number[];
  /** True on the sample where the person signalled pain (absent: no marks). */
  readonly marked?: readonly boolean[];
}

/** Analyses a whole trace at once (what `npm run analyze -- --ppt` prints). */
export function analysePpt(trace: PptTrace, settings: PptSettings): PptAnalysis {
  const analyser = new PptAnalyser(settings);
  analyser.pushTrace(trace);
  analyser.finish();
  return analyser.results();
}
