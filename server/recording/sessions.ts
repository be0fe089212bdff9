/**
 * The session store every reader and the recorder use, over any `SessionStorage`: the
 * domain rules, pure, applied once above the storage primitives. Rows become the API's
 * records in `session-records.ts` (summaries from holds, holds numbered from 1); a label
 * filter asks the storage for every spelling of the label (`labels.ts`); trends are
 * `trends.ts`.
 *
 *   const store = sessionStore(new SqliteSessionStorage(db, path));  // openSqliteStore does this
 *   const page = await store.listSessions({ bodyArea: 'upper-back' }, { limit: 50, offset: 0 });
 *
 * Pipeline position: recorder -> **session store** (storage below) -> REST API, replay, analyze.
 */
import { auditEntrySchema, type AuditChange, type AuditEntry, type AuditPage } from '../contract/audit.ts';
import type { HoldLabel, RecordedHold, SampleEnvelope, SessionDetail, SessionPage, Trends } from '../contract/records.ts';
import { spellingsOf } from './labels.ts';
import { pptRecords, type PptRecords } from './ppt-records.ts';
import { detailOf, recordedHold, summaryOf } from './session-records.ts';
import type { Page, SampleChunk, SessionFilter, SessionStorage, SessionStore, SessionWrite, StorageFilter, StoredAudit } from './store.ts';
import { trendsOf } from './trends.ts';

function groupBySession<T extends { readonly sessionId: number }>(rows: readonly T[]): Map<number, T[]> {
  const bySession = new Map<number, T[]>();
  for (const row of rows) {
    const list = bySession.get(row.sessionId);
    if (list === undefined) bySession.set(row.sessionId, [row]);
    else list.push(row);
  }
  return bySession;
}

/** An audit row as the API serves it; a row this version cannot read (an action it does not know) is left out rather than failing the page. */
function auditEntryOf(row: StoredAudit): AuditEntry[] {
  const entry = auditEntrySchema.safeParse(row);
  return entry.success ? [entry.data] : [];
}

class StoredSessions implements SessionStore {
  readonly location: string;
  readonly ppt: PptRecords;
  readonly #storage: SessionStorage;

  constructor(storage: SessionStorage) {
    this.#storage = storage;
    this.location = storage.location;
    this.ppt = pptRecords(storage.ppt);
  }

  commit(writes: readonly SessionWrite[]): Promise<void> {
    return this.#storage.commit(writes);
  }

  markInterrupted(): Promise<number[]> {
    return this.#storage.markInterrupted();
  }

  async listSessions(filter: SessionFilter, page: Page): Promise<SessionPage> {
    const { sessions, total } = await this.#storage.listSessions(await this.#storageFilter(filter), page);
    const ids = sessions.map((session) => session.id);
    const [holds, warnings] = ids.length === 0 ? [[], []] : await Promise.all([this.#storage.holdsOf(ids), this.#storage.warningsOf(ids)]);
    const holdsBySession = groupBySession(holds);
    const warningsBySession = groupBySession(warnings);
    return {
      sessions: sessions.map((session) => summaryOf(session, holdsBySession.get(session.id) ?? [], warningsBySession.get(session.id)?.length ?? 0)),
      total,
      limit: page.limit,
      offset: page.offset,
    };
  }

  async getSession(id: number): Promise<SessionDetail | null> {
    const session = await this.#storage.getSession(id);
    if (session === null) return null;
    const [holds, warnings] = await Promise.all([this.#storage.holdsOf([id]), this.#storage.warningsOf([id])]);
    return detailOf(session, holds, warnings);
  }

  sampleEnvelope(id: number, fromMs: number, toMs: number | null, maxPoints: number): Promise<SampleEnvelope | null> {
    return this.#storage.sampleEnvelope(id, fromMs, toMs, maxPoints);
  }

  readSamples(id: number): AsyncIterable<SampleChunk> {
    return this.#storage.readSamples(id);
  }

  async labelHold(id: number, holdIndex: number, label: Partial<HoldLabel>): Promise<RecordedHold | null> {
    const stored = await this.#storage.labelHold(id, holdIndex, label);
    return stored === null ? null : recordedHold(stored);
  }

  setNotes(id: number, notes: string): Promise<boolean> {
    return this.#storage.setNotes(id, notes);
  }

  deleteSession(id: number): Promise<boolean> {
    return this.#storage.deleteSession(id);
  }

  async trends(filter: Omit<SessionFilter, 'status'>, timeZone = 'UTC'): Promise<Trends> {
    return trendsOf(await this.#storage.findHolds(await this.#storageFilter(filter)), timeZone);
  }

  appendAudit(change: AuditChange): Promise<void> {
    return this.#storage.appendAudit(change);
  }

  async listAudit(page: Page): Promise<AuditPage> {
    const { entries, total } = await this.#storage.listAudit(page);
    return { entries: entries.flatMap(auditEntryOf), total, limit: page.limit, offset: page.offset };
  }

  close(): Promise<void> {
    return this.#storage.close();
  }

  /** The filter with each label replaced by the stored spellings that match it. */
  async #storageFilter(filter: SessionFilter): Promise<StorageFilter> {
    const { bodyArea, knot, ...rest } = filter;
    if (bodyArea === undefined && knot === undefined) return rest;
    const spellings = await this.#storage.labelSpellings();
    return {
      ...rest,
      ...(bodyArea === undefined ? {} : { bodyAreas: spellingsOf(bodyArea, spellings.bodyAreas) }),
      ...(knot === undefined ? {} : { knots: spellingsOf(knot, spellings.knots) }),
    };
  }
}

/** The session store over a storage. */
export function sessionStore(storage: SessionStorage): SessionStore {
  return new StoredSessions(storage);
}
