/**
 * A calibration in progress on one device: tare, then known loads one by one, each
 * captured as the mean of a still period, then a fit. The terminal wizard and the
 * dashboard's calibration page (through the server) both drive this one class, fed with
 * the device's raw samples on device time.
 *
 * - `tare()` takes the mean of the last still second as the zero. It refuses at once if
 *   the reading is moving (a tare under a moving hand would offset every later reading).
 *   For an `hx711` it first sends `TARE` so the firmware re-zeros its own offset, then
 *   measures the residual from fresh samples. A tare starts a new set of points; for an
 *   `hx711` the tare itself is the first point (0 N), as a load cell's zero is a
 *   calibration point like any other.
 * - `capture(load)` waits until the reading has moved away from every point already
 *   taken (the new load is on the tip) and has then stayed still for `settleMs`,
 *   reporting its progress; the point is the mean raw count of that still period.
 * - Both check that the still reading fits what the person says (plausibility.ts): a
 *   tare refuses a tip that does not look bare, a capture a reading far from the load
 *   typed (`ImplausibleReadingError`); the person may confirm either (`confirm: true`).
 *   A capture at full scale is refused outright.
 * - `fit()` fits the points (see fit.ts), or says what is missing.
 *
 * Nothing here saves: the caller stores the fit as a profile when the user says so.
 */
import type { SensorKind } from '../device/transport.ts';
import { CalibrationError, fitCalibration, type CalibrationPoint, type FitResult } from './fit.ts';
import { SENSOR_RAW_RANGE } from './model.ts';
import { loadProblem, noLoadProblem } from './plausibility.ts';
import { describeMotion, RecentSamples, toleranceAt, windowStats, type WindowStats } from './stillness.ts';
import type { KnownLoad } from './units.ts';

/** Device time the reading must stay still at a new load before it is captured. */
export const DEFAULT_SETTLE_MS = 1500;
/** Device time judged at a time for motion (and the still period a tare averages). */
export const STILL_WINDOW_MS = 1000;
/** Wall-clock time a capture or a tare may wait for the reading before giving up. */
export const DEFAULT_WAIT_LIMIT_MS = 30_000;
/** After the firmware's TARE: samples from before it settles are not the new zero. */
const AFTER_DEVICE_TARE_MS = 300;
/** A new load must read at least this far from every earlier point (or 5 % of it). */
const NEW_LOAD_MIN_N = 0.5;
const NEW_LOAD_FRACTION = 0.05;

export interface CaptureProgress {
  /** `waiting`: for the reading to move to a new load; `settling`: still at it, gathering. */
  readonly phase: 'waiting' | 'settling';
  /** Share of the still period gathered, 0 to 1. */
  readonly fraction: number;
  /** The reading now, newtons through the device's current conversion (null: no samples). */
  readonly readingN: number | null;
  readonly message: string;
}

export interface TareState {
  readonly raw: number;
  readonly sdRaw: number;
  /** When, ISO 8601. */
  readonly at: string;
  /** Whether the firmware re-zeroed too (hx711 with a device that takes TARE). */
  readonly onDevice: boolean;
}

export interface SessionOptions {
  readonly deviceId: string;
  readonly sensor: SensorKind;
  /** The device's current conversion (default curve or profile): stillness is judged in newtons. */
  readonly toNewtons: (raw: number) => number;
  /** hx711: the firmware's TARE. Absent (fsr, or a device without it): the host's tare alone. */
  readonly tareDevice?: (() => Promise<void>) | undefined;
  readonly settleMs?: number;
  readonly waitLimitMs?: number;
  /** Called whenever the session's state changes: `progress` of a capture, or the `state` itself (tare, points, a capture begun or ended). */
  readonly onChange?: (change: 'progress' | 'state') => void;
}

/**
 * A still reading that disagrees with what the person says is on the tip (a weight left
 * on at the tare, a load typed that is not the one on the tip). They may confirm it.
 */
export class ImplausibleReadingError extends CalibrationError {
  override readonly name = 'ImplausibleReadingError';
}

interface Waiter {
  /** Returns true once done (it has settled its own promise). */
  check(): boolean;
}

export class CalibrationSession {
  readonly deviceId: string;
  readonly sensor: SensorKind;
  readonly #options: SessionOptions;
  readonly #recent = new RecentSamples(10_000);
  readonly #waiters = new Set<Waiter>();
  #tare: TareState | null = null;
  #points: CalibrationPoint[] = [];
  #capture: { readonly load: KnownLoad; progress: CaptureProgress; cancel: (reason: string) => void } | null = null;
  #busyTaring = false;

