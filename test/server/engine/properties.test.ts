// Properties of the pressure engine over generated traces (fast-check): it finds exactly
// the holds and warnings a planned trace was built to have, at 100 Hz and at 1 kHz and
// when the data stops anywhere; any chunking and any time shift give the same story; and
// on irregular traces with lost samples and random valid configs its results and events
// keep their invariants.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zoneOf } from '../../../server/engine/engine.ts';
import type { EngineConfig, EngineEvent, EngineResults } from '../../../server/engine/results.ts';
import { expectedFor, renderPlan, SYNTHETIC_CONFIG, tracePlanArbitrary, truncate, type ExpectedEventTimes } from './synthetic.ts';
import { eventsOfType, runEngine, type Run, type Trace } from './trace-builder.ts';

/** Results with forces rounded to 1e-6 N (the engine sums in another order than the oracle). */
function comparable(results: EngineResults): EngineResults {
  const round = (forceN: number): number => Math.round(forceN * 1e6) / 1e6;
  return {
    holds: results.holds.map((hold) => ({ ...hold, meanN: round(hold.meanN), peakN: round(hold.peakN) })),
    warnings: results.warnings.map((warning) => ({ ...warning, peakN: round(warning.peakN) })),
  };
}

function eventTimes(events: readonly EngineEvent[]): ExpectedEventTimes {
  const times = (type: keyof ExpectedEventTimes): number[] => events.filter((event) => event.type === type).map((event) => event.tMs);
  return {
    'hold.started': times('hold.started'),
    'hold.target': times('hold.target'),
    'hold.long': times('hold.long'),
    'hold.ended': times('hold.ended'),
    'over.started': times('over.started'),
    'over.ended': times('over.ended'),
  };
}

function checkAgainstPlan(trace: Trace & Parameters<typeof expectedFor>[0], periodMs: number): void {
  const expected = expectedFor(trace, periodMs);
  const run = runEngine(SYNTHETIC_CONFIG, trace);
  expect(comparable(run.results)).toEqual(comparable(expected.results));
  expect(eventTimes(run.events)).toEqual(expected.eventTimes);
}

/** Deterministic noise for the irregular traces. */
function noise(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296 - 0.5;
  };
}

/**
 * Irregular traces: segments at a level (often exactly a threshold) with noise, uneven
 * (sometimes zero) intervals, and lost samples between segments. Integer times.
 */
const irregularTrace: fc.Arbitrary<Trace> = fc
  .record({
    startMs: fc.integer({ min: -1_000_000, max: 1_000_000 }),
    seed: fc.integer({ min: 1, max: 0x7fff_ffff }),
    segments: fc.array(
      fc.record({
        levelN: fc.oneof(fc.constantFrom(0, 14.999, 15, 30, 40, 45, 60), fc.double({ min: -1, max: 70, noNaN: true })),
        noiseN: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 6, noNaN: true })),
        samples: fc.integer({ min: 1, max: 200 }),
        stepMs: fc.oneof(fc.constant(10), fc.integer({ min: 0, max: 40 })),
        lostMs: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 3000 })),
      }),
      { maxLength: 40 },
    ),
  })
  .map(({ startMs, seed, segments }) => {
    const next = noise(seed);
    const trace: Trace = { tMs: [], forceN: [] };
    let tMs = startMs;
    for (const segment of segments) {
      tMs += segment.lostMs;
      for (let index = 0; index < segment.samples; index++) {
        trace.tMs.push(tMs);
        trace.forceN.push(segment.levelN + segment.noiseN * next());
        tMs += segment.stepMs;
      }
    }
    return trace;
  });

