// The SQLite session store's own concerns, on real files in a temporary folder: migrations
// from an empty file and from the previous schema (a version-1 fixture), WAL. What every
// store does (atomic commits, the envelope, labels, notes, deletion, trends) is the store
// contract, run on SQLite and PostgreSQL alike: storage.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS, SCHEMA_VERSION, schemaVersion } from '../../../server/recording/migrations.ts';
import { openSqliteStore } from '../../../server/recording/sqlite-store.ts';
import type { SessionStore } from '../../../server/recording/store.ts';
import { REPO_ROOT } from '../../support/cli.ts';
import { tempDir } from './support.ts';

const V1_FIXTURE = join(REPO_ROOT, 'test/server/recording/fixtures/store-v1.sql');

describe('session store (SQLite)', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: SessionStore | null = null;

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    await store?.close();
    store = null;
    dir.remove();
  });

  it('creates a new file at the latest schema, in WAL mode, with a version table', () => {
    const path = join(dir.path, 'sub', 'new.db');
    store = openSqliteStore(path);
    const db = new Database(path, { readonly: true });
    try {
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
      expect(db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all()).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('upgrades a file of the first schema (version 1) and keeps everything in it', async () => {
    const path = join(dir.path, 'old.db');
    const old = new Database(path);
    old.exec(readFileSync(V1_FIXTURE, 'utf8'));
    expect(schemaVersion(old)).toBe(1);
    old.close();

    store = openSqliteStore(path);
    const session = await store.getSession(1);
    expect(session).toMatchObject({ id: 1, deviceId: '1a2b3c4d', status: 'complete', durationMs: 30, sampleCount: 4, notes: '', holdCount: 1, warningCount: 1 });
    expect(session?.holds).toEqual([{ number: 1, startMs: 10, endMs: 20, durationMs: 10, meanN: 16.875, peakN: 17.5, timeInBandMs: 10, timeOverMs: 0, targetHoldMs: 60000, bodyArea: null, knot: null }]);
    expect(session?.warnings).toEqual([{ startMs: 10, alertMs: 20, endMs: 30, peakN: 46.5 }]);
    const chunks = [];
    for await (const chunk of store.readSamples(1)) chunks.push(chunk);
    expect(chunks.map((chunk) => [...chunk.tMs])).toEqual([[0, 10, 20, 30]]);
    expect(chunks.map((chunk) => [...chunk.raw])).toEqual([[50, 358, 376, 66]]);
    // The new columns work on the old rows.
    expect(await store.labelHold(1, 0, { bodyArea: 'neck' })).toMatchObject({ bodyArea: 'neck', knot: null });
    expect(await store.setNotes(1, 'first visit')).toBe(true);
    expect((await store.listSessions({ bodyArea: 'NECK' }, { limit: 10, offset: 0 })).sessions.map((listed) => listed.notes)).toEqual(['first visit']);
    // The session the dead server left is found and marked.
    expect(await store.markInterrupted()).toEqual([2]);
    expect((await store.getSession(2))?.status).toBe('interrupted');
  });

  it('applies migrations one version at a time and refuses a file from a newer Knotmeter', () => {
    const db = new Database(join(dir.path, 'steps.db'));
    try {
      expect(migrate(db, 1)).toEqual([1]);
      expect(schemaVersion(db)).toBe(1);
      expect(migrate(db, 2)).toEqual([2]);
      expect(migrate(db)).toEqual(MIGRATIONS.slice(2).map((migration) => migration.version));
      expect(migrate(db)).toEqual([]);
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'from the future', 0);
      expect(() => migrate(db)).toThrow(`schema version ${SCHEMA_VERSION + 1}, newer than this Knotmeter knows (${SCHEMA_VERSION}): update Knotmeter`);
    } finally {
      db.close();
    }
  });
});
