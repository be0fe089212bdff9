/**
 * Session cutting: where a device's recorded sessions start and end. Samples on device
 * time and the device's link changes in, session starts (with their pre-roll), the
 * samples each session keeps and session ends (with why) out. Pure: no clock, no I/O, no
 * timers; the caller passes wall-clock time with the link changes (`link`, `tick`). The
 * same samples in any chunking give the same steps (samples grouped otherwise).
 *
 *   const cutter = new SessionCutter({ pressN: config.bandLowN, idleMs: 300_000 });
 *   for (const step of cutter.pushBatch({ tMs, forceN, raw })) record(step);
 *   cutter.link('disconnected', Date.now());   // then, now and again: cutter.tick(Date.now())
 *   cutter.finish();                           // the session going on ends
 *
 * Pipeline position: recorder (fan-out -> **session cutter** -> recorder's writes).
 *
 * The rules (which sample starts and ends a session, the pre-roll, the grace for a
 * reconnection, replays): docs/design/session-cutting.md.
 */

/** Samples as parallel arrays; `raw` is carried along untouched. */
export interface CutterSamples {
  readonly tMs: readonly number[];
  readonly forceN: readonly number[];
  readonly raw: readonly number[];
}

/** Why a session ended. */
export type SessionEndReason = 'idle' | 'stopped' | 'gone' | 'restarted' | 'finished';

export type CutStep =
  /** A session starts: `startMs` is its press (or, whole-data, its first sample); `preRoll` the samples kept from before it. */
  | { readonly type: 'started'; readonly startMs: number; readonly originMs: number; readonly preRoll: CutterSamples }
  /** Samples of the session going on, in time order (the first after `started` is the press). */
  | { readonly type: 'samples'; readonly samples: CutterSamples }
  /** The session going on ended; its last sample was at `lastMs`. */
  | { readonly type: 'ended'; readonly reason: SessionEndReason; readonly lastMs: number };

export type LinkState = 'connected' | 'disconnected' | 'stopped';

export interface SessionRules {
  /** A press: a sample at or above this force (the engine's `bandLowN`). */
  readonly pressN: number;
  /** No press for this long (device time) ends a session. */
  readonly idleMs: number;
  readonly preRollMs?: number;
  readonly reconnectGraceMs?: number;
  /** One session from the first sample to the last (a replay). */
  readonly wholeData?: boolean;
}

/** How much of the approach a session keeps from before its first press. */
export const PRE_ROLL_MS = 1000;
/** Default idle time that ends a session: no press for 5 minutes. */
export const DEFAULT_SESSION_IDLE_MS = 300_000;
/** A device disconnected for this long (wall clock) has gone: its session ends. */
export const RECONNECT_GRACE_MS = 30_000;

/** The samples before a press that may become its pre-roll: bounded to `preRollMs` of them. */
class PreRoll {
  tMs: number[] = [];
  forceN: number[] = [];
  raw: number[] = [];
  #head = 0;

  add(tMs: number, forceN: number, raw: number): void {
    this.tMs.push(tMs);
    this.forceN.push(forceN);
    this.raw.push(raw);
  }

