/**
 * The session timeline: turns each sample's wire counters (uint16 `seq`, uint32 `t_us`)
 * into the session's own sample number and device time, both monotonic for as long as
 * the transport runs. It sits in the serial transport between the codec and `RawSample`.
 *
 *   const timeline = new SessionTimeline(100);
 *   timeline.place(seq, tUs, performance.now() * 1000); // { seq, deviceTimeUs, lostBefore, epoch }
 *
 * How a wrap, a loss and a reboot are told apart, and why the host's clock measures only
 * the gap of a reboot: docs/design/serial-link.md.
 */
import { DEVICE_CLOCK_MODULUS_US as CLOCK_MODULUS_US, SEQ_MODULUS } from './device-messages.ts';

const HALF_CLOCK_US = 0x8000_0000;
/** How far the device clock may run ahead of the host's between two arrivals (buffered bursts). */
export const CLOCK_AHEAD_SLACK_US = 2_000_000;
/** Allowed drift between the sample count and the clock: the protocol's ±2 % period, rounded up. */
const PERIOD_TOLERANCE = 0.03;
const PERIOD_TOLERANCE_SAMPLES = 2;

export interface PlacedSample {
  /** The session's sample number: increasing, skipping those lost. */
  readonly seq: number;
  /** The session's device time in microseconds: increasing. */
  readonly deviceTimeUs: number;
  /** Samples lost right before this one. */
  readonly lostBefore: number;
  /** `first` of the session, `continued` in the same run of the device, or the first after a `reboot`. */
  readonly epoch: 'first' | 'continued' | 'reboot';
}

interface LastSample {
  readonly wireSeq: number;
  readonly wireTUs: number;
  readonly seq: number;
  readonly deviceTimeUs: number;
  readonly hostUs: number;
}

export class SessionTimeline {
  /** Sample periods the next sample may follow: the current one first, older ones while a rate change settles. */
  #periodsUs: number[];
  #last: LastSample | null = null;
  #rebootAnnounced = false;
  #streamPaused = false;
  lostSamples = 0;
  reboots = 0;

  constructor(rateHz: number) {
    this.#periodsUs = [periodOf(rateHz)];
  }

  /** The nominal rate changed (or is about to): both periods are accepted until a sample settles it. */
  setRate(rateHz: number): void {
    const periodUs = periodOf(rateHz);
    this.#periodsUs = [periodUs, ...this.#periodsUs.filter((candidate) => candidate !== periodUs)].slice(0, 3);
  }

  /** The device said it booted (a HELLO nobody asked for). */
  announceReboot(): void {
    this.#rebootAnnounced = true;
  }

  /** Streaming was switched off: the jump in `seq` when it resumes is not a loss. */
  pauseStreaming(): void {
    this.#streamPaused = true;
  }

  /** Another device entirely: forget the last sample (its counters say nothing about the new one). */
  reset(): void {
    this.#last = null;
    this.#rebootAnnounced = false;
    this.#streamPaused = false;
  }

  /** Places a sample; `hostUs` is the host's monotonic clock at its arrival. */
  place(wireSeq: number, wireTUs: number, hostUs: number): PlacedSample {
    const last = this.#last;
    let placed: PlacedSample;
    if (last === null) {
      placed = { seq: wireSeq, deviceTimeUs: wireTUs, lostBefore: 0, epoch: 'first' };
    } else {
      const hostElapsedUs = Math.max(0, hostUs - last.hostUs);
      const step = this.#continuation(last, wireSeq, wireTUs, hostElapsedUs);
      if (step !== null) {
        const lostBefore = this.#streamPaused ? 0 : step.samples - 1;
        placed = { seq: last.seq + step.samples, deviceTimeUs: last.deviceTimeUs + step.elapsedUs, lostBefore, epoch: 'continued' };
      } else {
        const lostBefore = this.#samplesSinceBoot(wireSeq, wireTUs, hostElapsedUs);
        const gapUs = Math.max(hostElapsedUs, this.#periodUs);
        placed = { seq: last.seq + 1 + lostBefore, deviceTimeUs: last.deviceTimeUs + gapUs, lostBefore, epoch: 'reboot' };
        this.reboots++;
      }
    }
    this.lostSamples += placed.lostBefore;
    this.#last = { wireSeq, wireTUs, seq: placed.seq, deviceTimeUs: placed.deviceTimeUs, hostUs };
    this.#rebootAnnounced = false;
    this.#streamPaused = false;
    return placed;
  }

  /**
   * The session time of an event stamped with the device clock (an ALARM), placed
   * against the last sample of the same run; null when no sample of the current run has
   * arrived yet (then nothing relates its clock to the session's).
   */
  placeEvent(wireTUs: number): number | null {
    if (this.#last === null || this.#rebootAnnounced) return null;
    const signedDeltaUs = ((wireTUs - this.#last.wireTUs + HALF_CLOCK_US + CLOCK_MODULUS_US) % CLOCK_MODULUS_US) - HALF_CLOCK_US;
    return this.#last.deviceTimeUs + signedDeltaUs;
  }

  get #periodUs(): number {
    return this.#periodsUs[0] ?? 10_000;
  }

  #continuation(last: LastSample, wireSeq: number, wireTUs: number, hostElapsedUs: number): { samples: number; elapsedUs: number } | null {
    if (this.#rebootAnnounced && !(wireSeq > last.wireSeq && wireTUs > last.wireTUs)) return null;
    let elapsedUs = (wireTUs - last.wireTUs + CLOCK_MODULUS_US) % CLOCK_MODULUS_US;
    // Silent for longer than half the clock's range (streaming off): the host counts the wraps.
    if (hostElapsedUs > HALF_CLOCK_US) elapsedUs += CLOCK_MODULUS_US * Math.max(0, Math.round((hostElapsedUs - elapsedUs) / CLOCK_MODULUS_US));
    if (elapsedUs === 0 || elapsedUs > hostElapsedUs + CLOCK_AHEAD_SLACK_US) return null;
    const seqStep = (wireSeq - last.wireSeq + SEQ_MODULUS) % SEQ_MODULUS;
    for (const [index, periodUs] of this.#periodsUs.entries()) {
      const expected = elapsedUs / periodUs;
      const samples = seqStep + SEQ_MODULUS * Math.round((expected - seqStep) / SEQ_MODULUS);
      if (samples >= 1 && Math.abs(samples - expected) <= expected * PERIOD_TOLERANCE + PERIOD_TOLERANCE_SAMPLES) {
        if (index === 0) this.#periodsUs = [periodUs];
        return { samples, elapsedUs };
      }
    }
    return null;
  }

  /**
   * Samples the restarted device took before this one (its `seq`, with wraps told by its
   * clock). Only when its clock fits inside the gap: a device that has been up longer
   * than the host waited did not restart in between, and counting its whole run as lost
   * would be false.
   */
  #samplesSinceBoot(wireSeq: number, wireTUs: number, hostElapsedUs: number): number {
    if (wireTUs > hostElapsedUs + CLOCK_AHEAD_SLACK_US) return 0;
    const expected = wireTUs / this.#periodUs;
    return wireSeq + SEQ_MODULUS * Math.max(0, Math.round((expected - wireSeq) / SEQ_MODULUS));
  }
}

function periodOf(rateHz: number): number {
  if (!(rateHz > 0) || !Number.isFinite(rateHz)) throw new RangeError(`sample rate must be a positive number of Hz, got ${rateHz}`);
  return 1e6 / rateHz;
}
