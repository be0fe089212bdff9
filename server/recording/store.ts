/**
 * Where recorded sessions live, in two layers:
 *
 * - `SessionStorage`: storage primitives only (write a flush atomically; read, update and
 *   delete rows; filter and page sessions). This is all a store implements; the embedded
 *   SQLite file (`sqlite-store.ts`) is one. Every method returns a promise, so that a
 *   database over the network fits too, though SQLite answers at once.
 * - `SessionStore`: what the recorder, the REST API, replay and `npm run analyze -- --session`
 *   use, made from any storage by `sessionStore(storage)` (`sessions.ts`), where the domain
 *   rules live once, as pure code: session summaries, hold numbering and rounding, which
 *   label spellings match (`labels.ts`), trends by week (`trends.ts`).
 *
 * A second storage must provide:
 * - `commit`: one call per flush (at most every 250 ms), applied atomically (a crash leaves
 *   all of a flush or none of it); it creates the sessions whose handle has no id yet (and
 *   sets the ids only once committed), appends sample chunks in order, inserts or replaces
 *   holds and warnings by (session, index), raises `durationMs` (never lowers it), counts
 *   samples, records the end; what is written for a session deleted meanwhile is dropped;
 *   chunks longer than CHUNK_MAX_SAMPLES / CHUNK_MAX_SPAN_MS are refused with a RangeError.
 * - `markInterrupted`: sessions still `recording` become `interrupted`, ending at
 *   `startedAtMs + durationMs`.
 * - `listSessions`: the rows matching a `StorageFilter` (labels compared exactly, against
 *   any of the spellings given), newest `startedAtMs` first (then highest id), one page,
 *   and how many match in all. `getSession`, `holdsOf`, `warningsOf`, `findHolds`,
 *   `labelSpellings`: rows as stored, in any order.
 * - `sampleEnvelope`: the min/max envelope that `envelope.ts` defines, built from whichever
 *   chunks it reads (the per-chunk min/max columns let it skip reading most of them).
 * - `readSamples`, `labelHold`, `setNotes`, `deleteSession`, `close`.
 * - `appendAudit`: keeps a change as given, with the next id; `listAudit`: a page of
 *   them, highest id (newest) first, and how many there are in all.
 *
 * Pipeline position: fan-out -> recorder -> **session store** -> REST API, replay.
 */
import type { PresetName } from '../engine/presets.ts';
import type { EngineConfig, HoldResult, WarningResult } from '../engine/results.ts';
import type { AuditChange, AuditPage } from '../contract/audit.ts';
import type { HoldLabel, RecordedHold, SampleEnvelope, SessionDetail, SessionPage, SessionStatus, Trends } from '../contract/records.ts';
import type { PptRecords } from './ppt-records.ts';
import type { PptStorage } from './ppt-storage.ts';

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

/** A session row as stored: what `NewSession` gave, and what the recorder and the API changed since. */
export interface StoredSession {
  readonly id: number;
  readonly deviceId: string;
  readonly spec: string;
  readonly transport: string;
  readonly sensor: string;
  /** As written (a name this version does not know reads as no preset). */
  readonly preset: string | null;
  /** As written (JSON); `sessions.ts` validates it. */
  readonly engineConfig: unknown;
  readonly status: string;
  readonly startedAtMs: number;
  readonly endedAtMs: number | null;
  readonly firstDeviceMs: number;
  readonly durationMs: number;
  readonly sampleCount: number;
  readonly notes: string;
}

/** A hold row as stored (figures as the engine gave them, `index` from 0). */
export interface StoredHold extends HoldWrite {
  readonly sessionId: number;
}

/** A hold row with the wall-clock start of its session, for trends. */
export interface StoredHoldAt extends StoredHold {
  readonly sessionStartedAtMs: number;
}

export interface StoredWarning extends WarningWrite {
  readonly sessionId: number;
}

/**
 * Which rows a storage returns; an absent (or undefined) field does not filter. Labels
 * are compared exactly, with any of the spellings given (an empty list matches nothing):
 * a session matches when one of its holds has such a label, a hold (`findHolds`) when it
 * has one itself.
 */
export interface StorageFilter {
  readonly deviceId?: string | undefined;
  readonly status?: SessionStatus | undefined;
  /** Sessions that started at or after this wall-clock time (Unix ms). */
  readonly fromMs?: number | undefined;
  /** Sessions that started before this wall-clock time (Unix ms). */
  readonly toMs?: number | undefined;
  readonly bodyAreas?: readonly string[] | undefined;
  readonly knots?: readonly string[] | undefined;
}

export interface Page {
  readonly limit: number;
  readonly offset: number;
}

