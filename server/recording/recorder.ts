/**
 * The recorder: one more listener on every device's pipeline, beside the live
 * broadcaster. Each device's `SessionCutter` says where its sessions start and end (the
 * rules are there, pure); the recorder keeps every hold and warning the engine finds
 * (holds labelled with body area and knot) in the session it started in, and writes them
 * with the raw and calibrated samples to the session store in one transaction per flush.
 *
 * Never in the way: listener calls only append to memory and return; a timer flushes
 * every 200 ms, so at most a quarter of a second of samples waits in memory and a kill -9
 * loses no more than that. A write that fails (read-only file, full disk, PostgreSQL
 * down) does not reach the pipeline: the recorder reports the error (the dashboard shows
 * it), keeps what it could not write in memory (samples up to a bound, the oldest
 * dropped beyond it; holds and warnings), and retries every few seconds, so recording
 * resumes by itself once the cause is fixed, losing nothing within the bound.
 *
 * Pipeline position: fan-out -> **recorder** (session cutter inside) -> session store.
 */
import type { EngineEvent, HoldResult, WarningResult } from '../engine/results.ts';
import type { DeviceInfo, DeviceStatus, LabelHold, RecorderStatus } from '../contract/live-events.ts';
import type { Logger } from '../log.ts';
import type { PipelineListener, Readings } from '../pipeline.ts';
import { NO_LABEL, type HoldLabel } from '../contract/records.ts';
import { describePostgresError, isPostgresUrl } from './postgres/postgres-store.ts';
import { DEFAULT_SESSION_IDLE_MS, SessionCutter, type CutStep, type CutterSamples } from './session-cutter.ts';
import { CHUNK_MAX_SAMPLES, CHUNK_MAX_SPAN_MS, type HoldWrite, type SampleChunk, type SessionHandle, type SessionStore, type SessionWrite, type WarningWrite } from './store.ts';

/** Flush period: samples wait at most this long (plus one event-loop turn) before they are written. */
export const FLUSH_INTERVAL_MS = 200;
/** After a failed write, the next try comes this much later (not at every flush). */
export const RETRY_INTERVAL_MS = 3000;
/** Holds and warnings kept for the next try while writes fail. */
const MAX_PENDING_RESULTS = 10_000;
/** Samples kept in memory while writes fail (20 bytes each: about 48 MB), a minute of 40 devices at 1 kHz. */
export const DEFAULT_BUFFER_SAMPLES = 2_400_000;

export interface RecorderOptions {
  readonly store: SessionStore;
  readonly sessionIdleMs?: number;
  readonly logger: Logger;
  /** Called whenever what `status()` returns changes. */
  readonly onStatus?: (status: RecorderStatus) => void;
  /** Wall clock, Unix ms (tests may pin it). */
  readonly nowMs?: () => number;
  /** The most samples kept in memory while writes fail (default DEFAULT_BUFFER_SAMPLES). */
  readonly bufferSamples?: number;
}

type SampleRun = CutterSamples;

/** A session of one device, from its first sample until its last write. */
interface RecordingSession {
  readonly handle: SessionHandle;
  readonly originMs: number;
  /** Samples since the last flush (device time, not yet relative). */
  pending: SampleRun[];
  /** Chunks a failed write could not store, oldest first: written before `pending`. */
  unwritten: SampleChunk[];
  holds: HoldWrite[];
  warnings: WarningWrite[];
  nextHoldIndex: number;
  nextWarningIndex: number;
  /** Index of the warning still open, if any. */
  openWarningIndex: number | null;
  lastTMs: number;
  end: SessionWrite['end'];
  /** The label its holds get (set from the dashboard while it runs). */
  label: HoldLabel;
}

interface DeviceState {
  info: DeviceInfo | null;
  /** Made at the device's first info (a recording played back is cut otherwise: one whole session). */
  cutter: SessionCutter | null;
  session: RecordingSession | null;
  /** The session that ended last: late engine events (the hold a stopped device was in) go there. */
  previous: RecordingSession | null;
  /** The label for the next session's holds, when set between sessions. */
  label: HoldLabel;
}

