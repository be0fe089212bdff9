// The SQLite session store on real files in a temporary folder: migrations from an empty
// file and from the previous schema (a version-1 fixture), WAL, atomic commits, the
// min/max envelope against a brute-force reference, labels, notes, deletion, trends.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { presetConfig } from '../../../server/engine/presets.ts';
import { migrate, MIGRATIONS, SCHEMA_VERSION, schemaVersion } from '../../../server/recording/migrations.ts';
import { toChunks } from '../../../server/recording/recorder.ts';
import { openSqliteStore } from '../../../server/recording/sqlite-store.ts';
import { weekStartOf } from '../../../server/recording/trends.ts';
import { summaryLabels, type HoldLabel } from '../../../server/contract/records.ts';
import type { NewSession, SessionHandle, SessionStore, SessionWrite } from '../../../server/recording/store.ts';
import { REPO_ROOT } from '../../support/cli.ts';
import { tempDir } from './support.ts';

const V1_FIXTURE = join(REPO_ROOT, 'test/server/recording/fixtures/store-v1.sql');

function newSession(overrides: Partial<NewSession> = {}): NewSession {
  return {
    deviceId: '0a0b0c0d',
    spec: 'sim:treatment',
    transport: 'sim',
    sensor: 'fsr',
    preset: 'shoulders',
    engineConfig: presetConfig('shoulders'),
    startedAtMs: Date.UTC(2026, 10, 2, 9, 30),
    firstDeviceMs: 5000,
    ...overrides,
  };
}