  /** Forgets what came before `keepFromMs` (amortised constant work per sample). */
  trim(keepFromMs: number): void {
    while (this.#head < this.tMs.length && (this.tMs[this.#head] as number) < keepFromMs) this.#head++;
    if (this.#head > 64 && this.#head * 2 > this.tMs.length) this.#compact();
  }

  /** The samples kept, and empties it. */
  take(): CutterSamples {
    this.#compact();
    const taken = { tMs: this.tMs, forceN: this.forceN, raw: this.raw };
    this.clear();
    return taken;
  }

  clear(): void {
    this.tMs = [];
    this.forceN = [];
    this.raw = [];
    this.#head = 0;
  }

  #compact(): void {
    if (this.#head === 0) return;
    this.tMs.splice(0, this.#head);
    this.forceN.splice(0, this.#head);
    this.raw.splice(0, this.#head);
    this.#head = 0;
  }
}

function slice(samples: CutterSamples, from: number, to: number): CutterSamples {
  return { tMs: samples.tMs.slice(from, to), forceN: samples.forceN.slice(from, to), raw: samples.raw.slice(from, to) };
}

function checkedDuration(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`session rules: ${name} must be a finite number of ms, 0 or more (got ${value})`);
  return value;
}

export class SessionCutter {
  #pressN: number;
  readonly #idleMs: number;
  readonly #preRollMs: number;
  readonly #graceMs: number;
  readonly #wholeData: boolean;
  readonly #preRoll = new PreRoll();
  #lastTMs = Number.NEGATIVE_INFINITY;
  #inSession = false;
  #lastPressMs = Number.NEGATIVE_INFINITY;
  /** Wall-clock ms since which the device is disconnected; null while attached. */
  #disconnectedAtMs: number | null = null;
  #finished = false;

  /** @throws TypeError naming the rule when one is not a number it can use. */
  constructor(rules: SessionRules) {
    if (!Number.isFinite(rules.pressN)) throw new TypeError(`session rules: pressN must be a finite force in N (got ${rules.pressN})`);
    this.#pressN = rules.pressN;
    this.#idleMs = checkedDuration('idleMs', rules.idleMs);
    this.#preRollMs = checkedDuration('preRollMs', rules.preRollMs ?? PRE_ROLL_MS);
    this.#graceMs = checkedDuration('reconnectGraceMs', rules.reconnectGraceMs ?? RECONNECT_GRACE_MS);
    this.#wholeData = rules.wholeData ?? false;
  }

  /** Whether a session is going on. */
  get inSession(): boolean {
    return this.#inSession;
  }

  /** The press force changed (another preset): later samples are judged by it. */
  setPressN(pressN: number): void {
    if (!Number.isFinite(pressN)) throw new RangeError(`a press force must be finite (got ${pressN})`);
    this.#pressN = pressN;
  }

  /**
   * Feeds samples in time order. A time before the last one means the device's clock started
   * again (it restarted): the session going on ends there, and what came before is forgotten.
   * @throws RangeError when a time or force is not finite, or the arrays differ in length.
   */
  pushBatch(samples: CutterSamples): CutStep[] {
    if (this.#finished) throw new Error('the session cutter has finished (end of data): create a new one for more samples');
    const { tMs, forceN, raw } = samples;
    if (tMs.length !== forceN.length || tMs.length !== raw.length) {
      throw new RangeError(`a sample batch needs as many forces and raw values as times (got ${tMs.length} times, ${forceN.length} forces, ${raw.length} raw)`);
    }
    const steps: CutStep[] = [];
    /** First sample of the batch not yet given out in a step (the session's) or to the pre-roll. */
    let from = 0;
    for (let index = 0; index < tMs.length; index++) {
      const t = tMs[index] as number;
      const force = forceN[index] as number;
      if (!Number.isFinite(t) || !Number.isFinite(force)) throw new RangeError(`a sample needs a finite time and force (got tMs ${t}, forceN ${force})`);
      if (t < this.#lastTMs) {
        if (this.#inSession) this.#emitSamples(samples, from, index, steps);
        else this.#keepForPreRoll(samples, from, index);
        from = index;
        this.#restart(steps);
      }
      this.#lastTMs = t;
      const pressed = force >= this.#pressN;
      if (!this.#inSession) {
        if (!pressed && !this.#wholeData) continue;
        this.#keepForPreRoll(samples, from, index);
        from = index;
        this.#preRoll.trim(t - this.#preRollMs);
        const preRoll = this.#wholeData ? { tMs: [], forceN: [], raw: [] } : this.#preRoll.take();
        this.#preRoll.clear();
        steps.push({ type: 'started', startMs: t, originMs: preRoll.tMs[0] ?? t, preRoll });
        this.#inSession = true;
        this.#lastPressMs = t;
      } else if (pressed) {
        this.#lastPressMs = t;
      } else if (!this.#wholeData && t - this.#lastPressMs >= this.#idleMs) {
        this.#emitSamples(samples, from, index + 1, steps);
        from = index + 1;
        this.#end('idle', steps);
      }
    }
    if (this.#inSession) this.#emitSamples(samples, from, tMs.length, steps);
    else this.#keepForPreRoll(samples, from, tMs.length);
    return steps;
  }

  /**
   * The device's link changed at wall-clock `nowMs`. A stop ends the session; a
   * disconnection ends it once it has lasted the grace (checked here and by `tick`).
   */
  link(state: LinkState, nowMs: number): CutStep[] {
    const steps = this.tick(nowMs);
    if (state === 'stopped') {
      this.#disconnectedAtMs = null;
      this.#end('stopped', steps);
    } else if (state === 'disconnected') {
      this.#disconnectedAtMs ??= nowMs;
    } else {
      this.#disconnectedAtMs = null;
    }
    return steps;
  }

  /** Wall-clock time passes: a device disconnected for the grace or longer has gone. */
  tick(nowMs: number): CutStep[] {
    const steps: CutStep[] = [];
    if (this.#disconnectedAtMs !== null && nowMs - this.#disconnectedAtMs >= this.#graceMs) {
      this.#disconnectedAtMs = null;
      this.#end('gone', steps);
    }
    return steps;
  }

  /** The device restarted (its clock starts again): the session going on ends, the pre-roll is forgotten. */
  restart(): CutStep[] {
    const steps: CutStep[] = [];
    this.#restart(steps);
    return steps;
  }

  /** End of data: the session going on ends. The cutter takes no samples afterwards. */
  finish(): CutStep[] {
    const steps: CutStep[] = [];
    if (this.#finished) return steps;
    this.#finished = true;
    this.#end('finished', steps);
    return steps;
  }

  #restart(steps: CutStep[]): void {
    this.#end('restarted', steps);
    this.#preRoll.clear();
    this.#lastTMs = Number.NEGATIVE_INFINITY;
  }

  #end(reason: SessionEndReason, steps: CutStep[]): void {
    if (!this.#inSession) return;
    this.#inSession = false;
    this.#lastPressMs = Number.NEGATIVE_INFINITY;
    steps.push({ type: 'ended', reason, lastMs: this.#lastTMs });
  }

  #emitSamples(samples: CutterSamples, from: number, to: number, steps: CutStep[]): void {
    if (to > from) steps.push({ type: 'samples', samples: slice(samples, from, to) });
  }

  #keepForPreRoll(samples: CutterSamples, from: number, to: number): void {
    if (to <= from || this.#wholeData) return;
    for (let index = from; index < to; index++) this.#preRoll.add(samples.tMs[index] as number, samples.forceN[index] as number, samples.raw[index] as number);
    this.#preRoll.trim((samples.tMs[to - 1] as number) - this.#preRollMs);
  }
}
