// The PPT REST API on the real server (real SQLite file, a simulated device): a posted
// measurement is analysed again and stored, listed with filters, exported as safe CSV and
// as JSON, deleted with an audit entry; trends per knot; a session's before/after pair;
// the preset from a knot's PPT previewed against the one in force, refused when no sane
// preset can be made, and accepted into a knot preset (audited) that runs whenever the knot
// is labelled on the device.
import { join } from 'node:path';
import { pino } from 'pino';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { auditPageSchema } from '../../../server/contract/audit.ts';
import { commandReplySchema, type CommandReply } from '../../../server/contract/live-events.ts';
import { PPT_CSV_COLUMNS } from '../../../server/contract/csv.ts';
import { knotPresetSchema, pptMeasurementPageSchema, pptMeasurementSchema, pptPresetPreviewSchema, pptSessionPairsSchema, pptTrendsSchema, type PptMeasurementInput } from '../../../server/contract/ppt.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import { getJson, seedPastSessions, tempDir } from '../recording/support.ts';
import { rampSamples } from '../recording/ppt-support.ts';
import { until } from '../../support/until.ts';

function measurement(overrides: Partial<PptMeasurementInput> = {}, ppts: readonly number[] = [20, 22, 24]): PptMeasurementInput {
  return { deviceId: '1a2b3c4d', bodyArea: 'shoulders', knot: 'left trap', phase: 'before', trials: ppts.map((pptN) => rampSamples(pptN)), ...overrides };
}

