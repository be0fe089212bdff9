// The pressure engine, rule by rule, on hand-built traces (docs/engine.md).
// TEST_CONFIG: band 15-30 N, limit 45 N, clear below 40 N for 500 ms, holdMinMs 3000,
// dropoutMs 300, overDebounceMs 100, targetHoldMs 5000, maxHoldMs 8000; samples every 10 ms.
import { describe, expect, it } from 'vitest';
import { PressureEngine, zoneOf } from '../../../server/engine/engine.ts';
import { engineEventSchema, engineResultsSchema, engineStateSchema } from '../../../server/engine/results.ts';
import { buildTrace, eventsOfType, runEngine, TEST_CONFIG } from './trace-builder.ts';

const REST = { ms: 500, n: 0 };

describe('zones', () => {
  it('puts each threshold in the zone docs/engine.md gives it', () => {
    expect(zoneOf(14.999, TEST_CONFIG)).toBe('below');
    expect(zoneOf(15, TEST_CONFIG)).toBe('band');
    expect(zoneOf(30, TEST_CONFIG)).toBe('band');
    expect(zoneOf(30.001, TEST_CONFIG)).toBe('above');
    expect(zoneOf(44.999, TEST_CONFIG)).toBe('above');
    expect(zoneOf(45, TEST_CONFIG)).toBe('over');
    expect(zoneOf(-3, TEST_CONFIG)).toBe('below');
  });

  it('emits zone.changed only on a change, the first sample with previous null', () => {
    const { events } = runEngine(TEST_CONFIG, { tMs: [0, 10, 20, 30, 40, 50, 60], forceN: [0, 1, 15, 30, 31, 45, 2] });
    expect(eventsOfType(events, 'zone.changed')).toEqual([
      { type: 'zone.changed', tMs: 0, zone: 'below', previous: null, forceN: 0 },
      { type: 'zone.changed', tMs: 20, zone: 'band', previous: 'below', forceN: 15 },
      { type: 'zone.changed', tMs: 40, zone: 'above', previous: 'band', forceN: 31 },
      { type: 'zone.changed', tMs: 50, zone: 'over', previous: 'above', forceN: 45 },
      { type: 'zone.changed', tMs: 60, zone: 'below', previous: 'over', forceN: 2 },
    ]);
  });
});

