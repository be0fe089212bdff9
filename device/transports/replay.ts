/**
 * Replay: a transport that plays back a recorded session or a force trace file through
 * the very same pipeline as a live device (calibration, engine, recorder, broadcaster),
 * paced to the wall clock at `speed` (1 = as it was recorded, 10 = ten times faster,
 * `max` = as fast as the pipeline takes it). It ends when the data ends: its status
 * turns `stopped`, which closes the engine's hold in progress as `npm run analyze` does
 * at the end of a file, and ends the recorded session.
 *
 *   replay:SESSION_ID[?speed=X|max]       a session recorded in the --db file
 *   replay:FILE.csv[?speed=X|max]         a trace: header t_ms,force_n, one sample a line
 *
 * The recordings themselves come from whoever holds them, through the context
 * (`recordings`: the server reads sessions from its store and files with its trace CSV
 * reader); this file only paces them. Times are the recording's own: a session's from its
 * first sample, a file's `t_ms` less the first one. The samples carry the force itself, in
 * millinewtons as raw counts, with a calibration that reads them back
 * (`REPLAY_CALIBRATION`), so replayed forces are the recorded ones to 1 mN whatever
 * calibration the original device had: the transport says so (`forcesCalibrated`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ForceCalibration } from '../sensors.ts';
import { DeviceSpecError, numberOption, rejectUnknownOptions, type DeviceSpec } from '../device-spec.ts';
import type { RawSample, Transport, TransportCapabilities, TransportListener, TransportStatus } from '../transport.ts';

export const REPLAY_FIRMWARE = 'knotmeter-replay 1';
const TICK_MS = 10;
/** With `speed=max`, samples delivered per turn of the event loop (so sockets and the recorder keep up). */
const UNPACED_CHUNK = 2000;
const MN_PER_N = 1000;

/** Raw counts of a replay are millinewtons. */
export const REPLAY_CALIBRATION: ForceCalibration = Object.freeze({
  source: 'exact',
  sensor: 'fsr',
  toNewtons: (raw: number) => raw / MN_PER_N,
  toRaw: (forceN: number) => Math.round(forceN * MN_PER_N),
});

/** Forces recorded before: played back as they were, never converted through a profile; one recording, one session. */
const REPLAY_CAPABILITIES: TransportCapabilities = Object.freeze({ forcesCalibrated: true, calibratable: false, playsRecording: true });

/** A batch of recorded samples in time order: the recording's own times in ms, forces in newtons. */
export interface TimedForces {
  readonly tMs: ArrayLike<number>;
  readonly forceN: ArrayLike<number>;
}

/** What a replay spec names: a session recorded in the --db file, or a trace file. */
export type ReplayTarget = { readonly kind: 'session'; readonly sessionId: number } | { readonly kind: 'file'; readonly path: string };

/** One recording to play back, as its holder hands it over. */
export interface ReplaySource {
  /**
   * Its samples, in batches, in time order. Rejects with `ReplayNotFound` when the
   * recording is not there (a session that does not exist) before any sample is played.
   */
  open(): Promise<AsyncIterable<TimedForces>>;
}

/** What a replay source throws when the recording named cannot be played: the message says why. */
export class ReplayNotFound extends Error {
  override readonly name = 'ReplayNotFound';
}

export interface ReplayOptions {
  readonly target: ReplayTarget;
  readonly source: ReplaySource;
  /** Wall-clock pacing: 1 = as recorded, null = as fast as possible. */
  readonly speed: number | null;
  readonly deviceId: string;
}

export interface ReplayContext {
  readonly instance: number;
  /** `--speed`: the default pacing of every replay (a spec's `speed=` wins). */
  readonly replaySpeed?: number | null;
  /**
   * Finds the recording a target names (the server: its session store, its trace file
   * reader); throws `ReplayNotFound` saying why it cannot (no database, no such file).
   * Absent: this program has no recordings to play.
   */
  readonly recordings?: (target: ReplayTarget) => ReplaySource;
}

