// The storage primitives (`SessionStorage`) on their own, against the real SQLite file:
// what a second storage must do, in a suite that takes any storage. Label filters compare
// exactly, against a list of spellings (an empty list matches nothing); rows come as
// written; summaries, numbering and trends are not the storage's business (they are
// tested over plain rows in trends.test.ts and through the store in store.test.ts).
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { presetConfig } from '../../../server/engine/presets.ts';
import { openSqliteStorage } from '../../../server/recording/sqlite-store.ts';
import type { SessionHandle, SessionStorage, SessionWrite } from '../../../server/recording/store.ts';
import { tempDir } from './support.ts';

const HOLD = { startMs: 1000, endMs: 31_000.5, durationMs: 30_000.5, meanN: 20.123456, peakN: 25.000001, timeInBandMs: 30_000, timeOverMs: 0 };

function handle(deviceId: string, startedAtMs: number): SessionHandle {
  return { id: null, session: { deviceId, spec: 'sim:treatment', transport: 'sim', sensor: 'fsr', preset: 'shoulders', engineConfig: presetConfig('shoulders'), startedAtMs, firstDeviceMs: 0 } };
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

function storageSuite(name: string, open: (path: string) => SessionStorage): void {
  describe(`session storage primitives (${name})`, () => {
    let dir: ReturnType<typeof tempDir>;
    let storage: SessionStorage;
    const day = (date: number): number => Date.UTC(2026, 10, date, 10);

    beforeEach(async () => {
      dir = tempDir();
      storage = open(join(dir.path, 'storage.db'));
      const sessions = [handle('aaaaaaaa', day(1)), handle('bbbbbbbb', day(2)), handle('aaaaaaaa', day(3))];
      await storage.commit([
        write(sessions[0] as SessionHandle, [['Upper back', 'C5'], [null, null]], 2),
        write(sessions[1] as SessionHandle, [['upper-back', null]]),
        write(sessions[2] as SessionHandle, [['neck', 'c5']], 1),
      ]);
      expect(sessions.map((session) => session.id)).toEqual([1, 2, 3]);
    });
    afterEach(async () => {
      await storage.close();
      dir.remove();
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
}

storageSuite('SQLite', (path) => openSqliteStorage(path));