describe('holds', () => {
  it('a plain hold: start, end, duration, mean, peak, time in band, and its events', () => {
    const { results, events } = runEngine(TEST_CONFIG, buildTrace([{ ms: 1000, n: 0 }, { ms: 5000, n: (i) => (i % 2 === 0 ? 18 : 22) }, { ms: 1000, n: 0 }]));
    expect(results.holds).toEqual([{ startMs: 1000, endMs: 5990, durationMs: 4990, meanN: 20, peakN: 22, timeInBandMs: 4990, timeOverMs: 0 }]);
    expect(events.filter((event) => event.type !== 'zone.changed')).toEqual([
      { type: 'hold.started', tMs: 4000, startMs: 1000 },
      // The dip that ends it starts at 6000 and reaches dropoutMs at 6300.
      { type: 'hold.ended', tMs: 6300, hold: results.holds[0] },
    ]);
  });

  it('bridges a dip shorter than dropoutMs, and counts its samples in the mean', () => {
    const trace = buildTrace([REST, { ms: 4000, n: 20 }, { ms: 290, n: 5 }, { ms: 4000, n: 25 }, REST]);
    const { results, events } = runEngine(TEST_CONFIG, trace);
    expect(results.holds).toHaveLength(1);
    const [hold] = results.holds;
    expect(hold).toMatchObject({ startMs: 500, endMs: 8780, durationMs: 8280, peakN: 25, timeInBandMs: 7990, timeOverMs: 0 });
    expect(hold?.meanN).toBeCloseTo((400 * 20 + 29 * 5 + 400 * 25) / 829, 9);
    expect(events.filter((event) => event.type !== 'zone.changed').map((event) => [event.type, event.tMs])).toEqual([
      ['hold.started', 3500],
      ['hold.target', 5500],
      ['hold.long', 8510], // passed maxHoldMs: more than 8000 ms after the start
      ['hold.ended', 9090],
    ]);
  });

  it('ends a hold at a dip of exactly dropoutMs; the sample coming back starts the next one', () => {
    const trace = buildTrace([REST, { ms: 4000, n: 20 }, { ms: 300, n: 5 }, { ms: 4000, n: 20 }, REST]);
    const { results, events } = runEngine(TEST_CONFIG, trace);
    expect(results.holds.map((hold) => [hold.startMs, hold.endMs, hold.durationMs, hold.meanN])).toEqual([
      [500, 4490, 3990, 20],
      [4800, 8790, 3990, 20],
    ]);
    const at4800 = events.filter((event) => event.tMs === 4800).map((event) => event.type);
    expect(at4800).toEqual(['zone.changed', 'hold.ended']);
    expect(eventsOfType(events, 'hold.started').map((event) => event.tMs)).toEqual([3500, 7800]);
  });

  it('ends a hold while still in a long dip, as soon as the dip reaches dropoutMs', () => {
    const { results, events } = runEngine(TEST_CONFIG, buildTrace([REST, { ms: 4000, n: 20 }, { ms: 2000, n: 14.999 }, { ms: 4000, n: 20 }]));
    expect(results.holds.map((hold) => [hold.startMs, hold.endMs])).toEqual([
      [500, 4490],
      [6500, 10_490],
    ]);
    expect(eventsOfType(events, 'hold.ended').map((event) => event.tMs)).toEqual([4800, 10_490]);
  });

  it('a gap in the data is not a dip: the hold goes on; lost time is in no zone', () => {
    const trace = buildTrace([REST, { ms: 2000, n: 20 }, { lostMs: 2000 }, { ms: 2000, n: 20 }, REST]);
    const { results, events } = runEngine(TEST_CONFIG, trace);
    expect(results.holds).toEqual([{ startMs: 500, endMs: 6490, durationMs: 5990, meanN: 20, peakN: 20, timeInBandMs: 3990, timeOverMs: 0 }]);
    // No sample at 3500 (lost): the first pressed sample at least holdMinMs in.
    expect(eventsOfType(events, 'hold.started').map((event) => event.tMs)).toEqual([4500]);
  });

  it('counts even one lost sample as lost time, but not clock jitter', () => {
    const oneLost = buildTrace([REST, { ms: 2000, n: 20 }, { lostMs: 10 }, { ms: 2000, n: 20 }, REST]);
    expect(runEngine(TEST_CONFIG, oneLost).results.holds.map((hold) => [hold.durationMs, hold.timeInBandMs])).toEqual([[4000, 3990]]);
    // Intervals of 8 and 12 ms (a 10 ms period with jitter): every one is owned in full.
    const tMs = Array.from({ length: 500 }, (_, index) => index * 10 + (index % 2 === 0 ? 0 : -2));
    const jittered = runEngine(TEST_CONFIG, { tMs, forceN: tMs.map(() => 20) });
    expect(jittered.results.holds.map((hold) => [hold.durationMs, hold.timeInBandMs])).toEqual([[4988, 4988]]);
  });

  it('lost samples inside a dip do not lengthen it: only below samples make a dip', () => {
    const bridged = buildTrace([REST, { ms: 3500, n: 20 }, { ms: 290, n: 5 }, { lostMs: 1000 }, { ms: 3500, n: 20 }, REST]);
    expect(runEngine(TEST_CONFIG, bridged).results.holds.map((hold) => [hold.startMs, hold.endMs])).toEqual([[500, 8780]]);
    const ended = buildTrace([REST, { ms: 3500, n: 20 }, { ms: 300, n: 5 }, { lostMs: 1000 }, { ms: 3500, n: 20 }, REST]);
    expect(runEngine(TEST_CONFIG, ended).results.holds.map((hold) => [hold.startMs, hold.endMs])).toEqual([
      [500, 3990],
      [5300, 8790],
    ]);
  });

  it('records a hold of exactly holdMinMs and not one 10 ms shorter; a short press emits no hold events', () => {
    const exactly = runEngine(TEST_CONFIG, buildTrace([REST, { ms: 3010, n: 20 }, REST]));
    expect(exactly.results.holds.map((hold) => hold.durationMs)).toEqual([3000]);
    expect(eventsOfType(exactly.events, 'hold.started')).toEqual([{ type: 'hold.started', tMs: 3500, startMs: 500 }]);
    const short = runEngine(TEST_CONFIG, buildTrace([REST, { ms: 3000, n: 20 }, REST]));
    expect(short.results.holds).toEqual([]);
    expect(short.events.filter((event) => event.type.startsWith('hold.'))).toEqual([]);
  });

  it('ends a hold running at the end of data at its last sample at or above bandLowN', () => {
    const inDip = runEngine(TEST_CONFIG, buildTrace([REST, { ms: 4000, n: 20 }, { ms: 200, n: 5 }]));
    expect(inDip.results.holds).toEqual([{ startMs: 500, endMs: 4490, durationMs: 3990, meanN: 20, peakN: 20, timeInBandMs: 3990, timeOverMs: 0 }]);
    expect(eventsOfType(inDip.events, 'hold.ended').map((event) => event.tMs)).toEqual([4690]);
    const pressed = runEngine(TEST_CONFIG, buildTrace([REST, { ms: 4000, n: 20 }]));
    expect(pressed.results.holds.map((hold) => [hold.endMs, hold.durationMs])).toEqual([[4490, 3990]]);
  });

  it('over-pressure does not end a hold; its time over is counted', () => {
    const trace = buildTrace([REST, { ms: 2000, n: 20 }, { ms: 100, n: 50 }, { ms: 2000, n: 35 }, REST]);
    const { results } = runEngine(TEST_CONFIG, trace);
    expect(results.holds).toEqual([{ startMs: 500, endMs: 4590, durationMs: 4090, meanN: (200 * 20 + 10 * 50 + 200 * 35) / 410, peakN: 50, timeInBandMs: 2000, timeOverMs: 100 }]);
  });
});