/** What went wrong with the database, in words, with what to do. */
export function describeStoreError(location: string, error: unknown, meanwhile = 'this is not being recorded.'): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  let why: string;
  const syscall = (error as { syscall?: unknown } | null)?.syscall;
  if (error instanceof Error && error.name === 'DatabaseInUseError') why = message;
  else if (isPostgresUrl(location)) why = describePostgresError(error);
  else if (syscall === 'mkdir' && (code === 'EEXIST' || code === 'ENOTDIR')) {
    why = `its folder ${String((error as { path?: unknown }).path)} cannot be made (it, or a folder above it, is a file): restart with --db and a path in a folder`;
  } else if (code === 'SQLITE_READONLY' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || /readonly|read-only/i.test(message)) {
    why = 'the database is read-only: make the file and its folder writable, or restart with --db and a writable path';
  } else if (code === 'SQLITE_FULL' || /disk is full|ENOSPC/i.test(message)) why = 'the disk is full: free some space and recording resumes by itself';
  else if (code === 'SQLITE_CANTOPEN' || /unable to open/i.test(message)) {
    why = 'the database file cannot be opened: check that its folder exists and is writable, or restart with --db and another path';
  } else why = `${message}: check the file, or restart with --db and another path`;
  return `cannot record sessions in ${location}: ${why}. Live view and alerts go on; ${meanwhile}`;
}

export class Recorder implements PipelineListener {
  readonly #store: SessionStore;
  readonly #idleMs: number;
  readonly #logger: Logger;
  readonly #onStatus: (status: RecorderStatus) => void;
  readonly #nowMs: () => number;
  readonly #bufferSamples: number;
  readonly #devices = new Map<string, DeviceState>();
  /** Sessions with something not yet written (an ended one stays until its end is written). */
  readonly #dirty = new Set<RecordingSession>();
  readonly #timer: NodeJS.Timeout;
  #error: string | null = null;
  #retryAtMs = 0;
  /** `recoverInterrupted` failed (the store was down at start): done first by every flush until it succeeds. */
  #interruptedPending = false;
  #writing: Promise<void> | null = null;
  #closed = false;
  /** Samples dropped because they could not be written, since the start. */
  droppedSamples = 0;

  constructor(options: RecorderOptions) {
    this.#store = options.store;
    this.#idleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.#logger = options.logger;
    this.#onStatus = options.onStatus ?? (() => undefined);
    this.#nowMs = options.nowMs ?? Date.now;
    this.#bufferSamples = options.bufferSamples ?? DEFAULT_BUFFER_SAMPLES;
    this.#timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  /** Marks sessions a previous run left `recording` (it died) as `interrupted`; reports a store that cannot be written. */
  async recoverInterrupted(): Promise<number[]> {
    try {
      return await this.#markInterrupted();
    } catch (error) {
      // Retried by the flushes, before they write anything of this run (see `flush`).
      this.#interruptedPending = true;
      this.#fail(error);
      return [];
    }
  }

  async #markInterrupted(): Promise<number[]> {
    const ids = await this.#store.markInterrupted();
    this.#interruptedPending = false;
    if (ids.length > 0) this.#logger.warn({ sessions: ids }, 'sessions left recording by a previous run are marked interrupted');
    return ids;
  }

