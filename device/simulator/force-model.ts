/**
 * The simulated massager's force, one sample at a time: the planned segments eased from
 * level to level, plus what a real hand and sensor add (physiological tremor at 4-12 Hz,
 * slow drift during a hold, sensor noise). Pure and deterministic: the same seed,
 * scenario and rate give the same samples.
 */
import { SeededRandom } from './random.ts';
import { planEpisode, type CalibrationBench, type ScenarioName, type Segment, type SimulatedBand } from './scenarios.ts';

/** Drift during a hold: an Ornstein-Uhlenbeck process, sd ~1.5 N, correlation time 8 s. */
const DRIFT_TIME_CONSTANT_S = 8;
const DRIFT_SD_N = 1.5;
const SENSOR_NOISE_SD_N = 0.04;
/** Force below which the hand is not really pressing (tremor and drift fade out). */
const CONTACT_N = 5;

export interface ForceModelOptions {
  readonly scenario: ScenarioName;
  readonly seed: number;
  readonly rateHz: number;
  readonly band: SimulatedBand;
  /** The `weights` scenario's loads and rest time (DEFAULT_BENCH if absent). */
  readonly bench?: CalibrationBench;
}

export class ForceModel {
  readonly #options: ForceModelOptions;
  readonly #random: SeededRandom;
  readonly #sampleMs: number;
  #segments: Segment[] = [];
  #segmentIndex = 0;
  #segmentElapsedMs = 0;
  #fromLevelN = 0;
  #driftN = 0;
  #tremorPhases = [0, 0];
  #tremorHz = [8, 5];
  /** Thumb-button presses due (a segment's `markAtMs` fell within a sample) and not taken yet. */
  #marksDue = 0;

  constructor(options: ForceModelOptions) {
    this.#options = options;
    this.#random = new SeededRandom(options.seed);
    this.#sampleMs = 1000 / options.rateHz;
    this.#planNextEpisode();
  }

  /** The force of the next sample, newtons (never negative). */
  next(): number {
    const segment = this.#currentSegment();
    const markAtMs = segment.markAtMs;
    if (markAtMs !== undefined && markAtMs >= this.#segmentElapsedMs && markAtMs < this.#segmentElapsedMs + this.#sampleMs) this.#marksDue++;
    const baseN = this.#baseForce(segment);
    // A weight resting on the tip has no hand on it: nothing but sensor noise.
    const contact = segment.handheld === false ? 0 : Math.min(baseN / CONTACT_N, 1);
    this.#advanceDrift(segment.holding);
    const forceN = baseN + contact * (this.#driftN + this.#tremor(baseN)) + SENSOR_NOISE_SD_N * this.#random.gaussian();
    this.#segmentElapsedMs += this.#sampleMs;
    return Math.max(forceN, 0);
  }

  /** Whether the person pressed the thumb button at the sample `next()` just gave (each press is taken once). */
  takeMark(): boolean {
    if (this.#marksDue === 0) return false;
    this.#marksDue--;
    return true;
  }

  #currentSegment(): Segment {
    let segment = this.#segments[this.#segmentIndex];
    while (segment === undefined || this.#segmentElapsedMs >= segment.durationMs) {
      if (segment !== undefined) {
        this.#fromLevelN = segment.levelN;
        this.#segmentElapsedMs -= segment.durationMs;
      }
      this.#segmentIndex++;
      if (this.#segmentIndex >= this.#segments.length) this.#planNextEpisode();
      segment = this.#segments[this.#segmentIndex];
    }
    return segment;
  }

  #planNextEpisode(): void {
    this.#segments = planEpisode(this.#options.scenario, this.#random, this.#options.band, this.#options.bench);
    this.#segmentIndex = 0;
    this.#tremorHz = [this.#random.between(6, 10), this.#random.between(4, 7)];
  }

  /** The hand's intended force: eased (cosine) from the previous level to this one. */
  #baseForce(segment: Segment): number {
    if (segment.transitionMs <= 0 || this.#segmentElapsedMs >= segment.transitionMs) return segment.levelN;
    const progress = this.#segmentElapsedMs / segment.transitionMs;
    const eased = segment.linear === true ? progress : 0.5 - 0.5 * Math.cos(Math.PI * progress);
    return this.#fromLevelN + (segment.levelN - this.#fromLevelN) * eased;
  }

  #advanceDrift(holding: boolean): void {
    const dtS = this.#sampleMs / 1000;
    if (!holding) {
      this.#driftN *= Math.exp(-dtS / 0.5);
      return;
    }
    const sigma = DRIFT_SD_N * Math.sqrt(2 / DRIFT_TIME_CONSTANT_S);
    this.#driftN += (-this.#driftN / DRIFT_TIME_CONSTANT_S) * dtS + sigma * Math.sqrt(dtS) * this.#random.gaussian();
  }

  /** Physiological tremor, larger under more force. */
  #tremor(baseN: number): number {
    const amplitudeN = 0.2 + 0.02 * baseN;
    const dtS = this.#sampleMs / 1000;
    let tremorN = 0;
    for (const [index, hz] of this.#tremorHz.entries()) {
      const phase = (this.#tremorPhases[index] ?? 0) + 2 * Math.PI * hz * dtS;
      this.#tremorPhases[index] = phase % (2 * Math.PI);
      tremorN += (amplitudeN / (index + 1)) * Math.sin(phase);
    }
    return tremorN;
  }
}