/** Any config the validator accepts, in whole newtons and milliseconds. */
const validConfig: fc.Arbitrary<EngineConfig> = fc
  .record({
    bandLowN: fc.integer({ min: 1, max: 30 }),
    bandWidthN: fc.integer({ min: 1, max: 30 }),
    limitAboveN: fc.integer({ min: 1, max: 30 }),
    clearBelowN: fc.integer({ min: 1, max: 20 }),
    holdMinMs: fc.integer({ min: 100, max: 5000 }),
    dropoutMs: fc.integer({ min: 10, max: 1000 }),
    overDebounceMs: fc.integer({ min: 1, max: 500 }),
    overClearMs: fc.integer({ min: 10, max: 2000 }),
    targetAfterMinMs: fc.integer({ min: 0, max: 5000 }),
    maxAfterTargetMs: fc.integer({ min: 1, max: 5000 }),
  })
  .map((drawn) => {
    const bandHighN = drawn.bandLowN + drawn.bandWidthN;
    const overLimitN = bandHighN + drawn.limitAboveN;
    const targetHoldMs = drawn.holdMinMs + drawn.targetAfterMinMs;
    return {
      bandLowN: drawn.bandLowN,
      bandHighN,
      overLimitN,
      overClearN: Math.max(0.5, overLimitN - drawn.clearBelowN),
      holdMinMs: drawn.holdMinMs,
      dropoutMs: drawn.dropoutMs,
      overDebounceMs: drawn.overDebounceMs,
      overClearMs: drawn.overClearMs,
      targetHoldMs,
      maxHoldMs: targetHoldMs + drawn.maxAfterTargetMs,
    };
  });

const chunkSizes = fc.oneof(fc.constant('single' as const), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }));

/** Everything that must hold whatever the trace and the config. */
function checkInvariants(config: EngineConfig, run: Run): void {
  const { holds, warnings } = run.results;
  const { events } = run;
  holds.forEach((hold, index) => {
    expect(hold.durationMs).toBe(hold.endMs - hold.startMs);
    expect(hold.durationMs).toBeGreaterThanOrEqual(config.holdMinMs);
    expect(hold.peakN).toBeGreaterThanOrEqual(hold.meanN - 1e-9);
    expect(hold.peakN).toBeGreaterThanOrEqual(config.bandLowN);
    expect(hold.timeInBandMs).toBeGreaterThanOrEqual(0);
    expect(hold.timeOverMs).toBeGreaterThanOrEqual(0);
    expect(hold.timeInBandMs + hold.timeOverMs).toBeLessThanOrEqual(hold.durationMs + 1e-6);
    const previous = holds[index - 1];
    if (previous !== undefined) expect(hold.startMs).toBeGreaterThan(previous.endMs);
  });
  warnings.forEach((warning, index) => {
    expect(warning.alertMs - warning.startMs).toBeGreaterThanOrEqual(config.overDebounceMs);
    expect(warning.peakN).toBeGreaterThanOrEqual(config.overLimitN);
    if (warning.endMs === null) expect(index).toBe(warnings.length - 1);
    else expect(warning.endMs).toBeGreaterThan(warning.alertMs);
    const previous = warnings[index - 1];
    if (previous?.endMs != null) expect(warning.startMs).toBeGreaterThan(previous.endMs);
  });

  for (let index = 1; index < events.length; index++) expect(events[index]?.tMs).toBeGreaterThanOrEqual(events[index - 1]?.tMs ?? Number.NaN);
  let zone: string | null = null;
  for (const event of eventsOfType(events, 'zone.changed')) {
    expect(event.previous).toBe(zone);
    expect(event.zone).toBe(zoneOf(event.forceN, config));
    zone = event.zone;
  }
  // The events tell the same story as the results.
  expect(eventsOfType(events, 'hold.started')).toHaveLength(holds.length);
  expect(eventsOfType(events, 'hold.ended').map((event) => event.hold)).toEqual(holds);
  expect(eventsOfType(events, 'hold.target')).toHaveLength(holds.filter((hold) => hold.durationMs >= config.targetHoldMs).length);
  expect(eventsOfType(events, 'hold.long')).toHaveLength(holds.filter((hold) => hold.durationMs > config.maxHoldMs).length);
  for (const event of eventsOfType(events, 'hold.ended')) expect(event.tMs).toBeGreaterThanOrEqual(event.hold.endMs);
  expect(eventsOfType(events, 'over.started').map((event) => [event.tMs, event.warning.startMs, event.warning.endMs])).toEqual(
    warnings.map((warning) => [warning.alertMs, warning.startMs, null]),
  );
  const ended = eventsOfType(events, 'over.ended');
  expect(ended.map((event) => event.warning)).toEqual(warnings.filter((warning) => warning.endMs !== null));
  for (const event of ended) expect(event.tMs - (event.warning.endMs ?? Number.NaN)).toBeGreaterThanOrEqual(config.overClearMs);
  expect(run.engine.state().hold).toBeNull();
  expect(run.engine.state().warning).toEqual(warnings.find((warning) => warning.endMs === null) ?? null);
}