  constructor(options: SessionOptions) {
    this.deviceId = options.deviceId;
    this.sensor = options.sensor;
    this.#options = options;
  }

  get label(): string {
    return `calibration for device ${this.deviceId}`;
  }

  get tareState(): TareState | null {
    return this.#tare;
  }

  get points(): readonly CalibrationPoint[] {
    return this.#points;
  }

  get capturing(): { readonly load: KnownLoad; readonly progress: CaptureProgress } | null {
    return this.#capture === null ? null : { load: this.#capture.load, progress: this.#capture.progress };
  }

  /** The device's newest samples (device ms, raw counts). */
  feed(tMs: readonly number[], raw: readonly number[]): void {
    if (tMs.length === 0) return;
    this.#recent.push(tMs, raw);
    for (const waiter of [...this.#waiters]) if (waiter.check()) this.#waiters.delete(waiter);
  }

  /** The last still-window's statistics, or null with no samples. */
  current(): WindowStats | null {
    const { tMs, raw } = this.#recent.last(STILL_WINDOW_MS);
    return windowStats(tMs, raw, this.#options.toNewtons);
  }

  /**
   * Zeroes from the mean of the last still second; for an hx711 the firmware re-zeros
   * first. Clears the points (they were measured from the old zero).
   * @param options.confirm tare even though the tip does not look bare
   * @throws ImplausibleReadingError when the tip does not look bare (unless confirmed)
   * @throws CalibrationError when the reading moves, no samples arrive, or the device refuses TARE
   */
  async tare(options: { readonly confirm?: boolean } = {}): Promise<TareState> {
    if (this.#capture !== null) throw new CalibrationError(`${this.label}: a capture is in progress; wait for it (or cancel it), then tare`);
    if (this.#busyTaring) throw new CalibrationError(`${this.label}: a tare is already in progress`);
    this.#busyTaring = true;
    try {
      await this.#waitForReadings();
      let stats = this.#checkStill('tare');
      // Before the firmware's TARE, which would make any weight on the tip its new zero.
      const notBare = options.confirm === true ? null : noLoadProblem(this.sensor, this.#options.toNewtons, stats.meanRaw);
      if (notBare !== null) throw new ImplausibleReadingError(`${this.label}: ${notBare}`);
      const { tareDevice } = this.#options;
      if (tareDevice !== undefined) {
        try {
          await tareDevice();
        } catch (error) {
          throw new CalibrationError(`${this.label}: the device did not tare (${error instanceof Error ? error.message : String(error)}); try again`);
        }
        stats = await this.#waitForStillAfter(this.#recent.latestMs + AFTER_DEVICE_TARE_MS);
      }
      this.#tare = { raw: stats.meanRaw, sdRaw: stats.sdRaw, at: new Date().toISOString(), onDevice: tareDevice !== undefined };
      this.#points = this.sensor === 'hx711' ? [{ raw: stats.meanRaw, forceN: 0, massKg: null, sdRaw: stats.sdRaw, kind: 'zero' }] : [];
      this.#changed();
      return this.#tare;
    } finally {
      this.#busyTaring = false;
    }
  }

  /**
   * Waits for `load` to be on the tip and still, then adds it as a point.
   * @param options.confirm keep the point even though it disagrees with the load typed
   * @throws CalibrationError before waiting (no tare, a load already taken, an FSR at 0 N),
   *   or when the reading does not change or settle in time, settles at full scale, or the capture is cancelled
   * @throws ImplausibleReadingError when the settled reading disagrees grossly with the load typed (unless confirmed)
   */
  capture(load: KnownLoad, onProgress?: (progress: CaptureProgress) => void, options: { readonly confirm?: boolean } = {}): Promise<CalibrationPoint> {
    if (this.#tare === null) return Promise.reject(new CalibrationError(`${this.label}: tare first (nothing on the tip), then capture loads`));
    if (this.#capture !== null || this.#busyTaring) return Promise.reject(new CalibrationError(`${this.label}: a capture or tare is already in progress; wait for it`));
    if (!Number.isFinite(load.forceN) || load.forceN < 0) {
      return Promise.reject(new CalibrationError(`${this.label}: a load of ${load.forceN} N is negative: calibration loads weigh 0 or more`));
    }
    if (this.sensor === 'fsr' && load.forceN === 0) {
      return Promise.reject(new CalibrationError(`${this.label}: 0 N on an FSR is its tare; capture loads heavier than nothing`));
    }
    const same = this.#points.find((point) => Math.abs(point.forceN - load.forceN) < 1e-9);
    if (same !== undefined) {
      return Promise.reject(new CalibrationError(`${this.label}: there is already a point at ${load.forceN.toFixed(2)} N; remove it first to measure that load again`));
    }
    const settleMs = this.#options.settleMs ?? DEFAULT_SETTLE_MS;
    const levelsN = [this.#tare.raw, ...this.#points.map((point) => point.raw)].map((raw) => this.#options.toNewtons(raw));
    let stillSinceMs: number | null = null;
    let lastStats: WindowStats | null = null;

    return new Promise<CalibrationPoint>((resolve, reject) => {
      const waitLimitMs = this.#options.waitLimitMs ?? DEFAULT_WAIT_LIMIT_MS;
      let progress: CaptureProgress = { phase: 'waiting', fraction: 0, readingN: null, message: 'waiting for the load' };
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        this.#capture = null;
        this.#changed();
      };
      const timer = setTimeout(() => {
        finish();
        const waiting = progress.phase === 'waiting';
        reject(
          new CalibrationError(
            waiting
              ? `${this.label}: the reading did not move to a new load within ${waitLimitMs / 1000} s (it reads ${formatN(lastStats?.meanN)}, as an earlier point did): put the load on the tip, then capture again`
              : `${this.label}: the reading did not settle within ${waitLimitMs / 1000} s (${lastStats === null ? 'no readings' : describeMotion(lastStats)}): let the load rest without touching it, then capture again`,
          ),
        );
      }, waitLimitMs);
      // Listeners hear of a new reason to wait, and of each 5 % of the bar, not of every sample.
      let reason = '';
      const report = (next: CaptureProgress, nextReason: string): void => {
        const changed = nextReason !== reason || Math.abs(next.fraction - progress.fraction) >= 0.05 || (next.fraction === 1 && progress.fraction < 1);
        reason = nextReason;
        progress = next;
        if (this.#capture !== null) this.#capture.progress = next;
        if (changed) {
          onProgress?.(next);
          this.#changed('progress');
        }
      };
      const waiter: Waiter = {
        check: () => {
          const stats = this.current();
          lastStats = stats;
          const latestMs = this.#recent.latestMs;
          if (stats === null) return false;
          const atEarlierLevel = levelsN.find((levelN) => Math.abs(stats.meanN - levelN) <= Math.max(NEW_LOAD_MIN_N, NEW_LOAD_FRACTION * Math.abs(levelN), toleranceAt(levelN)));
          if (!stats.still || atEarlierLevel !== undefined) {
            stillSinceMs = null;
            report(
              {
                phase: 'waiting',
                fraction: 0,
                readingN: stats.meanN,
                message: atEarlierLevel !== undefined ? `waiting for the load: the reading is at an earlier point's (${formatN(atEarlierLevel)})` : 'waiting for the reading to settle',
              },
              atEarlierLevel !== undefined ? 'earlier' : 'moving',
            );
            return false;
          }
          stillSinceMs ??= latestMs - STILL_WINDOW_MS;
          const fraction = Math.min((latestMs - stillSinceMs) / settleMs, 1);
          report({ phase: 'settling', fraction, readingN: stats.meanN, message: `settling at ${formatN(stats.meanN)}` }, 'settling');
          if (fraction < 1) return false;
          const { tMs, raw } = this.#recent.last(settleMs);
          const period = windowStats(tMs, raw, this.#options.toNewtons);
          if (period?.still !== true) {
            // Slow drift across the whole period (creep, a sagging support): start over.
            stillSinceMs = null;
            return false;
          }
          const refusal = this.#refusal(load, period.meanRaw, options.confirm === true);
          const point: CalibrationPoint = { raw: period.meanRaw, forceN: load.forceN, massKg: load.massKg, sdRaw: period.sdRaw, kind: 'load' };
          if (refusal === null) this.#points = [...this.#points, point];
          finish();
          if (refusal === null) resolve(point);
          else reject(refusal);
          return true;
        },
      };
      this.#capture = {
        load,
        progress,
        cancel: (reason) => {
          finish();
          reject(new CalibrationError(`${this.label}: ${reason}`));
        },
      };
      this.#waiters.add(waiter);
      this.#changed();
    });
  }

  /** Stops a capture in progress (its promise rejects); does nothing when none runs. */
  cancelCapture(reason = 'the capture was cancelled'): void {
    this.#capture?.cancel(reason);
  }

  /** @throws CalibrationError for an index with no point */
  removePoint(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.#points.length) {
      throw new CalibrationError(`${this.label}: there is no point ${index + 1} (there ${this.#points.length === 1 ? 'is 1 point' : `are ${this.#points.length} points`})`);
    }
    this.#points = this.#points.filter((_, other) => other !== index);
    this.#changed();
  }

  /** Forgets the tare and every point. */
  reset(): void {
    this.cancelCapture('the calibration was started over');
    this.#tare = null;
    this.#points = [];
    this.#changed();
  }

  /** @throws CalibrationError when the points cannot give a fit (naming why) */
  fit(): FitResult {
    if (this.#tare === null) throw new CalibrationError(`${this.label}: tare first (nothing on the tip), then capture at least 2 loads`);
    return fitCalibration({ sensor: this.sensor, tareRaw: this.#tare.raw, points: this.#points }, this.label);
  }

  /** Stops everything waiting (the device went away); pending promises reject. */
  close(reason = 'the device stopped'): void {
    this.cancelCapture(reason);
    this.#waiters.clear();
  }

  /** Why a load that settled at `raw` cannot be kept as a point, or null. */
  #refusal(load: KnownLoad, raw: number, confirmed: boolean): CalibrationError | null {
    const { max } = SENSOR_RAW_RANGE[this.sensor];
    if (raw >= max - 0.5) {
      return new CalibrationError(`${this.label}: the reading settled at full scale (${raw.toFixed(1)} of ${max} counts: the sensor is saturated), so it cannot tell this load: use a lighter one`);
    }
    if (confirmed || this.#tare === null) return null;
    const problem = loadProblem({ sensor: this.sensor, toNewtons: this.#options.toNewtons, tareRaw: this.#tare.raw, points: this.#points }, load, raw);
    return problem === null ? null : new ImplausibleReadingError(`${this.label}: ${problem}`);
  }

  #checkStill(what: string): WindowStats {
    const stats = this.current();
    if (stats === null || stats.samples < 6 || stats.spanMs < STILL_WINDOW_MS / 2) {
      throw new CalibrationError(`${this.label}: no readings from the device in the last second, so nothing to ${what} on; check that it is connected and streaming`);
    }
    if (!stats.still) {
      throw new CalibrationError(`${this.label}: the reading is moving (${describeMotion(stats)}): let the tip rest with nothing on it, then ${what} again`);
    }
    return stats;
  }

  /** Resolves once a full still-window of readings is there to judge (at once, normally; a device just opened needs a second). */
  #waitForReadings(): Promise<void> {
    const full = (): boolean => {
      const stats = this.current();
      return stats !== null && stats.spanMs >= STILL_WINDOW_MS * 0.9;
    };
    if (full()) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        check: () => {
          if (!full()) return false;
          clearTimeout(timer);
          resolve();
          return true;
        },
      };
      // No readings in time: resolve anyway, and the check that follows says there are none.
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve();
      }, Math.min(this.#options.waitLimitMs ?? DEFAULT_WAIT_LIMIT_MS, 5000));
      this.#waiters.add(waiter);
    });
  }

  /** A still window made only of samples after `afterMs` (device time). */
  #waitForStillAfter(afterMs: number): Promise<WindowStats> {
    const waitLimitMs = this.#options.waitLimitMs ?? DEFAULT_WAIT_LIMIT_MS;
    return new Promise((resolve, reject) => {
      let last: WindowStats | null = null;
      const waiter: Waiter = {
        check: () => {
          if (this.#recent.latestMs - afterMs < STILL_WINDOW_MS) return false;
          const { tMs, raw } = this.#recent.last(STILL_WINDOW_MS, afterMs);
          last = windowStats(tMs, raw, this.#options.toNewtons);
          if (last?.still !== true) return false;
          clearTimeout(timer);
          resolve(last);
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new CalibrationError(`${this.label}: the reading did not settle after the device's tare (${last === null ? 'no readings' : describeMotion(last)}): let the tip rest, then tare again`));
      }, waitLimitMs);
      this.#waiters.add(waiter);
    });
  }

  #changed(change: 'progress' | 'state' = 'state'): void {
    this.#options.onChange?.(change);
  }
}

function formatN(forceN: number | null | undefined): string {
  return forceN === null || forceN === undefined ? 'nothing' : `${forceN.toFixed(2)} N`;
}
