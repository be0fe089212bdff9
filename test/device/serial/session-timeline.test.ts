// The session timeline: wire counters (uint16 seq, uint32 t_us) -> the session's sample
// numbers and device time. Checked against a simulated device whose true clock is known:
// device time is exact across both wraps and any loss, losses are counted exactly, and a
// reboot never makes time or sample numbers go back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionTimeline, type PlacedSample } from '../../../device/protocol/session-timeline.ts';

const SEQ = 0x1_0000;
const CLOCK = 0x1_0000_0000;

interface Arrival {
  readonly wireSeq: number;
  readonly wireTUs: number;
  readonly hostUs: number;
}

/** Places arrivals in order. */
function placeAll(timeline: SessionTimeline, arrivals: readonly Arrival[]): PlacedSample[] {
  return arrivals.map((arrival) => timeline.place(arrival.wireSeq, arrival.wireTUs, arrival.hostUs));
}

const increasing = (values: readonly number[]): boolean => values.every((value, index) => index === 0 || value > (values[index - 1] ?? -Infinity));

describe('session timeline', () => {
  it('places consecutive samples on the device clock and starts where the device is', () => {
    const timeline = new SessionTimeline(100);
    const placed = placeAll(timeline, [
      { wireSeq: 5, wireTUs: 50_000, hostUs: 0 },
      { wireSeq: 6, wireTUs: 60_000, hostUs: 10_000 },
      { wireSeq: 7, wireTUs: 70_010, hostUs: 20_000 },
    ]);
    expect(placed).toEqual([
      { seq: 5, deviceTimeUs: 50_000, lostBefore: 0, epoch: 'first' },
      { seq: 6, deviceTimeUs: 60_000, lostBefore: 0, epoch: 'continued' },
      { seq: 7, deviceTimeUs: 70_010, lostBefore: 0, epoch: 'continued' },
    ]);
  });

  it('unwraps t_us and seq together and counts a loss across both wraps', () => {
    const timeline = new SessionTimeline(1000);
    const placed = placeAll(timeline, [
      { wireSeq: 65_534, wireTUs: CLOCK - 1500, hostUs: 0 },
      { wireSeq: 65_535, wireTUs: CLOCK - 500, hostUs: 1000 },
      { wireSeq: 3, wireTUs: 3500, hostUs: 5000 },
    ]);
    expect(placed.map((sample) => sample.deviceTimeUs)).toEqual([CLOCK - 1500, CLOCK - 500, CLOCK + 3500]);
    expect(placed.map((sample) => sample.seq)).toEqual([65_534, 65_535, 65_539]);
    expect(placed[2]?.lostBefore).toBe(3);
    expect(timeline.lostSamples).toBe(3);
  });

  it('tells more than 65536 lost samples from the clock (a long dropout at 1000 Hz)', () => {
    const timeline = new SessionTimeline(1000);
    timeline.place(100, 1_000_000, 0);
    // 70 000 samples later (70 s): seq moved by 70000 mod 65536 = 4464.
    const placed = timeline.place((100 + 70_000) % SEQ, 1_000_000 + 70_000_000, 70_000_000);
    expect(placed).toMatchObject({ seq: 70_100, lostBefore: 69_999, epoch: 'continued' });
  });

  it('after STREAM,0 the jump in seq is not a loss, even after hours without a sample (clock wraps counted by the host)', () => {
    const timeline = new SessionTimeline(100);
    timeline.place(10, 2_000_000, 0);
    timeline.pauseStreaming();
    const silentUs = 2 * 3600 * 1e6; // two hours: the device clock wrapped once
    const samples = silentUs / 10_000;
    const placed = timeline.place((10 + samples) % SEQ, (2_000_000 + silentUs) % CLOCK, silentUs + 3000);
    expect(placed).toEqual({ seq: 10 + samples, deviceTimeUs: 2_000_000 + silentUs, lostBefore: 0, epoch: 'continued' });
    expect(timeline.lostSamples).toBe(0);
  });

  it('accepts both periods while a rate change settles', () => {
    const timeline = new SessionTimeline(100);
    timeline.place(0, 0, 0);
    timeline.setRate(1000); // sent; samples at the old rate may still come
    expect(timeline.place(1, 10_000, 10_000).epoch).toBe('continued');
    expect(timeline.place(2, 11_000, 11_000).epoch).toBe('continued');
    expect(timeline.place(3, 12_000, 12_000).epoch).toBe('continued');
    timeline.setRate(100); // and back down: a 1 ms step then 10 ms steps
    expect(timeline.place(4, 13_000, 13_000).epoch).toBe('continued');
    expect(timeline.place(5, 23_000, 23_000).epoch).toBe('continued');
    expect(timeline.lostSamples).toBe(0);
    expect(timeline.reboots).toBe(0);
  });

  it('a restart of the counters is a reboot: time and seq go on, the samples since boot count as lost', () => {
    const timeline = new SessionTimeline(100);
    timeline.place(500, 5_000_000, 0);
    timeline.place(501, 5_010_000, 10_000);
    // 300 ms of host time later: the device booted and its 4th sample (seq 3) is the first heard.
    const placed = timeline.place(3, 31_000, 310_000);
    expect(placed).toEqual({ seq: 501 + 1 + 3, deviceTimeUs: 5_010_000 + 300_000, lostBefore: 3, epoch: 'reboot' });
    expect(timeline.place(4, 41_000, 320_000)).toEqual({ seq: 506, deviceTimeUs: 5_320_000, lostBefore: 0, epoch: 'continued' });
    expect(timeline.reboots).toBe(1);
  });

  it('a reboot of a device that ran for 70 minutes (its clock just below the wrap) is still told', () => {
    const timeline = new SessionTimeline(100);
    const upUs = CLOCK - 400_000;
    const upSamples = Math.round(upUs / 10_000);
    timeline.place(upSamples % SEQ, upUs, 0);
    // 200 ms later, after a reboot: seq 0, clock 1 ms. Forward, the clock looks like +401 ms.
    const placed = timeline.place(0, 1000, 200_000);
    expect(placed.epoch).toBe('reboot');
  });

  it('a HELLO nobody asked for makes the next sample a new run unless both counters simply went up', () => {
    const timeline = new SessionTimeline(100);
    timeline.place(40, 400_000, 0);
    timeline.announceReboot();
    expect(timeline.place(41, 410_000, 10_000).epoch).toBe('continued');
    timeline.announceReboot();
    expect(timeline.place(0, 405_000, 20_000).epoch).toBe('reboot');
  });

  it('places an alarm against the last sample of the run, across the clock wrap', () => {
    const timeline = new SessionTimeline(100);
    expect(timeline.placeEvent(123)).toBeNull();
    timeline.place(1, CLOCK - 5000, 0);
    expect(timeline.placeEvent(CLOCK - 5000)).toBe(CLOCK - 5000);
    expect(timeline.placeEvent(5000)).toBe(CLOCK + 5000);
    expect(timeline.placeEvent(CLOCK - 15_000)).toBe(CLOCK - 15_000);
    timeline.announceReboot();
    expect(timeline.placeEvent(100)).toBeNull();
  });

  it('refuses a rate that is not a positive number', () => {
    expect(() => new SessionTimeline(0)).toThrow(/positive/);
    expect(() => new SessionTimeline(Number.NaN)).toThrow(RangeError);
  });

  /** A device at `rateHz` from (seq0, t0), losing bursts, heard by a host whose clock lags by 0-50 ms of buffering. */
  const run = fc.record({
    rateHz: fc.constantFrom(10, 80, 100, 250, 370, 1000),
    seq0: fc.oneof(fc.integer({ min: 0, max: SEQ - 1 }), fc.integer({ min: SEQ - 50, max: SEQ - 1 })),
    t0: fc.oneof(fc.integer({ min: 0, max: CLOCK - 1 }), fc.integer({ min: CLOCK - 2_000_000, max: CLOCK - 1 })),
    steps: fc.array(fc.record({ lost: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 400 })), lagUs: fc.integer({ min: 0, max: 50_000 }) }), {
      minLength: 2,
      maxLength: 300,
    }),
  });

  it('property: without reboots, device time is exact and losses are counted exactly, across every wrap', () => {
    fc.assert(
      fc.property(run, ({ rateHz, seq0, t0, steps }) => {
        const periodUs = Math.round(1e6 / rateHz);
        const timeline = new SessionTimeline(rateHz);
        let index = 0;
        let lost = 0;
        let lastHostUs = 0;
        for (const [step, { lost: lostHere, lagUs }] of steps.entries()) {
          if (step > 0) {
            index += lostHere + 1;
            lost += lostHere;
          }
          const trueUs = index * periodUs;
          lastHostUs = Math.max(lastHostUs, trueUs + lagUs); // arrivals never go back in time
          const placed = timeline.place((seq0 + index) % SEQ, (t0 + trueUs) % CLOCK, lastHostUs);
          expect(placed.deviceTimeUs).toBe(t0 + trueUs);
          expect(placed.seq).toBe(seq0 + index);
        }
        expect(timeline.lostSamples).toBe(lost);
        expect(timeline.reboots).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  /**
   * Runs where a reboot is tellable from the counters alone: the seq before it is above the
   * restarted one (a reboot within two samples of boot, or right as both counters wrap,
   * looks exactly like going on, and only the HELLO tells it).
   */
  const rebootRun = fc.record({
    rateHz: fc.constantFrom(10, 80, 100, 250, 370, 1000),
    seq0: fc.integer({ min: 10, max: SEQ - 2200 }),
    t0: fc.integer({ min: 0, max: CLOCK - 300_000_000 }),
    steps: fc.array(fc.record({ lost: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })), lagUs: fc.integer({ min: 0, max: 50_000 }) }), { minLength: 4, maxLength: 100 }),
    rebootPicks: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  });

  it('property: reboots anywhere are all told, and time and sample numbers never go back', () => {
    fc.assert(
      fc.property(rebootRun, ({ rateHz, seq0, t0, steps, rebootPicks }) => {
        const periodUs = Math.round(1e6 / rateHz);
        // At least three steps apart, so each run has gone past the seq the next one restarts at.
        const rebootAt = new Set<number>();
        for (const pick of rebootPicks.map((value) => 1 + (value % (steps.length - 1))).sort((a, b) => a - b)) {
          if ([...rebootAt].every((step) => pick - step >= 3)) rebootAt.add(pick);
        }
        const timeline = new SessionTimeline(rateHz);
        let deviceIndex = 0;
        let deviceSeq0 = seq0;
        let deviceT0 = t0;
        let hostUs = 0;
        const placed: PlacedSample[] = [];
        for (const [step, { lost, lagUs }] of steps.entries()) {
          if (rebootAt.has(step)) {
            // It restarts: 100-900 ms of host time pass, the new run's clock starts near 0.
            hostUs += 100_000 + (lagUs % 800_000);
            deviceSeq0 = 0;
            deviceT0 = 1000 + (lagUs % 5000);
            deviceIndex = lost % 3;
          } else if (step > 0) {
            deviceIndex += lost + 1;
            hostUs += (lost + 1) * periodUs;
          }
          placed.push(timeline.place((deviceSeq0 + deviceIndex) % SEQ, (deviceT0 + deviceIndex * periodUs) % CLOCK, hostUs + lagUs));
        }
        expect(increasing(placed.map((sample) => sample.deviceTimeUs))).toBe(true);
        expect(increasing(placed.map((sample) => sample.seq))).toBe(true);
        expect(timeline.reboots).toBe(rebootAt.size);
        expect(placed.filter((sample) => sample.epoch === 'reboot').length).toBe(rebootAt.size);
      }),
      { numRuns: 300 },
    );
  });
});