  status(): RecorderStatus {
    return {
      state: this.#error === null ? 'recording' : 'error',
      database: this.#store.location,
      error: this.#error,
      ...(this.#error === null ? {} : { buffered: { samples: this.#bufferedSamples(), capacitySamples: this.#bufferSamples, droppedSamples: this.droppedSamples } }),
      devices: [...this.#devices].map(([deviceId, device]) => ({ deviceId, sessionId: device.session?.handle.id ?? null, label: device.label })),
    };
  }

  /** Whether a session is still being recorded, or has writes waiting (it cannot be deleted then). */
  isRecording(sessionId: number): boolean {
    return [...this.#devices.values()].some((device) => device.session?.handle.id === sessionId) || [...this.#dirty].some((session) => session.handle.id === sessionId);
  }

  /**
   * Labels a device's holds: the one in progress (it is written when it ends) and every
   * later one of this session. @throws Error naming the device when there is none such.
   */
  labelHolds(request: LabelHold): void {
    const device = this.#devices.get(request.deviceId);
    if (device === undefined || device.info === null) throw new Error(`no device ${request.deviceId} on this server`);
    device.label = { bodyArea: request.bodyArea, knot: request.knot };
    if (device.session !== null) device.session.label = device.label;
    this.#statusChanged();
  }

  onInfo(info: DeviceInfo): void {
    const device = this.#device(info.deviceId);
    device.info = info;
    if (device.cutter === null) device.cutter = new SessionCutter({ pressN: info.engineConfig.bandLowN, idleMs: this.#idleMs, wholeData: info.capabilities.playsRecording });
    else device.cutter.setPressN(info.engineConfig.bandLowN);
    this.#statusChanged();
  }

  onStatus(status: DeviceStatus): void {
    const device = this.#devices.get(status.deviceId);
    const cutter = device?.cutter ?? null;
    if (device === undefined || cutter === null || status.state === 'connecting') return;
    this.#follow(device, cutter.link(status.state, this.#nowMs()));
  }

  /** Ends the sessions of devices unplugged for longer than the grace period. */
  #endSessionsOfGoneDevices(): void {
    const nowMs = this.#nowMs();
    for (const device of this.#devices.values()) if (device.cutter !== null) this.#follow(device, device.cutter.tick(nowMs));
  }

  onSession(): void {
    // Nothing to do: the recorder follows the engine's events, which a restart also sends.
  }

  onReadings(deviceId: string, readings: Readings): void {
    if (readings.tMs.length === 0 || this.#closed) return;
    const device = this.#device(deviceId);
    // A device is known (onInfo) before its first samples; without that there is nothing to file them under.
    if (device.info === null || device.cutter === null) return;
    this.#follow(device, device.cutter.pushBatch(readings));
  }

  /** Does what the cutter decided: starts sessions, files their samples, ends them. */
  #follow(device: DeviceState, steps: readonly CutStep[]): void {
    for (const step of steps) {
      if (step.type === 'started') {
        if (device.info === null) continue;
        this.#startSession(device, device.info, step.originMs, step.startMs - step.originMs);
        this.#append(device, step.preRoll);
      } else if (step.type === 'samples') {
        this.#append(device, step.samples);
      } else {
        this.#endSession(device);
      }
    }
  }

  onEngineEvents(deviceId: string, events: readonly EngineEvent[]): void {
    const device = this.#device(deviceId);
    for (const event of events) {
      if (event.type === 'hold.ended') this.#recordHold(device, event.hold);
      else if (event.type === 'over.started' || event.type === 'over.ended') this.#recordWarning(device, event.warning, event.type === 'over.ended');
    }
  }

  /**
   * Writes what has accumulated. Never throws: a failure becomes the recorder's error
   * state. Resolves once the write is done (or skipped while a failed store waits for
   * its retry).
   */
  async flush(force = false): Promise<void> {
    this.#endSessionsOfGoneDevices();
    if (this.#writing !== null) return this.#writing;
    if (this.#dirty.size === 0 && !this.#interruptedPending) return;
    if (this.#error !== null && !force && this.#nowMs() < this.#retryAtMs) {
      this.#bufferPending();
      return;
    }
    const sessions = [...this.#dirty];
    const writes = sessions.map((session) => this.#takeWrite(session));
    const hadIds = sessions.map((session) => session.handle.id);
    this.#writing = (async () => {
      try {
        // First, so a SQLite file (which marks every open session) never marks one of this run.
        if (this.#interruptedPending) await this.#markInterrupted();
        await this.#store.commit(writes);
        for (const [index, session] of sessions.entries()) {
          const write = writes[index];
          if (write === undefined) continue;
          session.holds = session.holds.filter((hold) => !write.holds.includes(hold));
          session.warnings = session.warnings.filter((warning) => !write.warnings.includes(warning));
          if (write.end !== null) session.end = null;
          if (session.pending.length === 0 && session.unwritten.length === 0 && session.holds.length === 0 && session.warnings.length === 0 && session.end === null) this.#dirty.delete(session);
        }
        const recovered = this.#error !== null;
        if (recovered) {
          this.#error = null;
          this.#logger.info({ database: this.#store.location }, 'recording again');
        }
        if (recovered || sessions.some((session, index) => hadIds[index] !== session.handle.id)) this.#statusChanged();
      } catch (error) {
        // Everything taken stays for the next try, the samples within the buffer's bound.
        for (const [index, session] of sessions.entries()) session.unwritten = [...(writes[index]?.samples ?? []), ...session.unwritten];
        this.#bufferPending();
        this.#fail(error);
      } finally {
        this.#writing = null;
      }
    })();
    return this.#writing;
  }

  /** Ends every session (the server is stopping), writes what is left and stops the timer; the store stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const device of this.#devices.values()) if (device.cutter !== null) this.#follow(device, device.cutter.finish());
    await this.#writing;
    await this.flush(true);
  }

  #device(deviceId: string): DeviceState {
    let device = this.#devices.get(deviceId);
    if (device === undefined) {
      device = { info: null, cutter: null, session: null, previous: null, label: NO_LABEL };
      this.#devices.set(deviceId, device);
    }
    return device;
  }

  #startSession(device: DeviceState, info: DeviceInfo, originMs: number, preRollMs: number): void {
    const session: RecordingSession = {
      handle: {
        id: null,
        session: {
          deviceId: info.deviceId,
          spec: info.spec,
          transport: info.transport,
          sensor: info.sensor,
          preset: info.preset,
          engineConfig: info.engineConfig,
          startedAtMs: this.#nowMs() - preRollMs,
          firstDeviceMs: originMs,
        },
      },
      originMs,
      pending: [],
      unwritten: [],
      holds: [],
      warnings: [],
      nextHoldIndex: 0,
      nextWarningIndex: 0,
      openWarningIndex: null,
      lastTMs: originMs,
      end: null,
      label: device.label,
    };
    device.session = session;
    this.#dirty.add(session);
    this.#logger.info({ deviceId: session.handle.session.deviceId }, 'session started');
    this.#statusChanged();
  }

  /** Ends a device's session as `complete` (`interrupted` is for what a dead server left, found at the next start). */
  #endSession(device: DeviceState): void {
    const session = device.session;
    if (session === null) return;
    session.end = { status: 'complete', endedAtMs: this.#nowMs() };
    this.#dirty.add(session);
    device.previous = session;
    device.session = null;
    device.label = NO_LABEL;
    this.#logger.info({ deviceId: session.handle.session.deviceId, sessionId: session.handle.id }, 'session ended');
    this.#statusChanged();
  }

  #append(device: DeviceState, run: SampleRun): void {
    const session = device.session;
    if (session === null || run.tMs.length === 0) return;
    session.pending.push(run);
    session.lastTMs = run.tMs[run.tMs.length - 1] as number;
    this.#dirty.add(session);
  }

  /** The session an engine result belongs to: the one it started in. */
  #sessionAt(device: DeviceState, startMs: number): RecordingSession | null {
    if (device.session !== null && startMs >= device.session.originMs) return device.session;
    if (device.previous !== null && startMs >= device.previous.originMs) return device.previous;
    return null;
  }

  #recordHold(device: DeviceState, hold: HoldResult): void {
    const session = this.#sessionAt(device, hold.startMs);
    if (session === null) return;
    const originMs = session.originMs;
    session.holds.push({
      index: session.nextHoldIndex++,
      hold: { ...hold, startMs: hold.startMs - originMs, endMs: hold.endMs - originMs },
      targetHoldMs: device.info?.engineConfig.targetHoldMs ?? session.handle.session.engineConfig.targetHoldMs,
      label: session.label,
    });
    this.#keepBounded(session);
    this.#dirty.add(session);
  }

  #recordWarning(device: DeviceState, warning: WarningResult, ended: boolean): void {
    const session = this.#sessionAt(device, warning.startMs);
    if (session === null) return;
    const originMs = session.originMs;
    const index = session.openWarningIndex ?? session.nextWarningIndex++;
    session.openWarningIndex = ended ? null : index;
    session.warnings.push({
      index,
      warning: { ...warning, startMs: warning.startMs - originMs, alertMs: warning.alertMs - originMs, endMs: warning.endMs === null ? null : warning.endMs - originMs },
    });
    this.#keepBounded(session);
    this.#dirty.add(session);
  }

  #keepBounded(session: RecordingSession): void {
    if (session.holds.length > MAX_PENDING_RESULTS) session.holds.shift();
    if (session.warnings.length > MAX_PENDING_RESULTS) session.warnings.shift();
  }

  /** Takes a session's pending samples as stored chunks (times relative to its first sample). */
  #takeWrite(session: RecordingSession): SessionWrite {
    const samples = [...session.unwritten, ...toChunks(session.pending, session.originMs)];
    session.pending = [];
    session.unwritten = [];
    return { handle: session.handle, samples, holds: [...session.holds], warnings: [...session.warnings], durationMs: session.lastTMs - session.originMs, end: session.end };
  }

  /** While writes fail: pending samples become chunks to write later, the oldest dropped beyond the bound. */
  #bufferPending(): void {
    for (const session of this.#dirty) {
      if (session.pending.length === 0) continue;
      session.unwritten.push(...toChunks(session.pending, session.originMs));
      session.pending = [];
    }
    let excess = this.#bufferedSamples() - this.#bufferSamples;
    while (excess > 0) {
      // From the session holding the most: each device keeps an equal share of the bound.
      let fullest: RecordingSession | null = null;
      for (const session of this.#dirty) if (fullest === null || samplesIn(session.unwritten) > samplesIn(fullest.unwritten)) fullest = session;
      const dropped = fullest?.unwritten.shift();
      if (dropped === undefined) return;
      this.droppedSamples += dropped.tMs.length;
      excess -= dropped.tMs.length;
    }
  }

  #bufferedSamples(): number {
    let samples = 0;
    for (const session of this.#dirty) samples += samplesIn(session.unwritten) + session.pending.reduce((sum, run) => sum + run.tMs.length, 0);
    return samples;
  }

  #fail(error: unknown): void {
    const meanwhile = `up to ${this.#bufferSamples} samples (${Number((this.#bufferSamples / 40_000).toPrecision(2))} s of 40 devices at 1 kHz) wait in memory and are written when it works again; beyond that the oldest are dropped.`;
    const message = describeStoreError(this.#store.location, error, meanwhile);
    this.#retryAtMs = this.#nowMs() + RETRY_INTERVAL_MS;
    if (message !== this.#error) {
      this.#error = message;
      this.#logger.error({ err: error }, message);
    }
    // Also when only the buffer changed: the header shows how full it is.
    this.#statusChanged();
  }

  #statusChanged(): void {
    try {
      this.#onStatus(this.status());
    } catch (error) {
      this.#logger.error({ err: error }, 'the recorder status listener failed');
    }
  }
}

function samplesIn(chunks: readonly SampleChunk[]): number {
  return chunks.reduce((sum, chunk) => sum + chunk.tMs.length, 0);
}

/** Runs of samples as chunks of at most CHUNK_MAX_SAMPLES spanning at most CHUNK_MAX_SPAN_MS. */
export function toChunks(runs: readonly SampleRun[], originMs: number): SampleChunk[] {
  const total = runs.reduce((sum, run) => sum + run.tMs.length, 0);
  const chunks: SampleChunk[] = [];
  let tMs = new Float64Array(Math.min(total, CHUNK_MAX_SAMPLES));
  let forceN = new Float64Array(tMs.length);
  let raw = new Int32Array(tMs.length);
  let filled = 0;
  let left = total;
  const close = (): void => {
    chunks.push({ tMs: tMs.subarray(0, filled), forceN: forceN.subarray(0, filled), raw: raw.subarray(0, filled) });
    left -= filled;
    filled = 0;
    tMs = new Float64Array(Math.min(left, CHUNK_MAX_SAMPLES));
    forceN = new Float64Array(tMs.length);
    raw = new Int32Array(tMs.length);
  };
  for (const run of runs) {
    for (let index = 0; index < run.tMs.length; index++) {
      const relativeMs = (run.tMs[index] as number) - originMs;
      if (filled > 0 && (filled === tMs.length || relativeMs - (tMs[0] as number) > CHUNK_MAX_SPAN_MS)) close();
      tMs[filled] = relativeMs;
      forceN[filled] = run.forceN[index] as number;
      raw[filled] = run.raw[index] as number;
      filled++;
    }
  }
  if (filled > 0) close();
  return chunks;
}
