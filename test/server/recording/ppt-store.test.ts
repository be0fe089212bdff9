// PPT measurements and knot presets in the real SQLite store (migration 5): a posted
// measurement is analysed again and stored as the server found it; listing filters by
// knot (any spelling), device, phase, session and date; trends by knot and week with the
// baseline; a session's before/after pairs with the minimal detectable change; knot
// presets replaced per knot.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PPT_MDC_KPA, type PptMeasurementInput, type PptTrialSamples } from '../../../server/contract/ppt.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import { PptInputError } from '../../../server/recording/ppt-records.ts';
import { openSqliteStore } from '../../../server/recording/sqlite-store.ts';
import type { SessionStore } from '../../../server/recording/store.ts';
import { rampSamples } from './ppt-support.ts';

function input(overrides: Partial<PptMeasurementInput> = {}, ppts: readonly number[] = [20, 22, 24]): PptMeasurementInput {
  return { deviceId: '1a2b3c4d', bodyArea: 'Shoulders', knot: 'Left trap', phase: 'before', trials: ppts.map((pptN) => rampSamples(pptN)), ...overrides };
}

const DAY_MS = 86_400_000;
const MONDAY = Date.parse('2026-11-02T09:00:00Z');

describe('PPT measurements in the SQLite store', () => {
  let dir: string;
  let store: SessionStore;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'knotmeter-ppt-store-'));
    store = openSqliteStore(join(dir, 'knotmeter.db'));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores what the server analysed, with its settings; gets and deletes it', async () => {
    const saved = await store.ppt.save(input({ sessionId: 7, areaCm2: 1 }), MONDAY);
    expect(saved).toMatchObject({ deviceId: '1a2b3c4d', bodyArea: 'Shoulders', knot: 'Left trap', phase: 'before', sessionId: 7, rateKPaPerS: 50, areaCm2: 1, startLevelN: 1, createdAt: '2026-11-02T09:00:00.000Z' });
    expect(saved.trials.map((trial) => [trial.onset, trial.pptN])).toEqual([
      ['mark', 20],
      ['mark', 22],
      ['mark', 24],
    ]);
    // 7.5 N/s on 1 cm² is 75 kPa/s, within 50 % of 50: valid.
    expect(saved.summary).toMatchObject({ n: 3, meanPptN: 22, meanPptKPa: 220, sdN: 2 });
    expect(await store.ppt.get(saved.id)).toEqual(saved);
    expect(await store.ppt.delete(saved.id)).toBe(true);
    expect(await store.ppt.get(saved.id)).toBeNull();
    expect(await store.ppt.delete(saved.id)).toBe(false);
  });

  it('refuses a posted trial that holds no trial or two, naming it', async () => {
    const flat: PptTrialSamples = { tMs: [0, 10, 20], forceN: [0, 0.2, 0.1], markMs: null };
    await expect(store.ppt.save(input({ trials: [rampSamples(20), flat] }), MONDAY)).rejects.toThrow(PptInputError);
    await expect(store.ppt.save(input({ trials: [rampSamples(20), flat] }), MONDAY)).rejects.toThrow(/^trial 2: its samples hold no trial/);
    const first = rampSamples(20);
    const second = rampSamples(20, 7.5, (first.tMs.at(-1) ?? 0) + 10);
    const two: PptTrialSamples = { tMs: [...first.tMs, ...second.tMs], forceN: [...first.forceN.slice(0, -1), 0, ...second.forceN], markMs: second.markMs };
    await expect(store.ppt.save(input({ trials: [two] }), MONDAY)).rejects.toThrow(/^trial 1: its samples hold 2 trials/);
  });

  it('lists by knot in any spelling, device, phase, session and dates, newest first; trends by week; pairs per session', async () => {
    const week = 7 * DAY_MS;
    const a = await store.ppt.save(input({ sessionId: 1 }, [18, 18, 18]), MONDAY + week);
    const b = await store.ppt.save(input({ sessionId: 1, phase: 'after' }, [48, 48, 48]), MONDAY + week + 3_600_000);
    const c = await store.ppt.save(input({ sessionId: 2 }, [20, 20, 20]), MONDAY + 2 * week);
    const d = await store.ppt.save(input({ sessionId: 2, phase: 'after', knot: 'left-TRAP' }, [21, 21, 21]), MONDAY + 2 * week + 3_600_000);
    const other = await store.ppt.save(input({ deviceId: 'ffffffff', knot: 'right trap', sessionId: null }, [30, 30, 30]), MONDAY + 2 * week);
    const ids = async (filter: Parameters<SessionStore['ppt']['list']>[0]): Promise<number[]> => (await store.ppt.list(filter, { limit: 50, offset: 0 })).measurements.map((measurement) => measurement.id);
    expect(await ids({ knot: 'left_trap' })).toEqual([d.id, c.id, b.id, a.id]);
    expect(await ids({ deviceId: 'ffffffff' })).toEqual([other.id]);
    expect(await ids({ phase: 'after' })).toEqual([d.id, b.id]);
    expect(await ids({ sessionId: 2 })).toEqual([d.id, c.id]);
    expect(await ids({ fromMs: MONDAY + 2 * week, toMs: MONDAY + 2 * week + 1 })).toEqual([other.id, c.id]);
    expect((await store.ppt.list({}, { limit: 2, offset: 1 })).total).toBe(5);

    const trends = await store.ppt.trends({ knot: 'left trap' });
    expect(trends.mdcKPa).toBe(PPT_MDC_KPA);
    expect(trends.groups).toHaveLength(1);
    const [group] = trends.groups;
    expect(group).toMatchObject({ bodyArea: 'Shoulders', knot: 'Left trap', baselineKPa: 120 });
    expect(group?.points.map((point) => [point.id, point.phase])).toEqual([
      [a.id, 'before'],
      [b.id, 'after'],
      [c.id, 'before'],
      [d.id, 'after'],
    ]);
    expect(group?.weeks).toEqual([
      { weekStart: '2026-11-09', beforeKPa: 120, afterKPa: (48 * 10) / 1.5, beforeCount: 1, afterCount: 1 },
      { weekStart: '2026-11-16', beforeKPa: (20 * 10) / 1.5, afterKPa: 140, beforeCount: 1, afterCount: 1 },
    ]);

    const one = await store.ppt.sessionPairs(1);
    expect(one.pairs).toHaveLength(1);
    expect(one.pairs[0]).toMatchObject({ before: { id: a.id }, after: { id: b.id }, differenceN: 30, beyondMdc: true });
    expect(one.pairs[0]?.differenceKPa).toBeCloseTo(300 / 1.5, 9);
    const two = await store.ppt.sessionPairs(2);
    expect(two.pairs[0]).toMatchObject({ before: { id: c.id }, after: { id: d.id }, differenceN: 1, beyondMdc: false });
    expect((await store.ppt.sessionPairs(99)).pairs).toEqual([]);
    expect((await store.ppt.latestPpt('shoulders', 'LEFT TRAP'))?.id).toBe(d.id);
  });

  it('keeps one custom preset per knot: accepting again replaces it', async () => {
    const config = { ...presetConfig('shoulders'), bandLowN: 10, bandHighN: 16, overLimitN: 20, overClearN: 18 };
    const first = await store.ppt.putKnotPreset({ name: 'Left trap (PPT)', bodyArea: 'Shoulders', knot: 'Left trap', engineConfig: config, fromMeasurementId: null, pptN: 20 }, MONDAY);
    const again = await store.ppt.putKnotPreset({ name: 'Left trap, week 2', bodyArea: 'shoulders', knot: 'left-trap', engineConfig: { ...config, overLimitN: 22 }, fromMeasurementId: null, pptN: 22 }, MONDAY + DAY_MS);
    expect(again.id).toBe(first.id);
    expect(await store.ppt.knotPresets()).toEqual([again]);
    expect((await store.ppt.knotPreset('SHOULDERS', 'left trap'))?.engineConfig.overLimitN).toBe(22);
    expect(await store.ppt.knotPreset('neck', 'left trap')).toBeNull();
    expect(await store.ppt.deleteKnotPreset(again.id)).toBe(true);
    expect(await store.ppt.knotPresets()).toEqual([]);
  });
});
