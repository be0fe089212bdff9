/**
 * The session store: where recorded sessions live. An interface, so that the embedded
 * SQLite file (`sqlite-store.ts`, the default) can be joined by a shared PostgreSQL for a
 * clinic running several servers; every method returns a promise for that reason, even
 * though SQLite answers at once.
 *
 * The recorder writes through `commit`, one call per flush (at most every 250 ms), which
 * the store applies atomically: a crash leaves either all of a flush or none of it. The
 * REST API, `npm run analyze -- --session` and the replay transport read.
 *
 * Pipeline position: fan-out -> recorder -> **session store** -> REST API, replay.
 */
import type { PresetName } from '../engine/presets.ts';
import type { EngineConfig, HoldResult, WarningResult } from '../engine/results.ts';
import type { HoldLabel, RecordedHold, SampleEnvelope, SessionDetail, SessionPage, SessionStatus, Trends } from '../contract/records.ts';

/** What is known of a session when its first sample arrives. */
export interface NewSession {
  readonly deviceId: string;
  readonly spec: string;
  readonly transport: string;
  readonly sensor: string;
  readonly preset: PresetName | null;
  readonly engineConfig: EngineConfig;
  /** Wall clock (Unix ms) of the first sample. */
  readonly startedAtMs: number;
  /** Device time of the first sample: the session's times are relative to it. */
  readonly firstDeviceMs: number;
}

/** The most samples in one chunk, and its longest span: the recorder cuts at whichever comes first. */
export const CHUNK_MAX_SAMPLES = 256;
export const CHUNK_MAX_SPAN_MS = 250;

/** Consecutive samples of one session (at most CHUNK_MAX_SAMPLES), times relative to the session's first sample. */
export interface SampleChunk {
  readonly tMs: Float64Array;
  readonly forceN: Float64Array;
  readonly raw: Int32Array;
}

/** A hold to record; times relative to the session's first sample. */
export interface HoldWrite {
  readonly index: number;
  readonly hold: HoldResult;
  readonly targetHoldMs: number;
  readonly label: HoldLabel;
}

/** A warning to record or update (an open one is written at once, and again when it ends). */
export interface WarningWrite {
  readonly index: number;
  readonly warning: WarningResult;
}

/**
 * A session being recorded, as the recorder holds it. `id` is null until the store has
 * created it (in the first commit that carries it); the store sets it.
 */
export interface SessionHandle {
  id: number | null;
  readonly session: NewSession;
}

/** Everything one flush writes for one session. */
export interface SessionWrite {
  readonly handle: SessionHandle;
  readonly samples: readonly SampleChunk[];
  readonly holds: readonly HoldWrite[];
  readonly warnings: readonly WarningWrite[];
  /** Device time from the first sample to the last one written so far. */
  readonly durationMs: number;
  /** Set when the session has ended. */
  readonly end: { readonly status: Exclude<SessionStatus, 'recording'>; readonly endedAtMs: number } | null;
}

/** Which sessions to list; an absent (or undefined) field does not filter. Labels match without regard to case. */
export interface SessionFilter {
  readonly deviceId?: string | undefined;
  readonly bodyArea?: string | undefined;
  readonly knot?: string | undefined;
  readonly status?: SessionStatus | undefined;
  /** Sessions that started at or after this wall-clock time (Unix ms). */
  readonly fromMs?: number | undefined;
  /** Sessions that started before this wall-clock time (Unix ms). */
  readonly toMs?: number | undefined;
}

export interface SessionStore {
  /** Where the data is, for messages (a file path). */
  readonly location: string;
  /** Applies one flush atomically; creates the sessions whose handle has no id yet. */
  commit(writes: readonly SessionWrite[]): Promise<void>;
  /** Marks every session still `recording` as `interrupted` (after a crash); returns their ids. */
  markInterrupted(): Promise<number[]>;
  listSessions(filter: SessionFilter, page: { readonly limit: number; readonly offset: number }): Promise<SessionPage>;
  /** The session with its holds and warnings, or null if there is none with that id. */
  getSession(id: number): Promise<SessionDetail | null>;
  /**
   * The force between `fromMs` and `toMs` (session time; null: the session's end, or just
   * past `fromMs` if that is later), at most `maxPoints` entries; null if no such session.
   */
  sampleEnvelope(id: number, fromMs: number, toMs: number | null, maxPoints: number): Promise<SampleEnvelope | null>;
  /** Every sample of the session in time order, in chunks (never all in memory); nothing if no such session. */
  readSamples(id: number): AsyncIterable<SampleChunk>;
  /** Sets the labels of one hold; only the fields given change. Null if the session or hold does not exist. */
  labelHold(id: number, holdIndex: number, label: Partial<HoldLabel>): Promise<RecordedHold | null>;
  /** Replaces a session's notes; false if there is no such session. */
  setNotes(id: number, notes: string): Promise<boolean>;
  /** Deletes a session and everything recorded in it; false if there is no such session. */
  deleteSession(id: number): Promise<boolean>;
  /** Every recorded hold grouped by body area and knot, with weekly figures. */
  trends(filter: Omit<SessionFilter, 'status'>): Promise<Trends>;
  close(): Promise<void>;
}
