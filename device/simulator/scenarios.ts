/**
 * What the simulated hand does: each scenario plans one episode at a time as a list of
 * segments (a force level reached over a transition, then held). The force model turns
 * segments into samples and adds tremor, drift and sensor noise on top.
 */
import type { SeededRandom } from './random.ts';

export const SCENARIOS = ['treatment', 'over-pressure', 'kneading', 'idle', 'weights', 'ppt'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Segment {
  /** The force the hand aims for in this segment, newtons. */
  readonly levelN: number;
  readonly durationMs: number;
  /** Time to move from the previous level to this one (within `durationMs`). */
  readonly transitionMs: number;
  /** A deliberate hold: slow drift applies while the hand keeps pressing. */
  readonly holding: boolean;
  /** False: a weight resting on the tip with no hand on it (no tremor, no drift; sensor noise only). */
  readonly handheld?: boolean;
  /** True: the transition is a straight ramp (a steady rate, as in an algometer trial), not eased. */
  readonly linear?: boolean;
  /** The person presses the thumb button this many ms into the segment (the `ppt` scenario: pain). */
  readonly markAtMs?: number;
}

/** The force zones the simulated hand aims at (the shoulders preset by default). */
export interface SimulatedBand {
  readonly bandLowN: number;
  readonly bandHighN: number;
  readonly overLimitN: number;
}

export const SHOULDERS_BAND: SimulatedBand = { bandLowN: 15, bandHighN: 30, overLimitN: 45 };

/**
 * The `weights` scenario: a calibration bench. The tip rests unloaded, then each load in
 * turn is put on it by hand (a moment of tremor) and left resting still, then the next
 * replaces it; after the last the tip is unloaded again and the round repeats.
 */
export interface CalibrationBench {
  /** The loads, newtons, in the order they are put on. */
  readonly loadsN: readonly number[];
  /** How long the tip rests unloaded and under each load, ms. */
  readonly holdMs: number;
}

/** 0.5, 1, 2 and 5 kg, each resting 6 s. */
export const DEFAULT_BENCH: CalibrationBench = { loadsN: [0.5, 1, 2, 5].map((kg) => kg * 9.806_65), holdMs: 6000 };
/** Putting a weight on the tip (or swapping it) by hand. */
const PLACING_MS = 800;

/**
 * The `ppt` scenario: an algometer measurement of one knot (pressure-pain threshold).
 * Three trials, each a steady ramp from nothing at about 50 kPa/s on the default 1.5 cm²
 * contact area (7.5 N/s) until the person presses the thumb button at their pain threshold,
 * a moment's reaction, and the release; the knot's threshold (200-320 kPa, 30-48 N) varies
 * a little from trial to trial, the hand's rate a little more.
 */
export const PPT_SIMULATION = { rateKPaPerS: 50, areaCm2: 1.5, pptKPa: [200, 320], trials: 3 } as const;
/** 1 kPa on 1 cm² is 0.1 N. */
const NEWTONS_PER_KPA_CM2 = 0.1;

function pptTrials(random: SeededRandom): Segment[] {
  const { rateKPaPerS, areaCm2, pptKPa, trials } = PPT_SIMULATION;
  const knotPptN = random.between(pptKPa[0], pptKPa[1]) * areaCm2 * NEWTONS_PER_KPA_CM2;
  const segments: Segment[] = [rest(random, 3000, 5000)];
  for (let trial = 0; trial < trials; trial++) {
    const pptN = knotPptN * random.between(0.93, 1.07);
    const rampMs = (pptN / (rateKPaPerS * areaCm2 * NEWTONS_PER_KPA_CM2 * random.between(0.9, 1.1))) * 1000;
    const reactionMs = random.between(150, 300);
    segments.push({ levelN: pptN, durationMs: rampMs + reactionMs, transitionMs: rampMs, holding: false, linear: true, markAtMs: rampMs });
    segments.push({ levelN: 0, durationMs: random.between(8000, 12_000), transitionMs: random.between(300, 600), holding: false });
  }
  return [...segments, rest(random, 15_000, 25_000)];
}

type Planner = (random: SeededRandom, band: SimulatedBand, bench: CalibrationBench) => Segment[];

function rest(random: SeededRandom, minMs: number, maxMs: number): Segment {
  return { levelN: 0, durationMs: random.between(minMs, maxMs), transitionMs: random.between(400, 900), holding: false };
}

/** A few short, light presses while the hand looks for the tender spot. */
function searchingPresses(random: SeededRandom, band: SimulatedBand): Segment[] {
  const presses: Segment[] = [];
  const count = random.integer(2, 4);
  for (let press = 0; press < count; press++) {
    const durationMs = random.between(600, 2000);
    presses.push({ levelN: random.between(0.3, 1.1) * band.bandLowN, durationMs, transitionMs: durationMs * 0.35, holding: false });
    presses.push({ levelN: random.between(0, 1), durationMs: random.between(400, 1500), transitionMs: 300, holding: false });
  }
  return presses;
}

/** A sustained hold inside the band, sometimes with a push past the over-pressure limit. */
function hold(random: SeededRandom, band: SimulatedBand, holdMs: number, pushTooHard: boolean): Segment[] {
  const width = band.bandHighN - band.bandLowN;
  const levelN = random.between(band.bandLowN + 0.3 * width, band.bandHighN - 0.25 * width);
  const rampMs = random.between(1000, 2200);
  if (!pushTooHard) return [{ levelN, durationMs: holdMs, transitionMs: rampMs, holding: true }];
  const beforeMs = random.between(0.3, 0.6) * holdMs;
  const pushMs = random.between(600, 2500);
  return [
    { levelN, durationMs: beforeMs, transitionMs: rampMs, holding: true },
    { levelN: band.overLimitN + random.between(2, 10), durationMs: pushMs, transitionMs: Math.min(350, pushMs / 2), holding: true },
    { levelN, durationMs: Math.max(holdMs - beforeMs - pushMs, 3000), transitionMs: 600, holding: true },
  ];
}

const planners: Record<ScenarioName, Planner> = {
  treatment: (random, band) => [
    rest(random, 3000, 10_000),
    ...searchingPresses(random, band),
    ...hold(random, band, random.between(20_000, 90_000), random.chance(0.2)),
    rest(random, 5000, 20_000),
  ],
  'over-pressure': (random, band) => [
    rest(random, 2000, 4000),
    ...hold(random, band, random.between(5000, 10_000), false),
    { levelN: band.overLimitN + random.between(5, 15), durationMs: random.between(2000, 5000), transitionMs: 500, holding: true },
    ...hold(random, band, random.between(5000, 10_000), false),
    rest(random, 3000, 6000),
  ],
  kneading: (random, band) => {
    const strokes: Segment[] = [];
    const periodMs = random.between(1200, 2000);
    const strokeCount = Math.round(random.between(20_000, 40_000) / periodMs);
    for (let stroke = 0; stroke < strokeCount; stroke++) {
      const halfMs = periodMs / 2;
      strokes.push({ levelN: random.between(0.6, 1.1) * band.bandHighN, durationMs: halfMs, transitionMs: halfMs, holding: false });
      strokes.push({ levelN: random.between(0.15, 0.35) * band.bandLowN, durationMs: halfMs, transitionMs: halfMs, holding: false });
    }
    return [...strokes, rest(random, 3000, 6000)];
  },
  idle: () => [{ levelN: 0, durationMs: 60_000, transitionMs: 0, holding: false }],
  ppt: (random) => pptTrials(random),
  weights: (_random, _band, bench) => [
    { levelN: 0, durationMs: bench.holdMs, transitionMs: 0, holding: false, handheld: false },
    ...bench.loadsN.flatMap((levelN): Segment[] => [
      { levelN, durationMs: PLACING_MS, transitionMs: PLACING_MS / 2, holding: false },
      { levelN, durationMs: bench.holdMs, transitionMs: 0, holding: false, handheld: false },
    ]),
    { levelN: 0, durationMs: PLACING_MS, transitionMs: PLACING_MS / 2, holding: false },
  ],
};

export function planEpisode(scenario: ScenarioName, random: SeededRandom, band: SimulatedBand, bench: CalibrationBench = DEFAULT_BENCH): Segment[] {
  return planners[scenario](random, band, bench);
}