describe('over-pressure warnings', () => {
  it('ignores a run over the limit shorter than overDebounceMs (an impact)', () => {
    const { results, events } = runEngine(TEST_CONFIG, buildTrace([REST, { ms: 2000, n: 20 }, { ms: 100, n: 58 }, { ms: 2000, n: 20 }]));
    expect(results.warnings).toEqual([]);
    expect(events.filter((event) => event.type.startsWith('over.'))).toEqual([]);
  });

  it('fires at exactly overDebounceMs: start at the run, alert at the firing sample, end at the clearing run', () => {
    const { results, events } = runEngine(TEST_CONFIG, buildTrace([REST, { ms: 2000, n: 20 }, { ms: 110, n: (i) => 45 + i }, { ms: 2000, n: 20 }]));
    const warning = { startMs: 2500, alertMs: 2600, endMs: 2610, peakN: 55 };
    expect(results.warnings).toEqual([warning]);
    expect(events.filter((event) => event.type.startsWith('over.'))).toEqual([
      { type: 'over.started', tMs: 2600, warning: { ...warning, endMs: null } },
      { type: 'over.ended', tMs: 3110, warning },
    ]);
  });

  it('clears only after overClearMs below overClearN; between clear and limit it stays (hysteresis)', () => {
    const trace = buildTrace([REST, { ms: 1000, n: 20 }, { ms: 500, n: 50 }, { ms: 2000, n: 42 }, { ms: 490, n: 35 }, { ms: 100, n: 40 }, { ms: 1000, n: 35 }]);
    const { results, events } = runEngine(TEST_CONFIG, trace);
    expect(results.warnings).toEqual([{ startMs: 1500, alertMs: 1600, endMs: 4590, peakN: 50 }]);
    expect(eventsOfType(events, 'over.ended').map((event) => event.tMs)).toEqual([5090]);
  });

  it('counts later excursions before the clear into the same warning', () => {
    const trace = buildTrace([REST, { ms: 1000, n: 20 }, { ms: 200, n: 50 }, { ms: 300, n: 35 }, { ms: 30, n: 55 }, { ms: 1000, n: 35 }]);
    const { results, events } = runEngine(TEST_CONFIG, trace);
    expect(results.warnings).toEqual([{ startMs: 1500, alertMs: 1600, endMs: 2030, peakN: 55 }]);
    expect(eventsOfType(events, 'over.started')).toHaveLength(1);
  });

  it('confirms a clear of exactly overClearMs at the next sample even if that one is over again', () => {
    const trace = buildTrace([REST, { ms: 1000, n: 20 }, { ms: 200, n: 50 }, { ms: 500, n: 35 }, { ms: 200, n: 50 }, { ms: 1000, n: 20 }]);
    const { results, events } = runEngine(TEST_CONFIG, trace);
    expect(results.warnings).toEqual([
      { startMs: 1500, alertMs: 1600, endMs: 1700, peakN: 50 },
      { startMs: 2200, alertMs: 2300, endMs: 2400, peakN: 50 },
    ]);
    expect(events.filter((event) => event.tMs === 2200).map((event) => event.type)).toEqual(['zone.changed', 'over.ended']);
  });

  it('leaves a warning open at the end of data with endMs null, and finish() does not end it', () => {
    const { results, events, engine } = runEngine(TEST_CONFIG, buildTrace([REST, { ms: 3000, n: 20 }, { ms: 500, n: 50 }, { ms: 300, n: 20 }]));
    expect(results.warnings).toEqual([{ startMs: 3500, alertMs: 3600, endMs: null, peakN: 50 }]);
    expect(eventsOfType(events, 'over.ended')).toEqual([]);
    expect(results.holds.map((hold) => [hold.startMs, hold.endMs])).toEqual([[500, 4290]]);
    expect(engine.state().warning).toEqual(results.warnings[0]);
  });

  it('does not let lost samples delay the alarm nor clear a warning', () => {
    const delayed = runEngine(TEST_CONFIG, buildTrace([REST, { ms: 1000, n: 20 }, { ms: 10, n: 50 }, { lostMs: 200 }, { ms: 20, n: 50 }, { ms: 1000, n: 20 }]));
    expect(delayed.results.warnings.map((warning) => [warning.startMs, warning.alertMs])).toEqual([[1500, 1710]]);

    const trace = buildTrace([REST, { ms: 1000, n: 20 }, { ms: 200, n: 50 }, { ms: 100, n: 20 }, { lostMs: 1000 }, { ms: 600, n: 20 }]);
    const { results, events } = runEngine(TEST_CONFIG, trace);
    // The run below overClearN starts at 1700 and owns 100 ms before the gap, 10 ms across it.
    expect(results.warnings).toEqual([{ startMs: 1500, alertMs: 1600, endMs: 1700, peakN: 50 }]);
    expect(eventsOfType(events, 'over.ended').map((event) => event.tMs)).toEqual([3200]);
  });
});

