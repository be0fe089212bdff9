// The session cutter alone (pure, no store, no clock): a unit test per rule of
// docs/recording.md, then properties over generated streams (fast-check): the cut does not
// depend on how the samples are chunked; every session starts with a press and takes the
// second before it; sessions never overlap and every press is in one; a session ends at the
// first unpressed sample idleMs after its last press and not before; a disconnection
// shorter than the grace carries on, a longer one ends the session.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRE_ROLL_MS, RECONNECT_GRACE_MS, SessionCutter, type CutStep, type LinkState, type SessionEndReason, type SessionRules } from '../../../server/recording/session-cutter.ts';

const PRESS_N = 15;
const IDLE_MS = 5000;
const RULES: SessionRules = { pressN: PRESS_N, idleMs: IDLE_MS };

interface Sample {
  readonly tMs: number;
  readonly forceN: number;
}

/** A session as the steps tell it. */
interface CutSession {
  startMs: number;
  originMs: number;
  preRoll: Sample[];
  /** From the press on. */
  samples: Sample[];
  end: { reason: SessionEndReason; lastMs: number } | null;
}

function batch(samples: readonly Sample[]): { tMs: number[]; forceN: number[]; raw: number[] } {
  return { tMs: samples.map((sample) => sample.tMs), forceN: samples.map((sample) => sample.forceN), raw: samples.map((sample) => Math.round(sample.forceN * 100)) };
}

function samplesOf(run: { readonly tMs: readonly number[]; readonly forceN: readonly number[] }): Sample[] {
  return run.tMs.map((tMs, index) => ({ tMs, forceN: run.forceN[index] as number }));
}

/** Steps as sessions; throws when they are out of order (samples outside a session, an end without a start). */
function sessionsOf(steps: readonly CutStep[]): CutSession[] {
  const sessions: CutSession[] = [];
  let open: CutSession | null = null;
  for (const step of steps) {
    if (step.type === 'started') {
      if (open !== null) throw new Error('a session started while another was going on');
      open = { startMs: step.startMs, originMs: step.originMs, preRoll: samplesOf(step.preRoll), samples: [], end: null };
      sessions.push(open);
    } else if (step.type === 'samples') {
      if (open === null) throw new Error('samples outside a session');
      open.samples.push(...samplesOf(step.samples));
    } else {
      if (open === null) throw new Error('an end without a session');
      open.end = { reason: step.reason, lastMs: step.lastMs };
      open = null;
    }
  }
  return sessions;
}

function cut(samples: readonly Sample[], rules: SessionRules = RULES, chunkSizes: readonly number[] = [samples.length]): CutSession[] {
  const cutter = new SessionCutter(rules);
  const steps: CutStep[] = [];
  let at = 0;
  for (let chunk = 0; at < samples.length; chunk++) {
    const size = Math.max(1, chunkSizes[chunk % Math.max(1, chunkSizes.length)] ?? 1);
    steps.push(...cutter.pushBatch(batch(samples.slice(at, at + size))));
    at += size;
  }
  steps.push(...cutter.finish());
  return sessionsOf(steps);
}

/** `durationMs` of one force every 10 ms from `fromMs`. */
function level(fromMs: number, durationMs: number, forceN: number): Sample[] {
  return Array.from({ length: durationMs / 10 }, (_, index) => ({ tMs: fromMs + index * 10, forceN }));
}

