/**
 * One algometer measurement on the dashboard: the live PPT analyser (server/engine/ppt.ts,
 * the very one the server runs again on what is posted) fed with a device's readings and
 * its marks, the trials it found with the samples each was found in, and what the guide
 * shows (where the force should be at the target rate, the rate now, a pace cue).
 *
 *   const run = new AlgometerRun({ startLevelN: 1, rateKPaPerS: 50, areaCm2: 1.5 });
 *   run.addSamples(tMs, forceN);      // the device's new readings, in time order
 *   run.mark(tMs, 'device');          // a mark event (thumb button, space bar)
 *   run.trials; run.summary; run.input(...)   // what to POST /api/ppt
 *
 * It keeps, while no trial runs, the samples since the force was last below half the
 * start level: a posted trial then starts where the server's analyser arms, so the server
 * finds the same trial in it. Trials are taken until three are valid (or the most a
 * measurement holds); an invalid one is explained and another press replaces it.
 */
import { paceOf, thinned, type Pace } from './algometer-pace.ts';
import { MAX_PPT_TRIALS, PPT_TRIALS_PER_SITE, PPT_RATE_TOLERANCE, type PptMeasurementInput, type PptPhase, type PptSettings, type PptSummary, type PptTrial, type PptTrialSamples } from '../../../server/contract/ppt.ts';
import type { MarkEvent } from '../../../server/contract/live-events.ts';
import { PptAnalyser, summarizePpt } from '../../../server/engine/ppt.ts';

/** While no trial runs, at most this many samples are kept waiting for one (beyond it, the wait starts over). */
const MAX_WAITING_SAMPLES = 4000;

export type MarkSource = MarkEvent['source'];

/** A trial as the page shows and posts it. */
export interface RunTrial {
  readonly result: PptTrial;
  readonly samples: PptTrialSamples;
  /** Who marked the onset (null: a release). */
  readonly markedBy: MarkSource | null;
}

/** What the guide shows of the trial running now. */
export interface RampView {
  readonly startMs: number;
  readonly elapsedMs: number;
  readonly guideN: number;
  readonly rateKPaPerS: number | null;
  readonly pace: Pace;
}

export { paceOf, thinned, type Pace };

export class AlgometerRun {
  readonly settings: PptSettings;
  trials = $state.raw<readonly RunTrial[]>([]);
  ramp = $state.raw<RampView | null>(null);
  /** The latest mark that found no trial running (the page says it was ignored). */
  ignoredMark = $state.raw<{ readonly tMs: number; readonly source: MarkSource } | null>(null);
  #analyser: PptAnalyser;
  #tMs: number[] = [];
  #forceN: number[] = [];
  #marks: { tMs: number; source: MarkSource }[] = [];
  #lastMs = Number.NEGATIVE_INFINITY;

  constructor(settings: PptSettings) {
    this.settings = Object.freeze({ ...settings });
    this.#analyser = new PptAnalyser(this.settings);
  }

  /** Device time of the last sample taken (-Infinity before any). */
  get lastMs(): number {
    return this.#lastMs;
  }

  get validCount(): number {
    return this.trials.filter((trial) => trial.result.valid).length;
  }

  /** Three valid trials (or as many trials as a measurement holds): no more are taken. */
  get complete(): boolean {
    return this.validCount >= PPT_TRIALS_PER_SITE || this.trials.length >= MAX_PPT_TRIALS;
  }

  get summary(): PptSummary {
    return summarizePpt(
      this.trials.map((trial) => trial.result),
      this.settings.areaCm2,
    );
  }

  /** The target rate in newtons per second through the device's tip. */
  get targetNPerS(): number {
    return this.#analyser.targetNPerS;
  }

