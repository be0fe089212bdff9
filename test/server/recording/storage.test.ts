// The store contract: one suite run against both storages, SQLite on a real file and
// PostgreSQL on a real server these tests start (test/support/postgres.ts). Storage
// primitives as a second storage must provide them (labels compared exactly against a
// list of spellings, rows as written), atomic flushes, the min/max envelope against a
// brute-force reference, the session store's results over each (filters, pages, trends),
// two stores writing at once, what a stopped server leaves marked interrupted; and the
// same REST answers from the real server for the same recordings in either store.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../server/app.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import { PostgresSessionStorage } from '../../../server/recording/postgres/postgres-store.ts';
import { toChunks } from '../../../server/recording/recorder.ts';
import { sessionStore } from '../../../server/recording/sessions.ts';
import { openSqliteStorage } from '../../../server/recording/sqlite-store.ts';
import { weekStartOf } from '../../../server/recording/trends.ts';
import { summaryLabels, type HoldLabel } from '../../../server/contract/records.ts';
import type { NewSession, SessionHandle, SessionStorage, SessionWrite } from '../../../server/recording/store.ts';
import type { StoreTarget } from '../../../server/recording/store-target.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';
import { until } from '../../support/until.ts';
import { getJson, startRecordingServer, tempDir, traceEngine, TRACES_DIR } from './support.ts';

const HOLD = { startMs: 1000, endMs: 31_000.5, durationMs: 30_000.5, meanN: 20.123456, peakN: 25.000001, timeInBandMs: 30_000, timeOverMs: 0 };

let postgres: TestPostgres;
let databases = 0;
beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterAll(async () => {
  await postgres.destroy();
});

/** Where a test's data goes: a new file or a new database, opened as often as asked (several servers on one store). */
interface Backend {
  readonly name: string;
  /** A new, empty store's location (`--db` or `--store`). */
  fresh(dir: string): Promise<string>;
  open(location: string): SessionStorage;
}

const BACKENDS: readonly Backend[] = [
  { name: 'SQLite', fresh: (dir) => Promise.resolve(join(dir, `store-${++databases}.db`)), open: (location) => openSqliteStorage(location) },
  { name: 'PostgreSQL', fresh: () => postgres.createDatabase(`store_${++databases}`), open: (location) => new PostgresSessionStorage(location) },
];

function newSession(overrides: Partial<NewSession> = {}): NewSession {
  return { deviceId: '0a0b0c0d', spec: 'sim:treatment', transport: 'sim', sensor: 'fsr', preset: 'shoulders', engineConfig: presetConfig('shoulders'), startedAtMs: Date.UTC(2026, 10, 2, 9, 30), firstDeviceMs: 5000, ...overrides };
}

function handle(deviceId: string, startedAtMs: number): SessionHandle {
  return { id: null, session: newSession({ deviceId, startedAtMs, firstDeviceMs: 0 }) };
}

function write(target: SessionHandle, labels: readonly [string | null, string | null][], warnings = 0): SessionWrite {
  return {
    handle: target,
    samples: [],
    holds: labels.map(([bodyArea, knot], index) => ({ index, hold: HOLD, targetHoldMs: 60_000, label: { bodyArea, knot } })),
    warnings: Array.from({ length: warnings }, (_, index) => ({ index, warning: { startMs: index, alertMs: index + 1, endMs: null, peakN: 50 } })),
    durationMs: 40_000,
    end: null,
  };
}

/** A write of `count` samples at 1 kHz from `fromMs` (session time), with a triangle of force. */
function sampleWrite(target: SessionHandle, fromMs: number, count: number, extra: Partial<SessionWrite> = {}): SessionWrite {
  const tMs = Array.from({ length: count }, (_, index) => fromMs + index);
  const forceN = tMs.map((t) => 20 + 10 * Math.sin(t / 700) + (t % 997 === 0 ? 30 : 0));
  const raw = forceN.map((force) => Math.round(force * 10));
  return { handle: target, samples: toChunks([{ tMs, forceN, raw }], 0), holds: [], warnings: [], durationMs: fromMs + count - 1, end: null, ...extra };
}