describe('session cutter: the rules', () => {
  it('starts a session at the first press, with the samples of the second before it', () => {
    const [session, ...others] = cut([...level(0, 3000, 2), ...level(3000, 2000, 20)]);
    expect(others).toEqual([]);
    expect(session).toMatchObject({ startMs: 3000, originMs: 3000 - PRE_ROLL_MS, end: { reason: 'finished', lastMs: 4990 } });
    expect(session?.preRoll.map((sample) => sample.tMs)).toEqual(level(2000, 1000, 2).map((sample) => sample.tMs));
    expect(session?.samples[0]).toEqual({ tMs: 3000, forceN: 20 });
  });

  it('records nothing without a press', () => {
    expect(cut(level(0, 10_000, PRESS_N - 0.001))).toEqual([]);
  });

  it('counts a reading exactly at the press force as a press', () => {
    expect(cut([{ tMs: 0, forceN: PRESS_N }])).toMatchObject([{ startMs: 0, originMs: 0, preRoll: [] }]);
  });

  it('ends a session at the first sample idleMs after its last press (device time), and starts the next at the next press', () => {
    const samples = [...level(0, 1000, 20), ...level(1000, 8000, 0), ...level(9000, 500, 20)];
    const [first, second, ...others] = cut(samples);
    expect(others).toEqual([]);
    // The last press at 990 ms: the sample at 5990 ms is idleMs after it and ends the session.
    expect(first?.end).toEqual({ reason: 'idle', lastMs: 990 + IDLE_MS });
    expect(first?.samples.at(-1)?.tMs).toBe(990 + IDLE_MS);
    expect(second).toMatchObject({ startMs: 9000, originMs: 8000 });
    expect(second?.preRoll[0]?.tMs).toBe(8000);
  });

  it('does not end a session on a gap in the data shorter than the idle time, nor on presses far apart', () => {
    const samples = [...level(0, 500, 20), ...level(4000, 500, 0), ...level(8000, 500, 20), ...level(12_000, 500, 0)];
    const sessions = cut(samples);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.samples).toHaveLength(samples.length);
  });

  it('ends a session when the device time jumps past the idle time (a long gap), at the first unpressed sample after it', () => {
    const sessions = cut([...level(0, 500, 20), ...level(60_000, 500, 0)]);
    expect(sessions[0]?.end).toEqual({ reason: 'idle', lastMs: 60_000 });
  });

  it('ends a session when the device clock goes back (a restart), and forgets the approach from before it', () => {
    const sessions = cut([...level(0, 500, 0), ...level(500, 500, 20), ...level(0, 2000, 0), ...level(2000, 100, 20)]);
    expect(sessions.map((session) => session.end?.reason)).toEqual(['restarted', 'finished']);
    expect(sessions[0]?.end?.lastMs).toBe(990);
    expect(sessions[1]).toMatchObject({ startMs: 2000, originMs: 1000 });
    const restarted = new SessionCutter(RULES);
    restarted.pushBatch(batch([...level(0, 500, 0), ...level(500, 10, 20)]));
    expect(restarted.restart()).toEqual([{ type: 'ended', reason: 'restarted', lastMs: 500 }]);
    // Nothing from before the restart comes back as pre-roll, even at later device times.
    expect(restarted.pushBatch(batch([{ tMs: 700, forceN: 20 }]))[0]).toMatchObject({ type: 'started', startMs: 700, originMs: 700 });
  });

  it('ends a session when the device stops, and starts the next at the next press', () => {
    const cutter = new SessionCutter(RULES);
    cutter.pushBatch(batch(level(0, 100, 20)));
    expect(cutter.link('stopped', 1_000)).toEqual([{ type: 'ended', reason: 'stopped', lastMs: 90 }]);
    expect(cutter.inSession).toBe(false);
    expect(cutter.pushBatch(batch(level(100, 20, 20)))[0]).toMatchObject({ type: 'started', startMs: 100 });
  });

  it('carries on through a disconnection shorter than the reconnect grace, ends the session after a longer one', () => {
    const cutter = new SessionCutter(RULES);
    cutter.pushBatch(batch(level(0, 100, 20)));
    expect(cutter.link('disconnected', 10_000)).toEqual([]);
    expect(cutter.link('disconnected', 12_000)).toEqual([]);
    expect(cutter.tick(10_000 + RECONNECT_GRACE_MS - 1)).toEqual([]);
    expect(cutter.link('connected', 10_000 + RECONNECT_GRACE_MS - 1)).toEqual([]);
    expect(cutter.inSession).toBe(true);
    expect(cutter.link('disconnected', 50_000)).toEqual([]);
    expect(cutter.tick(50_000 + RECONNECT_GRACE_MS)).toEqual([{ type: 'ended', reason: 'gone', lastMs: 90 }]);
    // A reconnection reported late, without a tick in between, is judged by the same rule.
    cutter.pushBatch(batch(level(100, 20, 20)));
    cutter.link('disconnected', 100_000);
    expect(cutter.link('connected', 100_000 + RECONNECT_GRACE_MS)).toEqual([{ type: 'ended', reason: 'gone', lastMs: 110 }]);
  });

  it('cuts a replay (whole data) as one session from its first sample to its last, whatever the idle time', () => {
    const samples = [...level(0, 1000, 0), ...level(1000, 100, 20), ...level(100_000, 1000, 0)];
    expect(cut(samples, { ...RULES, wholeData: true })).toEqual([{ startMs: 0, originMs: 0, preRoll: [], samples, end: { reason: 'finished', lastMs: 100_990 } }]);
  });

  it('judges presses by the press force given last (another preset)', () => {
    const cutter = new SessionCutter(RULES);
    expect(cutter.pushBatch(batch([{ tMs: 0, forceN: 10 }]))).toEqual([]);
    cutter.setPressN(8);
    expect(cutter.pushBatch(batch([{ tMs: 10, forceN: 10 }]))[0]).toMatchObject({ type: 'started', startMs: 10, originMs: 0 });
  });

  it('refuses rules it cannot use, naming them, and samples it cannot place', () => {
    expect(() => new SessionCutter({ pressN: Number.NaN, idleMs: 1 })).toThrow(/pressN must be a finite force/);
    expect(() => new SessionCutter({ pressN: 1, idleMs: -1 })).toThrow(/idleMs must be a finite number of ms, 0 or more \(got -1\)/);
    expect(() => new SessionCutter({ pressN: 1, idleMs: 1, reconnectGraceMs: Number.POSITIVE_INFINITY })).toThrow(/reconnectGraceMs/);
    const cutter = new SessionCutter(RULES);
    expect(() => cutter.pushBatch({ tMs: [0, 1], forceN: [0], raw: [0, 0] })).toThrow(RangeError);
    expect(() => cutter.pushBatch(batch([{ tMs: Number.NaN, forceN: 1 }]))).toThrow(/finite time and force/);
    cutter.finish();
    expect(cutter.finish()).toEqual([]);
    expect(() => cutter.pushBatch(batch([{ tMs: 0, forceN: 1 }]))).toThrow(/has finished/);
  });
});