describe('PPT REST API', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let deviceId = '';
  const post = (path: string, body: unknown) => getJson(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    dir = tempDir('knotmeter-ppt-api-');
    const db = join(dir.path, 'ppt.db');
    await seedPastSessions(db, [{ startedAtMs: Date.UTC(2026, 10, 2, 8), holds: [{ durationMs: 40_000, peakN: 20, bodyArea: 'shoulders', knot: 'left trap' }] }]);
    server = await startServer({ host: '127.0.0.1', port: 0, devices: ['sim:treatment'], seed: 15, engine: { preset: 'shoulders', config: presetConfig('shoulders') }, logger: pino({ level: 'silent' }), db, dataDir: dir.path });
    await until(() => server.pipelines[0]?.info !== null, 'the simulated device to introduce itself');
    deviceId = server.pipelines[0]?.info?.deviceId ?? '';
  });
  afterAll(async () => {
    await server.close();
    dir.remove();
  });

  it('stores a posted measurement as the server analyses it, in a session; refuses what it cannot analyse, naming the trial', async () => {
    const saved = await post('/api/ppt', measurement({ sessionId: 1 }));
    expect(saved.status).toBe(201);
    const stored = pptMeasurementSchema.parse(saved.body);
    expect(stored.summary).toMatchObject({ n: 3, meanPptN: 22 });
    expect(stored.trials.every((trial) => trial.onset === 'mark' && trial.valid)).toBe(true);
    expect((await getJson(`${server.url}/api/ppt/${stored.id}`)).body).toEqual(stored);

    const figures = await post('/api/ppt', { ...measurement(), trials: [{ ...rampSamples(20), pptN: 99 }] });
    expect(figures.status).toBe(400);
    expect(figures.body).toEqual({ error: expect.stringMatching(/unknown parameter "pptN"/) as unknown });
    const none = await post('/api/ppt', measurement({ trials: [rampSamples(20), { tMs: [0, 10], forceN: [0, 0.3], markMs: null }] }));
    expect(none).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^body: trials: trial 2: its samples hold no trial/) as unknown } });
    const noSession = await post('/api/ppt', measurement({ sessionId: 99 }));
    expect(noSession).toMatchObject({ status: 400, body: { error: expect.stringMatching(/sessionId: there is no session 99/) as unknown } });
    const badPhase = await post('/api/ppt', { ...measurement(), phase: 'during' });
    expect(badPhase.status).toBe(400);
    expect((await getJson(`${server.url}/api/ppt/999`)).status).toBe(404);
  });

  it('takes ten long trials at 1 kHz (over the 1 MiB other bodies may have) and refuses a body over 4 MiB', async () => {
    // 10 trials of some 10 s each at 1 kHz, up to 80 N at 7.5 N/s.
    const atOneKilohertz = (pptN: number) => {
      const tMs: number[] = [];
      const forceN: number[] = [];
      for (let t = 0; (forceN.at(-1) ?? 0) < pptN; t++) {
        tMs.push(t);
        forceN.push(t <= 100 ? 0 : ((t - 100) * 7.5) / 1000);
      }
      return { tMs, forceN, markMs: tMs.at(-1) ?? 0 };
    };
    const long = measurement({ knot: 'long', trials: Array.from({ length: 10 }, (_, index) => atOneKilohertz(71 + index)) });
    expect(JSON.stringify(long).length).toBeGreaterThan(1024 * 1024);
    const saved = await post('/api/ppt', long);
    expect(saved.status).toBe(201);
    expect(pptMeasurementSchema.parse(saved.body).summary.n).toBe(10);
    const huge = await post('/api/ppt', { ...long, notes: 'x'.repeat(4 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect((await fetch(`${server.url}/api/ppt/${pptMeasurementSchema.parse(saved.body).id}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('lists with filters, trends per knot, pairs the session, exports CSV safe for a spreadsheet and JSON, and audits a delete', async () => {
    const after = pptMeasurementSchema.parse((await post('/api/ppt', measurement({ sessionId: 1, phase: 'after', knot: 'Left-Trap' }, [50, 50, 50]))).body);
    const odd = pptMeasurementSchema.parse((await post('/api/ppt', measurement({ knot: '=HYPERLINK("x")' }, [30, 30, 30]))).body);
    const page = pptMeasurementPageSchema.parse((await getJson(`${server.url}/api/ppt?knot=left_trap&phase=after`)).body);
    expect(page.measurements.map((entry) => entry.id)).toEqual([after.id]);
    expect(pptMeasurementPageSchema.parse((await getJson(`${server.url}/api/ppt?sessionId=1`)).body).total).toBe(2);
    expect((await getJson(`${server.url}/api/ppt?phase=during`)).status).toBe(400);

    const trends = pptTrendsSchema.parse((await getJson(`${server.url}/api/ppt/trends?knot=left%20trap`)).body);
    expect(trends.groups).toHaveLength(1);
    expect(trends.groups[0]?.points.map((point) => point.phase)).toEqual(['before', 'after']);
    const pairs = pptSessionPairsSchema.parse((await getJson(`${server.url}/api/sessions/1/ppt`)).body);
    expect(pairs.pairs).toHaveLength(1);
    expect(pairs.pairs[0]).toMatchObject({ after: { id: after.id }, differenceN: 28, beyondMdc: true });
    expect((await getJson(`${server.url}/api/sessions/99/ppt`)).status).toBe(404);

    const csv = await fetch(`${server.url}/api/ppt/export.csv?knot=${encodeURIComponent('=HYPERLINK("x")')}`);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="knotmeter-ppt.csv"');
    const lines = (await csv.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe(PPT_CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain(`"'=HYPERLINK(""x"")"`);
    const json = (await getJson(`${server.url}/api/ppt/export.json?sessionId=1`)).body as { measurements: unknown[] };
    const inSession = pptMeasurementPageSchema.parse((await getJson(`${server.url}/api/ppt?sessionId=1`)).body).measurements;
    expect(json.measurements.map((entry) => pptMeasurementSchema.parse(entry))).toEqual(inSession);
    expect(inSession.map((entry) => entry.phase)).toEqual(['after', 'before']);

    const deleted = await fetch(`${server.url}/api/ppt/${odd.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect((await fetch(`${server.url}/api/ppt/${odd.id}`, { method: 'DELETE' })).status).toBe(404);
    const [entry] = auditPageSchema.parse((await getJson(`${server.url}/api/audit`)).body).entries;
    expect(entry).toMatchObject({ action: 'delete', client: 'localhost', deviceId: '1a2b3c4d', before: { pptMeasurement: odd.id, knot: '=HYPERLINK("x")', meanPptN: 30 }, after: null });
  });

  it('previews a preset from the knot\'s latest PPT against the one in force, refuses an unsafe one, and accepts it into a knot preset (audited)', async () => {
    const query = (knot: string, device = deviceId) => `${server.url}/api/ppt/preset-preview?bodyArea=shoulders&knot=${encodeURIComponent(knot)}&deviceId=${device}`;
    const preview = pptPresetPreviewSchema.parse((await getJson(query('left trap'))).body);
    // The latest measurement of the knot is the "after" at 50 N.
    expect(preview).toMatchObject({ pptN: 50, current: { name: 'shoulders', engineConfig: presetConfig('shoulders') } });
    expect(preview.proposed).toMatchObject({ bandLowN: 25, bandHighN: 40, overLimitN: 50, targetHoldMs: presetConfig('shoulders').targetHoldMs });
    expect(preview.ceilingN).toBeGreaterThan(50);

    expect((await getJson(query('right trap'))).status).toBe(404);
    expect((await getJson(query('left trap', 'ffffffff'))).status).toBe(404);
    // Valid trials (4 N/s is within 50 % of 7.5) at 3.5 N: a band of 1.75-2.8 N would sit in noise.
    expect((await post('/api/ppt', measurement({ knot: 'tiny', trials: [rampSamples(3.5, 4)] }))).status).toBe(201);
    const tooLow = await getJson(query('tiny'));
    expect(tooLow).toMatchObject({ status: 422, body: { error: expect.stringMatching(/the PPT \(3.5 N\) is too low for a preset/) as unknown } });

    const stale = await post('/api/ppt/presets', { bodyArea: 'shoulders', knot: 'left trap', deviceId, fromMeasurementId: preview.fromMeasurementId - 1 });
    expect(stale.status).toBe(409);
    const accepted = await post('/api/ppt/presets', { bodyArea: 'shoulders', knot: 'left trap', deviceId, fromMeasurementId: preview.fromMeasurementId, name: 'Left trap after week 1' });
    expect(accepted.status).toBe(201);
    const preset = knotPresetSchema.parse(accepted.body);
    expect(preset).toMatchObject({ name: 'Left trap after week 1', engineConfig: preview.proposed, fromMeasurementId: preview.fromMeasurementId });
    expect((await getJson(`${server.url}/api/ppt/presets`)).body).toEqual({ presets: [preset] });
    // Now the knot's own preset is the one in force for its preview.
    expect(pptPresetPreviewSchema.parse((await getJson(query('left trap'))).body).current.name).toBe('Left trap after week 1');
    const [entry] = auditPageSchema.parse((await getJson(`${server.url}/api/audit`)).body).entries;
    expect(entry).toMatchObject({ action: 'preset', deviceId, before: { preset: 'shoulders', overLimitN: 45 }, after: { preset: 'Left trap after week 1', knotPreset: preset.id, overLimitN: 50 } });

    // Labelling the knot on the device runs its preset; a body-area preset picked afterwards replaces it.
    const client = io(server.url, { transports: ['websocket'], forceNew: true });
    try {
      const ask = async (event: 'labelHold' | 'selectPreset', payload: unknown): Promise<CommandReply> => {
        const timed = client.timeout(10_000);
        const emit = timed.emitWithAck.bind(timed) as (event: string, payload: unknown) => Promise<unknown>;
        return commandReplySchema.parse(await emit(event, payload));
      };
      expect(await ask('labelHold', { deviceId, bodyArea: 'Shoulders', knot: 'left-trap' })).toEqual({ ok: true });
      await until(() => server.pipelines[0]?.info?.engineConfig.overLimitN === 50, 'the knot preset to run on the device');
      expect(server.pipelines[0]?.info).toMatchObject({ preset: null, engineConfig: preset.engineConfig });
      // The audit entry is written with the switch (SQLite answers at once).
      expect(auditPageSchema.parse((await getJson(`${server.url}/api/audit`)).body).entries[0]).toMatchObject({ action: 'preset', client: 'localhost', after: { knotPreset: preset.id } });
      expect(await ask('selectPreset', { deviceId, preset: 'neck' })).toEqual({ ok: true });
      expect(server.pipelines[0]?.info).toMatchObject({ preset: 'neck', engineConfig: presetConfig('neck') });
    } finally {
      client.close();
    }

    expect((await fetch(`${server.url}/api/ppt/presets/${preset.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await getJson(`${server.url}/api/ppt/presets`)).body).toEqual({ presets: [] });
  });
});
