// Synthetic force traces with known answers, for property tests of the pressure engine.
//
// A trace is planned as rests and presses; a press is band parts with other parts between
// them: `firm` (above the band, below overClearN), `high` (at or above overClearN, below the
// limit), `over` (at or above the limit) and `dip` (below bandLowN, shorter than dropoutMs).
// Rests between presses last at least dropoutMs. So by construction each press is one hold
// candidate from its first sample to its last non-dip sample, and every run over the limit
// is one `over` part. The expected results are derived from that plan and from the sample
// arrays by index arithmetic on a regular clock, not by running a state machine like the
// engine's; lengths and forces are biased towards the exact thresholds.
import fc from 'fast-check';
import type { EngineConfig, EngineResults, HoldResult, WarningResult } from '../../../server/engine/results.ts';

export type PartKind = 'band' | 'firm' | 'high' | 'over' | 'dip';
export interface Part {
  readonly kind: PartKind;
  readonly ms: number;
}
export interface TracePlan {
  readonly leadRestMs: number;
  /** Each press: band, then (other part, band) pairs. */
  readonly presses: readonly (readonly Part[])[];
  /** Rest after each press but the last (at least dropoutMs). */
  readonly restsMs: readonly number[];
  readonly tailRestMs: number;
  readonly seed: number;
}

/** Every sample with what it was planned to be. `press` is -1 in a rest. */
export interface LabelledTrace {
  tMs: number[];
  forceN: number[];
  kind: (PartKind | 'rest')[];
  press: number[];
}

/** The limits the generator is built around (the shoulders preset). */
export const SYNTHETIC_CONFIG: EngineConfig = {
  bandLowN: 15,
  bandHighN: 30,
  overLimitN: 45,
  overClearN: 40,
  holdMinMs: 3000,
  dropoutMs: 300,
  overDebounceMs: 100,
  overClearMs: 500,
  targetHoldMs: 5000,
  maxHoldMs: 8000,
};

const tens = (min: number, max: number) => fc.integer({ min, max }).map((count) => count * 10);
const biased = (exact: readonly number[], min: number, max: number) => fc.oneof(fc.constantFrom(...exact), tens(min, max));

const middlePart: fc.Arbitrary<Part> = fc.oneof(
  fc.record({ kind: fc.constant('firm' as const), ms: tens(1, 100) }),
  fc.record({ kind: fc.constant('high' as const), ms: tens(1, 100) }),
  // 100 ms over the limit is 10 samples at 100 Hz: 90 ms from first to last, no warning; 110 ms fires.
  fc.record({ kind: fc.constant('over' as const), ms: biased([100, 110], 1, 60) }),
  fc.record({ kind: fc.constant('dip' as const), ms: biased([290], 1, 29) }),
);
const bandPart: fc.Arbitrary<Part> = fc.record({ kind: fc.constant('band' as const), ms: biased([10, 3000, 3010], 1, 300) });

const press: fc.Arbitrary<Part[]> = fc
  .tuple(bandPart, fc.array(fc.tuple(middlePart, bandPart), { maxLength: 6 }))
  .map(([first, rest]) => [first, ...rest.flat()]);

export const tracePlanArbitrary: fc.Arbitrary<TracePlan> = fc.integer({ min: 1, max: 5 }).chain((pressCount) =>
  fc.record({
    leadRestMs: tens(0, 100),
    presses: fc.array(press, { minLength: pressCount, maxLength: pressCount }),
    restsMs: fc.array(biased([300], 30, 150), { minLength: pressCount - 1, maxLength: pressCount - 1 }),
    tailRestMs: biased([0, 290, 300, 500], 0, 100),
    seed: fc.integer({ min: 0, max: 0x7fff_ffff }),
  }),
);

/** mulberry32: a small deterministic generator for the forces inside each part. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A force for a sample of this kind; exact thresholds come up often. */
function forceFor(kind: PartKind | 'rest', next: () => number, config: EngineConfig): number {
  const pick = next();
  const within = (low: number, high: number): number => low + next() * (high - low);
  switch (kind) {
    case 'rest':
    case 'dip':
      return pick < 0.1 ? config.bandLowN - 1e-9 : within(-0.5, config.bandLowN - 0.001);
    case 'band':
      return pick < 0.1 ? config.bandLowN : pick < 0.2 ? config.bandHighN : within(config.bandLowN, config.bandHighN);
    case 'firm':
      return within(config.bandHighN + 0.001, config.overClearN - 0.001);
    case 'high':
      return pick < 0.2 ? config.overClearN : within(config.overClearN, config.overLimitN - 0.001);
    case 'over':
      return pick < 0.2 ? config.overLimitN : within(config.overLimitN, config.overLimitN + 15);
  }
}

/** Samples every `periodMs` from `startMs`, each labelled with its part and press. */
export function renderPlan(plan: TracePlan, periodMs = 10, startMs = 0, config = SYNTHETIC_CONFIG): LabelledTrace {
  const next = random(plan.seed);
  const trace: LabelledTrace = { tMs: [], forceN: [], kind: [], press: [] };
  const add = (kind: PartKind | 'rest', ms: number, press: number): void => {
    for (let index = 0; index < Math.round(ms / periodMs); index++) {
      trace.tMs.push(startMs + trace.tMs.length * periodMs);
      trace.forceN.push(forceFor(kind, next, config));
      trace.kind.push(kind);
      trace.press.push(press);
    }
  };
  add('rest', plan.leadRestMs, -1);
  plan.presses.forEach((parts, pressIndex) => {
    for (const part of parts) add(part.kind, part.ms, pressIndex);
    add('rest', pressIndex < plan.restsMs.length ? (plan.restsMs[pressIndex] ?? 0) : plan.tailRestMs, -1);
  });
  return trace;
}