/** A write of `count` samples at 1 kHz from `fromMs` (session time), with a triangle of force. */
function sampleWrite(handle: SessionHandle, fromMs: number, count: number, extra: Partial<SessionWrite> = {}): SessionWrite {
  const tMs = Array.from({ length: count }, (_, index) => fromMs + index);
  const forceN = tMs.map((t) => 20 + 10 * Math.sin(t / 700) + (t % 997 === 0 ? 30 : 0));
  const raw = forceN.map((force) => Math.round(force * 10));
  return { handle, samples: toChunks([{ tMs, forceN, raw }], 0), holds: [], warnings: [], durationMs: fromMs + count - 1, end: null, ...extra };
}

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
      expect(migrate(db)).toEqual([3, 4]);
      expect(migrate(db)).toEqual([]);
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'from the future', 0);
      expect(() => migrate(db)).toThrow(`schema version ${SCHEMA_VERSION + 1}, newer than this Knotmeter knows (${SCHEMA_VERSION}): update Knotmeter`);
    } finally {
      db.close();
    }
  });

  it('commits a flush atomically: a failing write leaves nothing of it and no id', async () => {
    store = openSqliteStore(join(dir.path, 'atomic.db'));
    const good: SessionHandle = { id: null, session: newSession() };
    const bad: SessionHandle = { id: null, session: newSession({ deviceId: 'ffffffff' }) };
    const poisoned = sampleWrite(bad, 0, 10, { holds: [{ index: 0, hold: { startMs: 0, endMs: 1, durationMs: 1, meanN: Number.NaN, peakN: 1, timeInBandMs: 0, timeOverMs: 0 }, targetHoldMs: 1, label: { bodyArea: null, knot: null } }] });
    await expect(store.commit([sampleWrite(good, 0, 10), poisoned])).rejects.toThrow();
    expect(good.id).toBeNull();
    expect((await store.listSessions({}, { limit: 10, offset: 0 })).total).toBe(0);
    await store.commit([sampleWrite(good, 0, 10)]);
    expect(good.id).toBe(1);
    const tooLong = { tMs: Float64Array.from([0, 300]), forceN: Float64Array.from([1, 2]), raw: Int32Array.from([1, 2]) };
    await expect(store.commit([{ ...sampleWrite(good, 0, 1), samples: [tooLong] }])).rejects.toThrow('a sample chunk holds at most 256 samples over at most 250 ms (got 2 over 300 ms)');
    // A session deleted from the API while writes for it were still on their way: they go too.
    expect(await store.deleteSession(1)).toBe(true);
    const late = { index: 0, hold: { startMs: 0, endMs: 5, durationMs: 5, meanN: 20, peakN: 21, timeInBandMs: 5, timeOverMs: 0 }, targetHoldMs: 60_000, label: { bodyArea: null, knot: null } };
    await store.commit([sampleWrite(good, 10, 10, { holds: [late], end: { status: 'complete', endedAtMs: 0 } })]);
    expect((await store.listSessions({}, { limit: 10, offset: 0 })).total).toBe(0);
  });

  it('serves the envelope of a long session: every bucket has the true min and max of its samples', async () => {
    store = openSqliteStore(join(dir.path, 'envelope.db'));
    const handle: SessionHandle = { id: null, session: newSession() };
    const totalSamples = 60_000;
    for (let fromMs = 0; fromMs < totalSamples; fromMs += 200) await store.commit([sampleWrite(handle, fromMs, 200)]);
    const id = handle.id ?? 0;
    const all = sampleWrite(handle, 0, totalSamples);
    const times = all.samples.flatMap((chunk) => [...chunk.tMs]);
    const forces = all.samples.flatMap((chunk) => [...chunk.forceN]);

    for (const [fromMs, toMs, maxPoints] of [
      [0, totalSamples - 1, 500],
      [12_345, 23_456, 300],
      [1000, 1400, 50],
      // Buckets of 600 ms and more: whole chunks from their summaries, only the edges read.
      [0, totalSamples - 1, 100],
      [150, 59_950, 90],
    ] as const) {
      const envelope = await store.sampleEnvelope(id, fromMs, toMs, maxPoints);
      if (envelope === null) throw new Error('no envelope');
      expect(envelope.exact).toBe(false);
      expect(envelope.tMs.length).toBeLessThanOrEqual(maxPoints);
      // The overall extremes survive thinning.
      const inRange = forces.filter((_, index) => (times[index] ?? 0) >= fromMs && (times[index] ?? 0) <= toMs);
      expect(Math.max(...envelope.maxN)).toBe(Math.max(...inRange));
      expect(Math.min(...envelope.minN)).toBe(Math.min(...inRange));
      // Each bucket holds no value that is not in the samples at most half a bucket around it.
      for (const [index, middleMs] of envelope.tMs.entries()) {
        const near = forces.filter((_, sample) => Math.abs((times[sample] ?? 0) - middleMs) <= envelope.bucketMs);
        expect(near).toContain(envelope.maxN[index]);
        expect(near).toContain(envelope.minN[index]);
      }
    }
    const exact = await store.sampleEnvelope(id, 100, 150, 100);
    expect(exact?.exact).toBe(true);
    expect(exact?.tMs).toEqual(Array.from({ length: 51 }, (_, index) => 100 + index));
    expect(await store.sampleEnvelope(id + 1, 0, 10, 10)).toBeNull();
  });

  it('sums up the labels of a session as the dashboard does after a relabel', async () => {
    store = openSqliteStore(join(dir.path, 'labels.db'));
    const labels: HoldLabel[] = [
      { bodyArea: null, knot: null },
      { bodyArea: 'neck', knot: 'left C5' },
      { bodyArea: 'neck', knot: null },
      { bodyArea: null, knot: 'C7' },
      { bodyArea: 'neck', knot: 'left C5' },
      { bodyArea: 'Shoulders', knot: 'b' },
    ];
    const hold = { startMs: 0, endMs: 1000, durationMs: 1000, meanN: 20, peakN: 25, timeInBandMs: 1000, timeOverMs: 0 };
    const handle: SessionHandle = { id: null, session: newSession() };
    await store.commit([sampleWrite(handle, 0, 10, { holds: labels.map((label, index) => ({ index, hold, targetHoldMs: 60_000, label })) })]);
    const [summary] = (await store.listSessions({}, { limit: 1, offset: 0 })).sessions;
    expect(summary?.labels).toEqual([
      { bodyArea: null, knot: 'C7' },
      { bodyArea: 'Shoulders', knot: 'b' },
      { bodyArea: 'neck', knot: null },
      { bodyArea: 'neck', knot: 'left C5' },
    ]);
    expect(summaryLabels(labels)).toEqual({ bodyAreas: summary?.bodyAreas, knots: summary?.knots, labels: summary?.labels });
  });

  it('lists with filters and pages, labels holds, deletes, and groups trends by label and week', async () => {
    store = openSqliteStore(join(dir.path, 'list.db'));
    const day = (date: number): number => Date.UTC(2026, 10, date, 10);
    const handles = [1, 3, 10, 11].map((date, index): SessionHandle => ({ id: null, session: newSession({ startedAtMs: day(date), deviceId: index % 2 === 0 ? 'aaaaaaaa' : 'bbbbbbbb' }) }));
    for (const [index, handle] of handles.entries()) {
      const hold = { startMs: 1000, endMs: 31_000 + index * 1000, durationMs: 30_000 + index * 1000, meanN: 20, peakN: 25 + index, timeInBandMs: 30_000, timeOverMs: 0 };
      await store.commit([sampleWrite(handle, 0, 100, { holds: [{ index: 0, hold, targetHoldMs: 60_000, label: { bodyArea: 'neck', knot: index < 2 ? 'left C5' : 'right C5' } }], end: { status: 'complete', endedAtMs: day(index) + 60_000 } })]);
    }
    const page = await store.listSessions({}, { limit: 3, offset: 0 });
    expect(page.total).toBe(4);
    expect(page.sessions.map((session) => session.id)).toEqual([4, 3, 2]);
    expect((await store.listSessions({}, { limit: 3, offset: 3 })).sessions.map((session) => session.id)).toEqual([1]);
    expect((await store.listSessions({ deviceId: 'bbbbbbbb' }, { limit: 10, offset: 0 })).sessions.map((session) => session.id)).toEqual([4, 2]);
    expect((await store.listSessions({ fromMs: day(3), toMs: day(11) }, { limit: 10, offset: 0 })).sessions.map((session) => session.id)).toEqual([3, 2]);
    expect((await store.listSessions({ knot: 'right c5' }, { limit: 10, offset: 0 })).sessions.map((session) => session.id)).toEqual([4, 3]);
    expect(page.sessions[0]).toMatchObject({ holdCount: 1, totalHoldMs: 33_000, warningCount: 0, bodyAreas: ['neck'], knots: ['right C5'], labels: [{ bodyArea: 'neck', knot: 'right C5' }] });

    const trends = await store.trends({});
    expect(trends.groups.map((group) => [group.bodyArea, group.knot, group.holds.length])).toEqual([
      ['neck', 'left C5', 2],
      ['neck', 'right C5', 2],
    ]);
    expect(trends.groups[1]?.weeks).toEqual([{ weekStart: '2026-11-09', holdCount: 2, medianDurationMs: 32_500, longestDurationMs: 33_000, medianPeakN: 27.5, highestPeakN: 28 }]);
    expect(weekStartOf(Date.UTC(2026, 10, 15, 23))).toBe('2026-11-09');

    expect(await store.labelHold(4, 0, { knot: null })).toMatchObject({ bodyArea: 'neck', knot: null });
    expect(await store.labelHold(4, 1, { knot: 'x' })).toBeNull();
    expect(await store.deleteSession(4)).toBe(true);
    expect(await store.deleteSession(4)).toBe(false);
    expect(await store.getSession(4)).toBeNull();
    const chunksLeft = [];
    for await (const chunk of store.readSamples(4)) chunksLeft.push(chunk);
    expect(chunksLeft).toEqual([]);
  });
});