/** An audit entry as stored: the change as given (before and after as read back from JSON), with its id. */
export interface StoredAudit extends Omit<AuditChange, 'action' | 'before' | 'after'> {
  readonly id: number;
  /** As written (an action this version does not know is still listed). */
  readonly action: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** The storage primitives a store implements (see the header for what each must do). */
export interface SessionStorage {
  /** Where the data is, for messages (a file path). */
  readonly location: string;
  /** PPT measurements and knot presets (`ppt-storage.ts` says what each primitive must do). */
  readonly ppt: PptStorage;
  commit(writes: readonly SessionWrite[]): Promise<void>;
  /** Returns the ids of the sessions it marked. */
  markInterrupted(): Promise<number[]>;
  listSessions(filter: StorageFilter, page: Page): Promise<{ sessions: StoredSession[]; total: number }>;
  getSession(id: number): Promise<StoredSession | null>;
  holdsOf(sessionIds: readonly number[]): Promise<StoredHold[]>;
  warningsOf(sessionIds: readonly number[]): Promise<StoredWarning[]>;
  /** Holds matching the filter (labels on the hold itself; `status` is not used). */
  findHolds(filter: StorageFilter): Promise<StoredHoldAt[]>;
  /** Every distinct body area and knot some hold is labelled with, as written. */
  labelSpellings(): Promise<{ bodyAreas: string[]; knots: string[] }>;
  /** Null if there is no such session. */
  sampleEnvelope(id: number, fromMs: number, toMs: number | null, maxPoints: number): Promise<SampleEnvelope | null>;
  /** Every sample of the session in time order, in chunks (never all in memory); nothing if no such session. */
  readSamples(id: number): AsyncIterable<SampleChunk>;
  /** Sets the labels of one hold (only the fields given change); the hold as now stored, or null if there is none. */
  labelHold(id: number, holdIndex: number, label: Partial<HoldLabel>): Promise<StoredHold | null>;
  /** False if there is no such session. */
  setNotes(id: number, notes: string): Promise<boolean>;
  /** Deletes a session and everything recorded in it; false if there is no such session. */
  deleteSession(id: number): Promise<boolean>;
  /** Keeps a safety-relevant change (the audit log never loses or edits one). */
  appendAudit(change: AuditChange): Promise<void>;
  /** A page of the audit log, newest first, and how many entries there are in all. */
  listAudit(page: Page): Promise<{ entries: StoredAudit[]; total: number }>;
  close(): Promise<void>;
}

/**
 * Which sessions to list; an absent (or undefined) field does not filter. Labels match
 * the spellings of the same label (`labelMatchKey`: case, hyphens, underscores and
 * spaces do not matter).
 */
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

/** Recorded sessions as the recorder writes them and the review API reads them (`sessionStore(storage)`). */
export interface SessionStore {
  /** Where the data is, for messages (a file path). */
  readonly location: string;
  /** PPT measurements and knot presets, in the same store (`ppt-records.ts`). */
  readonly ppt: PptRecords;
  /** Applies one flush atomically; creates the sessions whose handle has no id yet. */
  commit(writes: readonly SessionWrite[]): Promise<void>;
  /** Marks every session still `recording` as `interrupted` (after a crash); returns their ids. */
  markInterrupted(): Promise<number[]>;
  listSessions(filter: SessionFilter, page: Page): Promise<SessionPage>;
  /** The session with its holds and warnings, or null if there is none with that id. */
  getSession(id: number): Promise<SessionDetail | null>;
  /**
   * The force between `fromMs` and `toMs` (session time; null: the session's end, or just
   * past `fromMs` if that is later), at most `maxPoints` entries; null if no such session.
   */
  sampleEnvelope(id: number, fromMs: number, toMs: number | null, maxPoints: number): Promise<SampleEnvelope | null>;
  /** Every sample of the session in time order, in chunks (never all in memory); nothing if no such session. */
  readSamples(id: number): AsyncIterable<SampleChunk>;
  /** Sets the labels of one hold (`holdIndex` from 0); only the fields given change. Null if the session or hold does not exist. */
  labelHold(id: number, holdIndex: number, label: Partial<HoldLabel>): Promise<RecordedHold | null>;
  /** Replaces a session's notes; false if there is no such session. */
  setNotes(id: number, notes: string): Promise<boolean>;
  /** Deletes a session and everything recorded in it; false if there is no such session. */
  deleteSession(id: number): Promise<boolean>;
  /** Every recorded hold grouped by body area and knot, with weekly figures (weeks from Monday in `timeZone`, UTC unless given). */
  trends(filter: Omit<SessionFilter, 'status'>, timeZone?: string): Promise<Trends>;
  /** Keeps a safety-relevant change in the audit log. */
  appendAudit(change: AuditChange): Promise<void>;
  /** A page of the audit log, newest first. */
  listAudit(page: Page): Promise<AuditPage>;
  close(): Promise<void>;
}