/** The first n samples (a trace cut short: data ends mid-press, mid-dip, mid-warning). */
export function truncate(trace: LabelledTrace, length: number): LabelledTrace {
  return { tMs: trace.tMs.slice(0, length), forceN: trace.forceN.slice(0, length), kind: trace.kind.slice(0, length), press: trace.press.slice(0, length) };
}

export interface ExpectedEventTimes {
  'hold.started': number[];
  'hold.target': number[];
  'hold.long': number[];
  'hold.ended': number[];
  'over.started': number[];
  'over.ended': number[];
}

export interface Expected {
  results: EngineResults;
  eventTimes: ExpectedEventTimes;
}

/** What the engine must find in a rendered plan sampled every `periodMs`. */
export function expectedFor(trace: LabelledTrace, periodMs: number, config = SYNTHETIC_CONFIG): Expected {
  const { tMs, forceN, kind, press } = trace;
  const count = tMs.length;
  const at = (index: number): number => tMs[index] ?? Number.NaN;
  const force = (index: number): number => forceN[index] ?? Number.NaN;
  const eventTimes: ExpectedEventTimes = { 'hold.started': [], 'hold.target': [], 'hold.long': [], 'hold.ended': [], 'over.started': [], 'over.ended': [] };

  const holds: HoldResult[] = [];
  const dropoutSamples = Math.ceil(config.dropoutMs / periodMs);
  for (let first = 0; first < count; first++) {
    if (press[first] === -1 || (first > 0 && press[first - 1] === press[first])) continue;
    let last = first;
    for (let index = first; index < count && press[index] === press[first]; index++) if (kind[index] !== 'dip') last = index;
    if (at(last) - at(first) < config.holdMinMs) continue;
    let sumN = 0;
    let peakN = Number.NEGATIVE_INFINITY;
    let timeInBandMs = 0;
    let timeOverMs = 0;
    for (let index = first; index <= last; index++) {
      sumN += force(index);
      peakN = Math.max(peakN, force(index));
      if (index < last && kind[index] === 'band') timeInBandMs += periodMs;
      if (index < last && kind[index] === 'over') timeOverMs += periodMs;
    }
    holds.push({ startMs: at(first), endMs: at(last), durationMs: at(last) - at(first), meanN: sumN / (last - first + 1), peakN, timeInBandMs, timeOverMs });
    const firstPressedAfter = (ms: number, strictly: boolean): number | undefined => {
      for (let index = first; index <= last; index++) {
        const elapsedMs = at(index) - at(first);
        if (kind[index] !== 'dip' && (strictly ? elapsedMs > ms : elapsedMs >= ms)) return at(index);
      }
      return undefined;
    };
    for (const [type, ms, strictly] of [
      ['hold.started', config.holdMinMs, false],
      ['hold.target', config.targetHoldMs, false],
      ['hold.long', config.maxHoldMs, true],
    ] as const) {
      const time = firstPressedAfter(ms, strictly);
      if (time !== undefined) eventTimes[type].push(time);
    }
    // The dip starts after `last`; each of its samples is counted when the next one arrives.
    const decidedAt = last + 1 + dropoutSamples;
    eventTimes['hold.ended'].push(decidedAt < count ? at(decidedAt) : at(count - 1));
  }

  const warnings: WarningResult[] = [];
  const clearSamples = Math.ceil(config.overClearMs / periodMs);
  let index = 0;
  while (index < count) {
    if (force(index) < config.overLimitN) {
      index++;
      continue;
    }
    let runEnd = index;
    while (runEnd < count && force(runEnd) >= config.overLimitN) runEnd++;
    let alert = index;
    while (alert < runEnd && at(alert) - at(index) < config.overDebounceMs) alert++;
    if (alert === runEnd) {
      index = runEnd;
      continue;
    }
    eventTimes['over.started'].push(at(alert));
    // The clear: the first run of clearSamples samples below overClearN with a sample after it.
    let end = -1;
    let search = alert + 1;
    while (search < count) {
      if (force(search) >= config.overClearN) {
        search++;
        continue;
      }
      let runIndex = search;
      while (runIndex < count && force(runIndex) < config.overClearN && runIndex - search < clearSamples) runIndex++;
      if (runIndex - search === clearSamples && runIndex < count) {
        end = search;
        break;
      }
      search = runIndex;
    }
    const peakEnd = end === -1 ? count - 1 : end;
    const peakN = Math.max(...forceN.slice(index, peakEnd + 1));
    warnings.push({ startMs: at(index), alertMs: at(alert), endMs: end === -1 ? null : at(end), peakN });
    if (end === -1) break;
    eventTimes['over.ended'].push(at(end + clearSamples));
    index = end + clearSamples;
  }
  return { results: { holds, warnings }, eventTimes };
}