  /**
   * Takes only readings after `tMs` (the device's latest when the measurement opens): the
   * last 30 s a dashboard gets on connecting are the past, with marks it never saw.
   */
  startAfter(tMs: number): void {
    if (tMs > this.#lastMs) this.#lastMs = tMs;
  }

  /** The device's new readings (device ms, newtons); ones not newer than the last are skipped. */
  addSamples(tMs: readonly number[], forceN: readonly number[]): void {
    for (let index = 0; index < tMs.length; index++) {
      const t = tMs[index] as number;
      const force = forceN[index] as number;
      if (!(t > this.#lastMs) || !Number.isFinite(force)) continue;
      this.#lastMs = t;
      this.#add(t, force);
    }
    this.#updateRamp();
  }

  /** A mark (thumb button or a dashboard's request): ends the trial running at its time. */
  mark(tMs: number, source: MarkSource): void {
    if (this.complete) return;
    const state = this.#analyser.state();
    if (tMs <= this.#lastMs && (state.trial === null || tMs < state.trial.startMs)) {
      this.ignoredMark = { tMs, source };
      return;
    }
    this.#marks.push({ tMs, source });
    this.#handle(this.#analyser.mark(tMs));
    this.#updateRamp();
  }

  /** Drops a trial (an invalid one, or one the person doubts): another press takes its place. */
  discard(index: number): void {
    this.trials = this.trials.filter((_, at) => at !== index);
  }

  /** The body of `POST /api/ppt` for the trials kept. */
  input(label: { deviceId: string; bodyArea: string; knot: string; phase: PptPhase; sessionId: number | null }): PptMeasurementInput {
    return {
      ...label,
      rateKPaPerS: this.settings.rateKPaPerS,
      areaCm2: this.settings.areaCm2,
      startLevelN: this.settings.startLevelN,
      trials: this.trials.map((trial) => thinned(trial.samples)),
    };
  }

  #add(tMs: number, forceN: number): void {
    const running = this.#analyser.state().phase === 'ramp';
    if (!running && forceN < this.settings.startLevelN / 2) {
      // The server's analyser arms on a sample like this one: a posted trial starts here.
      this.#tMs = [tMs];
      this.#forceN = [forceN];
    } else if (!running && this.#tMs.length >= MAX_WAITING_SAMPLES) {
      this.#tMs = [];
      this.#forceN = [];
    } else if (running || this.#tMs.length > 0) {
      this.#tMs.push(tMs);
      this.#forceN.push(forceN);
    }
    this.#handle(this.#analyser.push(tMs, forceN));
  }

  #handle(events: ReturnType<PptAnalyser['push']>): void {
    for (const event of events) {
      if (event.type !== 'trial.ended') continue;
      const { trial } = event;
      let markedBy: MarkSource | null = null;
      let markMs: number | null = null;
      if (trial.onset === 'mark') {
        const ending = this.#marks.find((mark) => mark.tMs >= trial.startMs);
        markedBy = ending?.source ?? null;
        const endingMs = ending?.tMs ?? trial.onsetMs;
        markMs = endingMs;
        this.#marks = this.#marks.filter((mark) => mark.tMs > endingMs);
      }
      const samples: PptTrialSamples = { tMs: this.#tMs, forceN: this.#forceN, markMs };
      this.#tMs = [];
      this.#forceN = [];
      if (!this.complete) this.trials = [...this.trials, { result: trial, samples, markedBy }];
    }
  }

  #updateRamp(): void {
    const { trial } = this.#analyser.state();
    if (trial === null || this.complete) {
      this.ramp = null;
      return;
    }
    this.ramp = {
      startMs: trial.startMs,
      elapsedMs: trial.elapsedMs,
      guideN: trial.guideN,
      rateKPaPerS: trial.rateKPaPerS,
      pace: paceOf(trial.rateKPaPerS, this.settings.rateKPaPerS, trial.elapsedMs),
    };
  }

  /** The running trial's samples so far (the chart draws them). */
  get rampSamples(): { readonly tMs: readonly number[]; readonly forceN: readonly number[] } {
    return { tMs: this.#tMs, forceN: this.#forceN };
  }
}

/** The rate tolerance, for the page's explanation. */
export const RATE_TOLERANCE_PERCENT = Math.round(PPT_RATE_TOLERANCE * 100);