describe.each(BACKENDS)('session storage ($name)', (backend) => {
  let dir: ReturnType<typeof tempDir>;
  let location: string;
  let storage: SessionStorage;
  const others: SessionStorage[] = [];
  const day = (date: number): number => Date.UTC(2026, 10, date, 10);
  const openAnother = (): SessionStorage => {
    const another = backend.open(location);
    others.push(another);
    return another;
  };

  beforeEach(async () => {
    dir = tempDir();
    location = await backend.fresh(dir.path);
    storage = backend.open(location);
  });
  afterEach(async () => {
    await Promise.all([storage.close(), ...others.splice(0).map((other) => other.close())]);
    dir.remove();
  });

  describe('primitives', () => {
    beforeEach(async () => {
      const sessions = [handle('aaaaaaaa', day(1)), handle('bbbbbbbb', day(2)), handle('aaaaaaaa', day(3))];
      await storage.commit([
        write(sessions[0] as SessionHandle, [['Upper back', 'C5'], [null, null]], 2),
        write(sessions[1] as SessionHandle, [['upper-back', null]]),
        write(sessions[2] as SessionHandle, [['neck', 'c5']], 1),
      ]);
      expect(sessions.map((session) => session.id)).toEqual([1, 2, 3]);
    });

    it('returns session rows as written, newest first, a page at a time, with the total', async () => {
      const page = await storage.listSessions({}, { limit: 2, offset: 0 });
      expect(page.total).toBe(3);
      expect(page.sessions.map((session) => session.id)).toEqual([3, 2]);
      expect(page.sessions[0]).toEqual({
        id: 3,
        deviceId: 'aaaaaaaa',
        spec: 'sim:treatment',
        transport: 'sim',
        sensor: 'fsr',
        preset: 'shoulders',
        engineConfig: presetConfig('shoulders'),
        status: 'recording',
        startedAtMs: day(3),
        endedAtMs: null,
        firstDeviceMs: 0,
        durationMs: 40_000,
        sampleCount: 0,
        notes: '',
      });
      expect((await storage.listSessions({ deviceId: 'aaaaaaaa', fromMs: day(2) }, { limit: 10, offset: 0 })).sessions.map((session) => session.id)).toEqual([3]);
      expect(await storage.getSession(4)).toBeNull();
    });

    it('compares labels exactly, against any of the spellings given; an empty list matches nothing', async () => {
      const ids = async (filter: Parameters<SessionStorage['listSessions']>[0]): Promise<number[]> => (await storage.listSessions(filter, { limit: 10, offset: 0 })).sessions.map((session) => session.id);
      expect(await ids({ bodyAreas: ['Upper back'] })).toEqual([1]);
      expect(await ids({ bodyAreas: ['Upper back', 'upper-back'] })).toEqual([2, 1]);
      expect(await ids({ bodyAreas: ['upper back'] })).toEqual([]);
      expect(await ids({ bodyAreas: [] })).toEqual([]);
      expect(await ids({ bodyAreas: ['Upper back', 'upper-back'], knots: ['C5', 'c5'] })).toEqual([1]);
      const holds = await storage.findHolds({ bodyAreas: ['upper-back', 'neck'] });
      expect(holds.map((hold) => [hold.sessionId, hold.index, hold.sessionStartedAtMs]).sort()).toEqual([
        [2, 0, day(2)],
        [3, 0, day(3)],
      ]);
      expect(await storage.findHolds({ knots: [] })).toEqual([]);
      const spellings = await storage.labelSpellings();
      expect(spellings.bodyAreas.sort()).toEqual(['Upper back', 'neck', 'upper-back']);
      expect(spellings.knots.sort()).toEqual(['C5', 'c5']);
    });

    it('returns hold and warning rows of several sessions as written, unrounded, indexes from 0', async () => {
      const holds = await storage.holdsOf([1, 3]);
      expect(holds.map((hold) => [hold.sessionId, hold.index]).sort()).toEqual([
        [1, 0],
        [1, 1],
        [3, 0],
      ]);
      expect(holds.find((hold) => hold.sessionId === 3)).toEqual({ sessionId: 3, index: 0, hold: HOLD, targetHoldMs: 60_000, label: { bodyArea: 'neck', knot: 'c5' } });
      expect((await storage.warningsOf([1, 2, 3])).map((warning) => [warning.sessionId, warning.index]).sort()).toEqual([
        [1, 0],
        [1, 1],
        [3, 0],
      ]);
      expect(await storage.holdsOf([])).toEqual([]);
    });

    it('changes only the label fields given, and answers null for a hold that does not exist', async () => {
      expect(await storage.labelHold(1, 0, { knot: null })).toMatchObject({ sessionId: 1, index: 0, hold: HOLD, label: { bodyArea: 'Upper back', knot: null } });
      expect(await storage.labelHold(1, 5, { knot: 'x' })).toBeNull();
      expect(await storage.setNotes(2, 'seen')).toBe(true);
      expect(await storage.setNotes(9, 'seen')).toBe(false);
      expect((await storage.getSession(2))?.notes).toBe('seen');
      expect(await storage.deleteSession(2)).toBe(true);
      expect(await storage.holdsOf([2])).toEqual([]);
      expect((await storage.labelSpellings()).bodyAreas.sort()).toEqual(['Upper back', 'neck']);
    });

    it('keeps audit entries as given, lists them newest first a page at a time, and keeps one for a session deleted since', async () => {
      expect(await storage.listAudit({ limit: 10, offset: 0 })).toEqual({ entries: [], total: 0 });
      const at = (second: number): string => new Date(Date.UTC(2026, 10, 2, 8, 0, second)).toISOString();
      await storage.appendAudit({ at: at(1), client: 'localhost', action: 'preset', deviceId: 'aaaaaaaa', sessionId: null, before: { preset: 'neck' }, after: { preset: 'shoulders' } });
      await storage.appendAudit({ at: at(2), client: '192.168.1.20', action: 'tare', deviceId: 'aaaaaaaa', sessionId: null, before: { tareRaw: null }, after: { tareRaw: 3.5, onDevice: false } });
      await storage.appendAudit({ at: at(3), client: 'localhost', action: 'delete', deviceId: 'bbbbbbbb', sessionId: 2, before: { holdCount: 1 }, after: null });
      expect(await storage.deleteSession(2)).toBe(true);
      const page = await storage.listAudit({ limit: 2, offset: 0 });
      expect(page.total).toBe(3);
      expect(page.entries).toEqual([
        { id: 3, at: at(3), client: 'localhost', action: 'delete', deviceId: 'bbbbbbbb', sessionId: 2, before: { holdCount: 1 }, after: null },
        { id: 2, at: at(2), client: '192.168.1.20', action: 'tare', deviceId: 'aaaaaaaa', sessionId: null, before: { tareRaw: null }, after: { tareRaw: 3.5, onDevice: false } },
      ]);
      expect((await storage.listAudit({ limit: 2, offset: 2 })).entries.map((entry) => entry.id)).toEqual([1]);
    });
  });

  // Ids only grow; a failed flush may leave a gap (a PostgreSQL sequence is not rolled back).
  it('keeps PPT measurements and knot presets: filters, newest first, one preset per knot keeping its id', async () => {
    const measurement = (createdAtMs: number, knotKey: string, phase: 'before' | 'after') => ({
      createdAtMs,
      deviceId: 'aaaaaaaa',
      bodyArea: 'Shoulders',
      knot: knotKey,
      bodyAreaKey: 'shoulders',
      knotKey,
      phase,
      sessionId: null,
      rateKPaPerS: 50,
      areaCm2: 1,
      startLevelN: 0,
      trials: [{ pptN: 20.5 }],
      summary: { meanN: 20.5 },
    });
    const first = await storage.ppt.insertMeasurement(measurement(day(1), 'left trap', 'before'));
    const second = await storage.ppt.insertMeasurement(measurement(day(2), 'left trap', 'after'));
    await storage.ppt.insertMeasurement(measurement(day(3), 'right trap', 'before'));
    const listed = await storage.ppt.listMeasurements({ knotKey: 'left trap' }, { limit: 10, offset: 0 });
    expect(listed.total).toBe(2);
    expect(listed.rows.map((row) => row.id)).toEqual([second, first]);
    expect(listed.rows[1]).toEqual({ id: first, ...measurement(day(1), 'left trap', 'before') });
    expect((await storage.ppt.listMeasurements({ phase: 'before', fromMs: day(2) }, null)).rows.map((row) => row.knotKey)).toEqual(['right trap']);
    expect(await storage.ppt.deleteMeasurement(first)).toBe(true);
    expect(await storage.ppt.getMeasurement(first)).toBeNull();
    const preset = { name: 'Left trap', bodyArea: 'Shoulders', knot: 'Left trap', bodyAreaKey: 'shoulders', knotKey: 'left trap', engineConfig: presetConfig('shoulders'), fromMeasurementId: second, pptN: 20.5, createdAtMs: day(2) };
    const stored = await storage.ppt.putKnotPreset(preset);
    const replaced = await storage.ppt.putKnotPreset({ ...preset, pptN: 22 });
    expect(replaced).toEqual({ ...preset, pptN: 22, id: stored.id });
    expect(await storage.ppt.listKnotPresets()).toEqual([replaced]);
    expect(await storage.ppt.deleteKnotPreset(stored.id)).toBe(true);
  });

  it('commits a flush atomically: a failing write leaves nothing of it and no id; writes for a deleted session are dropped', async () => {
    const good: SessionHandle = { id: null, session: newSession() };
    const bad: SessionHandle = { id: null, session: newSession({ deviceId: 'ffffffff' }) };
    const poisoned = sampleWrite(bad, 0, 10, { holds: [{ index: 0, hold: { ...HOLD, meanN: Number.NaN }, targetHoldMs: 1, label: { bodyArea: null, knot: null } }] });
    await expect(storage.commit([sampleWrite(good, 0, 10), poisoned])).rejects.toThrow();
    expect(good.id).toBeNull();
    expect((await storage.listSessions({}, { limit: 10, offset: 0 })).total).toBe(0);
    await storage.commit([sampleWrite(good, 0, 10)]);
    const id = good.id ?? 0;
    expect(id).toBeGreaterThan(0);
    const tooLong = { tMs: Float64Array.from([0, 300]), forceN: Float64Array.from([1, 2]), raw: Int32Array.from([1, 2]) };
    await expect(storage.commit([{ ...sampleWrite(good, 0, 1), samples: [tooLong] }])).rejects.toThrow('a sample chunk holds at most 256 samples over at most 250 ms (got 2 over 300 ms)');
    // An open warning and its end in one flush: the end is what stays.
    const open = { index: 0, warning: { startMs: 1, alertMs: 2, endMs: null, peakN: 40 } };
    await storage.commit([sampleWrite(good, 10, 10, { warnings: [open, { index: 0, warning: { ...open.warning, endMs: 9, peakN: 45 } }] })]);
    expect(await storage.warningsOf([id])).toEqual([{ sessionId: id, index: 0, warning: { startMs: 1, alertMs: 2, endMs: 9, peakN: 45 } }]);
    expect(await storage.getSession(id)).toMatchObject({ sampleCount: 20, durationMs: 19 });
    // A session deleted from the API while writes for it were still on their way: they go too.
    expect(await storage.deleteSession(id)).toBe(true);
    await storage.commit([sampleWrite(good, 20, 10, { holds: [{ index: 0, hold: HOLD, targetHoldMs: 60_000, label: { bodyArea: null, knot: null } }], end: { status: 'complete', endedAtMs: 0 } })]);
    expect((await storage.listSessions({}, { limit: 10, offset: 0 })).total).toBe(0);
  });

  it('serves the envelope of a long session: every bucket has the true min and max of its samples', async () => {
    const target: SessionHandle = { id: null, session: newSession() };
    const totalSamples = 60_000;
    for (let fromMs = 0; fromMs < totalSamples; fromMs += 2000) await storage.commit([sampleWrite(target, fromMs, 2000)]);
    const id = target.id ?? 0;
    const all = sampleWrite(target, 0, totalSamples);
    const times = all.samples.flatMap((chunk) => [...chunk.tMs]);
    const forces = all.samples.flatMap((chunk) => [...chunk.forceN]);
    const read: number[] = [];
    for await (const chunk of storage.readSamples(id)) read.push(...chunk.tMs);
    expect(read).toEqual(times);

    for (const [fromMs, toMs, maxPoints] of [
      [0, totalSamples - 1, 500],
      [12_345, 23_456, 300],
      [1000, 1400, 50],
      // Buckets of 600 ms and more: whole chunks from their summaries, only the edges read.
      [0, totalSamples - 1, 100],
      [150, 59_950, 90],
    ] as const) {
      const envelope = await storage.sampleEnvelope(id, fromMs, toMs, maxPoints);
      if (envelope === null) throw new Error('no envelope');
      expect(envelope.exact).toBe(false);
      expect(envelope.tMs.length).toBeLessThanOrEqual(maxPoints);
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
    const exact = await storage.sampleEnvelope(id, 100, 150, 100);
    expect(exact?.exact).toBe(true);
    expect(exact?.tMs).toEqual(Array.from({ length: 51 }, (_, index) => 100 + index));
    expect(await storage.sampleEnvelope(id + 1, 0, 10, 10)).toBeNull();
  });

  it('gives the session store the same summaries, filters, pages and trends', async () => {
    const store = sessionStore(storage);
    const labels: HoldLabel[] = [
      { bodyArea: null, knot: null },
      { bodyArea: 'neck', knot: 'left C5' },
      { bodyArea: 'neck', knot: null },
      { bodyArea: 'Shoulders', knot: 'b' },
    ];
    const handles = [1, 3, 10, 11].map((date, index): SessionHandle => ({ id: null, session: newSession({ startedAtMs: day(date), deviceId: index % 2 === 0 ? 'aaaaaaaa' : 'bbbbbbbb' }) }));
    for (const [index, target] of handles.entries()) {
      const hold = { startMs: 1000, endMs: 31_000 + index * 1000, durationMs: 30_000 + index * 1000, meanN: 20, peakN: 25 + index, timeInBandMs: 30_000, timeOverMs: 0 };
      const extra = index === 0 ? labels.slice(1).map((label, more) => ({ index: more + 1, hold, targetHoldMs: 60_000, label })) : [];
      await store.commit([sampleWrite(target, 0, 100, { holds: [{ index: 0, hold, targetHoldMs: 60_000, label: { bodyArea: 'neck', knot: index < 2 ? 'left C5' : 'right C5' } }, ...extra], end: { status: 'complete', endedAtMs: day(index) + 60_000 } })]);
    }
    const page = await store.listSessions({}, { limit: 3, offset: 0 });
    expect(page.total).toBe(4);
    expect(page.sessions.map((session) => session.id)).toEqual([4, 3, 2]);
    expect((await store.listSessions({}, { limit: 3, offset: 3 })).sessions.map((session) => session.id)).toEqual([1]);
    expect((await store.listSessions({ deviceId: 'bbbbbbbb' }, { limit: 10, offset: 0 })).sessions.map((session) => session.id)).toEqual([4, 2]);
    expect((await store.listSessions({ fromMs: day(3), toMs: day(11) }, { limit: 10, offset: 0 })).sessions.map((session) => session.id)).toEqual([3, 2]);
    expect((await store.listSessions({ knot: 'right c5' }, { limit: 10, offset: 0 })).sessions.map((session) => session.id)).toEqual([4, 3]);
    expect(page.sessions[0]).toMatchObject({ holdCount: 1, totalHoldMs: 33_000, warningCount: 0, bodyAreas: ['neck'], knots: ['right C5'], labels: [{ bodyArea: 'neck', knot: 'right C5' }] });
    const first = (await store.listSessions({}, { limit: 1, offset: 3 })).sessions[0];
    expect(first?.labels).toEqual([
      { bodyArea: 'Shoulders', knot: 'b' },
      { bodyArea: 'neck', knot: null },
      { bodyArea: 'neck', knot: 'left C5' },
    ]);
    expect(summaryLabels([...labels.slice(1), { bodyArea: 'neck', knot: 'left C5' }])).toEqual({ bodyAreas: first?.bodyAreas, knots: first?.knots, labels: first?.labels });
    const trends = await store.trends({ bodyArea: 'NECK' });
    expect(trends.groups.map((group) => [group.bodyArea, group.knot, group.holds.length])).toEqual([
      ['neck', 'left C5', 3],
      ['neck', 'right C5', 2],
      ['neck', null, 1],
    ]);
    expect(trends.groups[1]?.weeks).toEqual([{ weekStart: '2026-11-09', holdCount: 2, medianDurationMs: 32_500, longestDurationMs: 33_000, medianPeakN: 27.5, highestPeakN: 28 }]);
    expect(weekStartOf(Date.UTC(2026, 10, 15, 23))).toBe('2026-11-09');
    expect(await store.labelHold(4, 0, { knot: null })).toMatchObject({ bodyArea: 'neck', knot: null });
    expect(await store.deleteSession(4)).toBe(true);
    expect(await store.deleteSession(4)).toBe(false);
    expect(await store.getSession(4)).toBeNull();
  });

  it('takes flushes from two stores at once: every session gets its own id and keeps all its samples', async () => {
    const second = openAnother();
    const writers = [storage, second];
    const handles = writers.map((_, writer) => Array.from({ length: 5 }, (_, device) => handle(`${writer}${device}`.padStart(8, 'c'), day(1) + device)));
    for (let flush = 0; flush < 10; flush++) {
      await Promise.all(writers.map((writer, index) => writer.commit((handles[index] ?? []).map((target) => sampleWrite(target, flush * 200, 200)))));
    }
    const ids = handles.flat().map((target) => target.id);
    expect(new Set(ids).size).toBe(10);
    const page = await storage.listSessions({}, { limit: 20, offset: 0 });
    expect(page.total).toBe(10);
    expect(page.sessions.every((session) => session.sampleCount === 2000 && session.durationMs === 1999)).toBe(true);
  });

  it('marks interrupted what a store closed without ending left recording, at the next start', async () => {
    const left = openAnother();
    const target = handle('dead0000', day(1));
    await left.commit([sampleWrite(target, 0, 1500)]);
    await left.close();
    const next = openAnother();
    expect(await next.markInterrupted()).toEqual([target.id]);
    expect(await next.getSession(target.id ?? 0)).toMatchObject({ status: 'interrupted', endedAtMs: day(1) + 1499 });
    expect(await next.markInterrupted()).toEqual([]);
  });

  // Only PostgreSQL takes several servers at once: a SQLite file is locked by the one that records into it.
  if (backend.name === 'PostgreSQL') {
    it('leaves the open sessions of a server still running alone when another starts', async () => {
      const running = handle('a1a1a1a1', day(1));
      await storage.commit([sampleWrite(running, 0, 100)]);
      const starting = openAnother();
      expect(await starting.markInterrupted()).toEqual([]);
      expect((await starting.getSession(running.id ?? 0))?.status).toBe('recording');
      // Its next write is taken as ever.
      await storage.commit([sampleWrite(running, 100, 100)]);
      expect((await starting.getSession(running.id ?? 0))?.sampleCount).toBe(200);
    });
  }
});

describe('the envelope from either store', () => {
  it('is the same, number for number, from SQLite and from PostgreSQL, whether chunks fold whole or are read sample by sample', async () => {
    const dir = tempDir();
    const storages = await Promise.all(BACKENDS.map(async (backend) => backend.open(await backend.fresh(dir.path))));
    try {
      const ranges = [
        [0, null, 2000],
        [0, null, 100],
        [150, 59_950, 90],
        [12_345, 23_456, 300],
        [1000, 1400, 50],
      ] as const;
      const envelopes = await Promise.all(
        storages.map(async (storage) => {
          const target: SessionHandle = { id: null, session: newSession() };
          for (let fromMs = 0; fromMs < 60_000; fromMs += 2000) await storage.commit([sampleWrite(target, fromMs, 2000)]);
          return Promise.all(ranges.map(([fromMs, toMs, maxPoints]) => storage.sampleEnvelope(target.id ?? 0, fromMs, toMs, maxPoints)));
        }),
      );
      expect(envelopes[0]?.every((envelope) => envelope !== null && envelope.tMs.length > 0)).toBe(true);
      expect(envelopes[1]).toEqual(envelopes[0]);
    } finally {
      await Promise.all(storages.map((storage) => storage.close()));
      dir.remove();
    }
  });
});

describe('the review API over either store', () => {
  const TRACE = join(TRACES_DIR, 'example_overpressure.csv');
  let dir: ReturnType<typeof tempDir>;

  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => {
    dir.remove();
  });

  /** What the API answers about the same replays recorded into one store (wall-clock times left out). */
  async function answersOf(target: StoreTarget): Promise<unknown[]> {
    // One device: with two, which one's session gets id 1 is a race.
    const server: RunningServer = await startRecordingServer({ devices: [`replay:${TRACE}`], db: target, engine: traceEngine(), replaySpeed: null });
    try {
      await until(() => server.pipelines.every((pipeline) => pipeline.status().state === 'stopped'), 'the replay to end');
      await server.recording?.recorder?.flush(true);
      const get = async (path: string): Promise<unknown> => {
        const { status, body } = await getJson(`${server.url}/api${path}`);
        return { path, status, body: JSON.parse(JSON.stringify(body), (key, value: unknown) => (key === 'startedAt' || key === 'endedAt' || key === 'at' || key === 'weekStart' ? typeof value : value)) as unknown };
      };
      const answers = [];
      answers.push(await get('/sessions'), await get('/sessions?status=complete&limit=1&offset=0'));
      const relabelled = await getJson(`${server.url}/api/sessions/1/holds/1`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ bodyArea: 'Upper back', knot: 'C7' }) });
      answers.push(relabelled.status);
      for (const path of ['/sessions/1', '/sessions/1/samples?maxPoints=200', '/sessions/1/samples?fromMs=8000&toMs=8300', '/sessions/1/samples?maxPoints=5000', '/sessions/1/export.json', '/sessions?bodyArea=upper-back', '/trends', '/sessions/99']) answers.push(await get(path));
      const csv = await fetch(`${server.url}/api/sessions/1/export.csv?table=samples`);
      answers.push(await csv.text());
      return answers;
    } finally {
      await server.close();
    }
  }

  it('answers every request alike for the same recordings in SQLite and in PostgreSQL', async () => {
    const [fromSqlite, fromPostgres] = [await answersOf({ kind: 'sqlite', path: join(dir.path, 'api.db') }), await answersOf({ kind: 'postgres', url: await postgres.createDatabase('api') })];
    expect(fromSqlite[0]).toMatchObject({ status: 200, body: { total: 1 } });
    expect(fromSqlite[2]).toBe(200);
    expect(fromPostgres).toEqual(fromSqlite);
  }, 60_000);
});