describe('the engine as a component', () => {
  it('emits plain JSON that its schemas accept', () => {
    const trace = buildTrace([REST, { ms: 4000, n: 20 }, { ms: 500, n: 50 }, { ms: 5000, n: 25 }, { ms: 200, n: 3 }, { ms: 500, n: 60 }]);
    const { events, results } = runEngine(TEST_CONFIG, trace);
    expect(new Set(events.map((event) => event.type))).toEqual(
      new Set(['zone.changed', 'hold.started', 'hold.target', 'hold.long', 'hold.ended', 'over.started', 'over.ended']),
    );
    for (const event of events) expect(engineEventSchema.parse(event)).toEqual(event);
    expect(JSON.parse(JSON.stringify(events))).toEqual(events);
    expect(engineResultsSchema.parse(results)).toEqual(results);
  });

  it('gives a mid-session snapshot: zone, the press in progress, the open warning', () => {
    const engine = new PressureEngine(TEST_CONFIG);
    expect(engine.state()).toEqual({ tMs: null, forceN: null, zone: null, hold: null, warning: null });
    const trace = buildTrace([REST, { ms: 6000, n: 20 }, { ms: 300, n: 50 }, { ms: 100, n: 5 }]);
    engine.pushBatch(trace);
    const state = engine.state();
    expect(engineStateSchema.parse(state)).toEqual(state);
    expect(state).toEqual({
      tMs: 6890,
      forceN: 5,
      zone: 'below',
      hold: { startMs: 500, elapsedMs: 6390, started: true, targetReached: true, longReached: false, inDip: true, meanN: (600 * 20 + 30 * 50) / 630, peakN: 50 },
      warning: { startMs: 6500, alertMs: 6600, endMs: null, peakN: 50 },
    });
    engine.finish();
    expect(engine.state().hold).toBeNull();
  });

  it('hands out copies: changing a result or an event does not change the engine', () => {
    const { results, events, engine } = runEngine(TEST_CONFIG, buildTrace([REST, { ms: 4000, n: 20 }, { ms: 300, n: 50 }]));
    const warning = results.warnings[0];
    if (warning === undefined) throw new Error('expected a warning');
    warning.peakN = 0;
    const started = eventsOfType(events, 'over.started')[0];
    if (started !== undefined) started.warning.peakN = 0;
    expect(engine.results().warnings[0]?.peakN).toBe(50);
  });

  it('refuses samples out of time order, non-finite values, mismatched batches and samples after finish()', () => {
    const engine = new PressureEngine(TEST_CONFIG);
    engine.push(100, 20);
    engine.push(100, 21); // equal times are fine
    expect(() => engine.push(99, 20)).toThrow(/went backwards from 100 ms to 99 ms/);
    expect(() => engine.push(110, Number.NaN)).toThrow(RangeError);
    expect(() => engine.push(Number.POSITIVE_INFINITY, 1)).toThrow(RangeError);
    expect(() => engine.pushBatch({ tMs: [120, 130], forceN: [1] })).toThrow(/2 times and 1 forces/);
    expect(engine.finish().map((event) => event.type)).toEqual([]);
    expect(engine.finish()).toEqual([]);
    expect(() => engine.push(200, 1)).toThrow(/finished/);
  });

  it('refuses an invalid config in the constructor, naming the field', () => {
    expect(() => new PressureEngine({ ...TEST_CONFIG, dropoutMs: -1 })).toThrow(/dropoutMs must be a time above 0 ms/);
  });

  it('sustains an hour at 1 kHz in well under real time', () => {
    // 25 s cycles: 20 s hold at 20 N with a 0.5 s excursion to 50 N, 5 s rest.
    const engine = new PressureEngine(TEST_CONFIG);
    const batchSize = 1000;
    const tMs = new Array<number>(batchSize);
    const forceN = new Array<number>(batchSize);
    const startedAt = performance.now();
    let events = 0;
    for (let batchStart = 0; batchStart < 3_600_000; batchStart += batchSize) {
      for (let index = 0; index < batchSize; index++) {
        const sample = batchStart + index;
        const inCycleMs = sample % 25_000;
        tMs[index] = sample;
        forceN[index] = inCycleMs >= 20_000 ? 1 : inCycleMs >= 10_000 && inCycleMs < 10_500 ? 50 : 20;
      }
      events += engine.pushBatch({ tMs, forceN }).length;
    }
    events += engine.finish().length;
    const elapsedMs = performance.now() - startedAt;
    const { holds, warnings } = engine.results();
    expect(holds).toHaveLength(144);
    expect(holds.every((hold) => hold.durationMs === 19_999 && hold.timeOverMs === 500)).toBe(true);
    expect(warnings).toHaveLength(144);
    expect(warnings[143]).toEqual({ startMs: 143 * 25_000 + 10_000, alertMs: 143 * 25_000 + 10_100, endMs: 143 * 25_000 + 10_500, peakN: 50 });
    // Per cycle: 4 zone changes, 4 hold events (started, target, long, ended), 2 warning events.
    expect(events).toBe(144 * (4 + 4 + 2));
    expect(elapsedMs).toBeLessThan(20_000);
  });
});