/** Sample streams of segments at a level (often near the press force), with gaps; times never go back. */
const streamArbitrary: fc.Arbitrary<Sample[]> = fc
  .array(
    fc.record({
      forceN: fc.oneof(fc.constantFrom(0, PRESS_N - 0.01, PRESS_N, 20), fc.double({ min: -1, max: 40, noNaN: true })),
      count: fc.integer({ min: 1, max: 80 }),
      stepMs: fc.oneof(fc.constant(10), fc.integer({ min: 0, max: 400 })),
      gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 * IDLE_MS })),
    }),
    { maxLength: 30 },
  )
  .map((segments) => {
    const samples: Sample[] = [];
    let tMs = 0;
    for (const segment of segments) {
      tMs += segment.gapMs;
      for (let index = 0; index < segment.count; index++) {
        samples.push({ tMs, forceN: segment.forceN });
        tMs += segment.stepMs;
      }
    }
    return samples;
  });

/** Index of the first sample at or above the press force from `from` on (-1: none). */
function firstPressFrom(samples: readonly Sample[], from: number): number {
  const found = samples.slice(from).findIndex((sample) => sample.forceN >= PRESS_N);
  return found === -1 ? -1 : from + found;
}

const chunkSizesArbitrary = fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 });

describe('session cutter: properties', () => {
  it('cuts the same sessions however the samples are chunked', () => {
    fc.assert(
      fc.property(streamArbitrary, chunkSizesArbitrary, fc.boolean(), (samples, chunkSizes, wholeData) => {
        const rules = { ...RULES, wholeData };
        expect(cut(samples, rules, chunkSizes)).toEqual(cut(samples, rules));
      }),
    );
  });

  it('starts every session with a press, taking every sample of the pre-roll before it and nothing older', () => {
    fc.assert(
      fc.property(streamArbitrary, (samples) => {
        const sessions = cut(samples);
        let afterPrevious = 0;
        for (const session of sessions) {
          const pressAt = firstPressFrom(samples, afterPrevious);
          expect(session.samples[0]).toEqual(samples[pressAt]);
          expect(session.startMs).toBe(samples[pressAt]?.tMs);
          const window = samples.slice(afterPrevious, pressAt).filter((sample) => sample.tMs >= session.startMs - PRE_ROLL_MS);
          expect(session.preRoll).toEqual(window);
          expect(session.originMs).toBe(window[0]?.tMs ?? session.startMs);
          afterPrevious = pressAt + session.samples.length;
        }
      }),
    );
  });

  it('never lets sessions overlap, keeps each one contiguous, and puts every press in one', () => {
    fc.assert(
      fc.property(streamArbitrary, (samples) => {
        const sessions = cut(samples);
        let next = 0;
        const inSession = new Set<number>();
        for (const session of sessions) {
          const from = firstPressFrom(samples, next);
          expect(from).toBeGreaterThanOrEqual(next);
          expect(samples.slice(from, from + session.samples.length)).toEqual(session.samples);
          for (let index = from; index < from + session.samples.length; index++) inSession.add(index);
          next = from + session.samples.length;
        }
        samples.forEach((sample, index) => {
          if (sample.forceN >= PRESS_N) expect(inSession.has(index)).toBe(true);
        });
        expect(sessions.slice(0, -1).every((session) => session.end?.reason === 'idle')).toBe(true);
      }),
    );
  });

  it('ends a session at the first unpressed sample idleMs after its last press, and never sooner', () => {
    fc.assert(
      fc.property(streamArbitrary, (samples) => {
        for (const session of cut(samples)) {
          let lastPressMs = session.startMs;
          session.samples.forEach((sample, index) => {
            const last = index === session.samples.length - 1;
            if (sample.forceN >= PRESS_N) lastPressMs = sample.tMs;
            else if (!last || session.end?.reason !== 'idle') expect(sample.tMs - lastPressMs).toBeLessThan(IDLE_MS);
            else expect(sample.tMs - lastPressMs).toBeGreaterThanOrEqual(IDLE_MS);
          });
          expect(session.end?.lastMs).toBe(session.samples.at(-1)?.tMs);
        }
      }),
    );
  });

  it('ends a session for a disconnection of the grace or longer, whenever the wall clock is read, and never for a shorter one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 * RECONNECT_GRACE_MS }),
        fc.array(fc.integer({ min: 0, max: 2 * RECONNECT_GRACE_MS }), { maxLength: 10 }),
        fc.constantFrom<LinkState>('connected', 'stopped'),
        (awayMs, tickOffsetsMs, back) => {
          const cutter = new SessionCutter(RULES);
          cutter.pushBatch(batch(level(0, 100, 20)));
          const atMs = 1_000_000;
          const steps = cutter.link('disconnected', atMs);
          for (const offsetMs of [...tickOffsetsMs].sort((a, b) => a - b).filter((offsetMs) => offsetMs < awayMs)) steps.push(...cutter.tick(atMs + offsetMs));
          steps.push(...cutter.link(back, atMs + awayMs));
          const reasons = steps.flatMap((step) => (step.type === 'ended' ? [step.reason] : []));
          const expected: SessionEndReason[] = awayMs >= RECONNECT_GRACE_MS ? ['gone'] : back === 'stopped' ? ['stopped'] : [];
          expect(reasons).toEqual(expected);
        },
      ),
    );
  });
});