/** 8 lowercase hex digits like a real device id (FNV-1a of what is replayed). */
function replayDeviceId(identity: string): string {
  let hash = 0x811c9dc5;
  for (const char of identity) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

export function parseReplaySpec(spec: DeviceSpec, context: ReplayContext): ReplayOptions {
  rejectUnknownOptions(spec, ['speed']);
  const target = spec.target;
  if (target === null) {
    throw new DeviceSpecError(`device spec "${spec.text}": say what to replay: replay:SESSION_ID (a recorded session) or replay:FILE.csv (a t_ms,force_n trace)`);
  }
  const speedText = spec.options.get('speed');
  const speed = speedText === 'max' ? null : speedText === undefined ? (context.replaySpeed === undefined ? 1 : context.replaySpeed) : numberOption(spec, 'speed', 0.1, 1000, 1);
  let replayTarget: ReplayTarget;
  if (/^\d+$/.test(target)) {
    replayTarget = { kind: 'session', sessionId: Number(target) };
  } else {
    if (!target.toLowerCase().endsWith('.csv')) {
      throw new DeviceSpecError(`device spec "${spec.text}": "${target}" is neither a session id (a whole number) nor a .csv trace file`);
    }
    replayTarget = { kind: 'file', path: target };
  }
  if (context.recordings === undefined) {
    throw new DeviceSpecError(`device spec "${spec.text}": this program cannot play recordings (npm start can: npm start -- --device ${spec.text})`);
  }
  let source: ReplaySource;
  try {
    source = context.recordings(replayTarget);
  } catch (error) {
    throw error instanceof ReplayNotFound ? new DeviceSpecError(`device spec "${spec.text}": ${error.message}`) : error;
  }
  return { target: replayTarget, source, speed, deviceId: replayDeviceId(`replay/${target}/${context.instance}`) };
}

/** The target as a spec writes it: `12`, `trace.csv`. */
function targetText(target: ReplayTarget): string {
  return target.kind === 'session' ? String(target.sessionId) : target.path;
}

/** Median interval of the first samples as a rate (a replay has no nominal rate of its own). */
function rateOf(tMs: ArrayLike<number>): number {
  const intervals: number[] = [];
  for (let index = 1; index < Math.min(tMs.length, 101); index++) {
    const interval = (tMs[index] as number) - (tMs[index - 1] as number);
    if (interval > 0) intervals.push(interval);
  }
  intervals.sort((a, b) => a - b);
  const medianMs = intervals[intervals.length >> 1];
  return medianMs === undefined ? 1 : 1000 / medianMs;
}

export class ReplayTransport implements Transport {
  readonly spec: string;
  readonly capabilities = REPLAY_CAPABILITIES;
  readonly #options: ReplayOptions;
  #listener: TransportListener | null = null;
  #state: TransportStatus['state'] = 'stopped';
  #stopped = false;
  #samples = 0;
  #rateHz = 1;
  #lastError: string | null = null;
  #running: Promise<void> | null = null;

  constructor(options: ReplayOptions) {
    this.#options = options;
    this.spec = `replay:${targetText(options.target)}?speed=${options.speed === null ? 'max' : options.speed}`;
  }

  get calibration(): ForceCalibration {
    return REPLAY_CALIBRATION;
  }

  status(): TransportStatus {
    return {
      state: this.#state,
      deviceId: this.#options.deviceId,
      sensor: 'fsr',
      clock: 'device',
      firmware: REPLAY_FIRMWARE,
      nominalRateHz: this.#rateHz,
      samples: this.#samples,
      lostSamples: 0,
      droppedLines: {},
      lastError: this.#lastError,
    };
  }

  /** @throws DeviceSpecError when the recorded session does not exist. */
  async start(listener: TransportListener): Promise<void> {
    if (this.#listener !== null) throw new Error(`replay ${this.spec} is already started`);
    const batches = await this.#open();
    this.#listener = listener;
    this.#state = 'connecting';
    listener.onStatus(this.status());
    this.#running = this.#play(batches).catch((error: unknown) => {
      this.#lastError = error instanceof Error ? error.message : String(error);
    }).finally(() => this.#end());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
    this.#end();
    this.#listener = null;
  }

  async #open(): Promise<AsyncIterator<TimedForces>> {
    try {
      return (await this.#options.source.open())[Symbol.asyncIterator]();
    } catch (error) {
      throw error instanceof ReplayNotFound ? new DeviceSpecError(`replay:${targetText(this.#options.target)}: ${error.message}`) : error;
    }
  }

  async #play(batches: AsyncIterator<TimedForces>): Promise<void> {
    const startedMs = performance.now();
    let firstMs: number | null = null;
    let seq = 0;
    for (let next = await batches.next(); next.done !== true; next = await batches.next()) {
      const { tMs, forceN } = next.value;
      if (tMs.length === 0) continue;
      if (firstMs === null) {
        firstMs = tMs[0] as number;
        this.#rateHz = rateOf(tMs);
        this.#state = 'connected';
        this.#listener?.onStatus(this.status());
      }
      let index = 0;
      while (index < tMs.length) {
        if (this.#stopped) return;
        let end: number;
        if (this.#options.speed === null) {
          end = Math.min(index + UNPACED_CHUNK, tMs.length);
        } else {
          const dueMs = firstMs + (performance.now() - startedMs) * this.#options.speed;
          end = index;
          while (end < tMs.length && (tMs[end] as number) <= dueMs) end++;
          if (end === index) {
            await sleep(TICK_MS);
            continue;
          }
        }
        const batch: RawSample[] = [];
        for (let sample = index; sample < end; sample++) {
          batch.push({ deviceId: this.#options.deviceId, seq: seq++, deviceTimeUs: ((tMs[sample] as number) - firstMs) * 1000, raw: REPLAY_CALIBRATION.toRaw(forceN[sample] as number) });
        }
        this.#samples += batch.length;
        this.#listener?.onSamples(batch);
        index = end;
        if (this.#options.speed === null) await new Promise((resolveTurn) => setImmediate(resolveTurn));
      }
    }
  }

  #end(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#listener?.onStatus(this.status());
  }
}