describe('the engine on planned traces (known answers)', () => {
  it('finds exactly the planned holds, warnings and event times at 100 Hz', () => {
    fc.assert(
      fc.property(tracePlanArbitrary, (plan) => checkAgainstPlan(renderPlan(plan, 10), 10)),
      { numRuns: 300 },
    );
  });

  it('and at 1 kHz', () => {
    fc.assert(
      fc.property(tracePlanArbitrary, (plan) => checkAgainstPlan(renderPlan(plan, 1), 1)),
      { numRuns: 30 },
    );
  });

  it('when the data stops anywhere: a hold running at the end ends at its last pressed sample, a warning stays open', () => {
    fc.assert(
      fc.property(tracePlanArbitrary, fc.double({ min: 0, max: 1, noNaN: true }), (plan, where) => {
        const whole = renderPlan(plan, 10);
        checkAgainstPlan(truncate(whole, Math.max(1, Math.round(where * whole.tMs.length))), 10);
      }),
      { numRuns: 300 },
    );
  });
});

describe('invariance', () => {
  it('any chunking gives the same events and results', () => {
    fc.assert(
      fc.property(fc.oneof(irregularTrace, tracePlanArbitrary.map((plan) => renderPlan(plan, 10))), chunkSizes, (trace, chunks) => {
        const whole = runEngine(SYNTHETIC_CONFIG, trace);
        const chunked = runEngine(SYNTHETIC_CONFIG, trace, chunks);
        expect(chunked.events).toEqual(whole.events);
        expect(chunked.results).toEqual(whole.results);
        expect(chunked.engine.state()).toEqual(whole.engine.state());
      }),
      { numRuns: 200 },
    );
  });

  it('shifting every time by the same amount shifts the results and events, nothing else', () => {
    fc.assert(
      fc.property(irregularTrace, fc.integer({ min: -10_000_000, max: 10_000_000 }), (trace, shiftMs) => {
        const original = runEngine(SYNTHETIC_CONFIG, trace);
        const shifted = runEngine(SYNTHETIC_CONFIG, { tMs: trace.tMs.map((tMs) => tMs + shiftMs), forceN: trace.forceN });
        const shift = (ms: number | null): number | null => (ms === null ? null : ms + shiftMs);
        expect(shifted.results).toEqual({
          holds: original.results.holds.map((hold) => ({ ...hold, startMs: hold.startMs + shiftMs, endMs: hold.endMs + shiftMs })),
          warnings: original.results.warnings.map((warning) => ({ ...warning, startMs: warning.startMs + shiftMs, alertMs: warning.alertMs + shiftMs, endMs: shift(warning.endMs) })),
        });
        expect(shifted.events.map((event) => [event.type, event.tMs])).toEqual(original.events.map((event) => [event.type, event.tMs + shiftMs]));
      }),
      { numRuns: 200 },
    );
  });
});

describe('invariants on irregular traces with lost samples, under any valid config', () => {
  it('holds, warnings and events stay consistent', () => {
    fc.assert(
      fc.property(validConfig, irregularTrace, (config, trace) => checkInvariants(config, runEngine(config, trace))),
      { numRuns: 400 },
    );
  });

  it('puts a force exactly at a threshold in the zone the semantics give it', () => {
    fc.assert(
      fc.property(validConfig, (config) => {
        expect(zoneOf(config.bandLowN, config)).toBe('band');
        expect(zoneOf(config.bandHighN, config)).toBe('band');
        expect(zoneOf(config.overLimitN, config)).toBe('over');
        expect(zoneOf(config.bandLowN - 1e-9, config)).toBe('below');
        expect(zoneOf(config.bandHighN + 1e-9, config)).toBe('above');
        expect(zoneOf(config.overLimitN - 1e-9, config)).toBe('above');
      }),
    );
  });
});
