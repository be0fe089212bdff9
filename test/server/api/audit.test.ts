// The calibration save guard and the audit log on the real server (real SQLite file, real
// socket.io client, the simulated calibration bench). The issue's attack: loads typed ten
// times too light (kept with confirm) make a calibration that reads a tenth; saving it is
// refused, saying how far it moves forces, and saved only when the request is repeated
// with confirm: true. A preset change, the tare, the save and a session deleted over REST
// each leave an entry (time, "localhost", before and after) that GET /api/audit serves,
// newest first.
import { join } from 'node:path';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { auditPageSchema, type AuditEntry } from '../../../server/contract/audit.ts';
import { commandReplySchema, serverEventSchemas, type ClientToServerEvents, type CommandReply, type DeviceInfo, type ServerToClientEvents } from '../../../server/contract/live-events.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import { clientName } from '../../../server/security/client-name.ts';
import { getJson, seedPastSessions, tempDir } from '../recording/support.ts';
import { until } from '../../support/until.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/** 5 N and 10 N in turn on an FSR that reads as the documented curve. */
const BENCH = 'sim:weights?loads=5,10&holdS=5&speed=2';

describe('calibration save guard and audit log (issue 12)', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let client: Client;
  let devices: DeviceInfo[] = [];
  let raws: number[] = [];
  let deviceId = '';

  const ask = async (event: keyof ClientToServerEvents, payload: unknown): Promise<CommandReply> => {
    const timed = client.timeout(40_000);
    const emit = timed.emitWithAck.bind(timed) as (event: string, payload: unknown) => Promise<unknown>;
    return commandReplySchema.parse(await emit(event, payload));
  };
  const audit = async (query = ''): Promise<AuditEntry[]> => {
    const { status, body } = await getJson(`${server.url}/api/audit${query}`);
    expect(status).toBe(200);
    return auditPageSchema.parse(body).entries;
  };

  beforeAll(async () => {
    dir = tempDir('knotmeter-audit-');
    const db = join(dir.path, 'audit.db');
    await seedPastSessions(db, [{ startedAtMs: Date.UTC(2026, 10, 2, 8), holds: [{ durationMs: 40_000, peakN: 20, bodyArea: 'neck', knot: null }] }]);
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      devices: [BENCH],
      seed: 12,
      engine: { preset: 'shoulders', config: presetConfig('shoulders') },
      logger: pino({ level: 'silent' }),
      db,
      dataDir: dir.path,
    });
    client = io(server.url, { transports: ['websocket'], forceNew: true });
    client.on('devices', (payload) => (devices = serverEventSchemas.devices.parse(payload)));
    client.on('readings', (payload) => {
      for (const batch of serverEventSchemas.readings.parse(payload)) raws.push(...batch.raw);
      if (raws.length > 2000) raws = raws.slice(-500);
    });
    await until(() => devices.length === 1, 'the bench');
    deviceId = devices[0]?.deviceId ?? '';
  });
  afterAll(async () => {
    client.close();
    await server.close();
    dir.remove();
  });

  it('starts with an empty log, and refuses a bad page', async () => {
    expect(await audit()).toEqual([]);
    const bad = await getJson(`${server.url}/api/audit?limit=0&colour=red`);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: expect.stringMatching(/unknown parameter "colour".*|limit must be a whole number from 1 to 200/) as unknown });
  });

  it('a calibration off by 10x needs confirmation: refused with the change shown, saved on confirm', { timeout: 120_000 }, async () => {
    expect(await ask('selectPreset', { deviceId, preset: 'neck' })).toEqual({ ok: true });
    await until(() => raws.length >= 150 && raws.slice(-150).every((raw) => raw < 10), 'the bench to rest unloaded', 60_000);
    expect(await ask('calibrationTare', { deviceId })).toEqual({ ok: true });
    // 5 N and 10 N go on; typed as 0.5 N and 1 N, each kept against the plausibility check.
    expect(await ask('calibrationCapture', { deviceId, value: 0.5, unit: 'N', confirm: true })).toEqual({ ok: true });
    expect(await ask('calibrationCapture', { deviceId, value: 1, unit: 'N', confirm: true })).toEqual({ ok: true });

    const refused = await ask('calibrationSave', { deviceId, areaCm2: 1.5 });
    expect(refused).toEqual({
      ok: false,
      confirmable: true,
      error: expect.stringMatching(
        /^calibration for device [0-9a-f]{8}: this calibration reads \d+\.\d\d N as \d\.\d\d N: 9\d % lower than the sensor's default curve \(no profile yet\) at \d+\.\d\d N: an over-pressure warning would come only at about \d+\.\d times the force it comes at now .*confirm to save it$/,
      ) as unknown,
    });
    expect(server.profiles.read(deviceId)).toBeNull();

    expect(await ask('calibrationSave', { deviceId, areaCm2: 1.5, confirm: true })).toEqual({ ok: true });
    expect(server.profiles.read(deviceId)?.history).toHaveLength(1);
  });

  it('preset, tare, save and a REST delete are in the audit log, newest first, with who and before/after', async () => {
    const deleted = await fetch(`${server.url}/api/sessions/1`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    // The trail writes as the change is made, without holding it up: poll until all four are there.
    let entries: AuditEntry[] = [];
    const polling = setInterval(() => void audit().then((page) => (entries = page)), 50);
    try {
      await until(() => entries.length >= 4, 'four audit entries');
    } finally {
      clearInterval(polling);
    }
    expect(entries.map((entry) => entry.action)).toEqual(['delete', 'calibration', 'tare', 'preset']);
    expect(entries.every((entry) => entry.client === 'localhost' && !Number.isNaN(Date.parse(entry.at)))).toBe(true);
    expect(entries.map((entry) => entry.id)).toEqual([4, 3, 2, 1]);
    const [remove, calibration, tare, preset] = entries;
    expect(preset).toMatchObject({ deviceId, sessionId: null, before: { preset: 'shoulders' }, after: { preset: 'neck' } });
    expect(tare).toMatchObject({ deviceId, before: { tareRaw: null }, after: { onDevice: false, profileRezeroed: false, confirmed: false } });
    expect(calibration).toMatchObject({ deviceId, before: { profile: 'default curve' }, after: { model: expect.any(String) as unknown, points: 2, confirmed: true, largestChange: expect.stringMatching(/^-9\d % at \d+\.\d\d N$/) as unknown } });
    expect(remove).toMatchObject({ deviceId: '5eed5eed', sessionId: 1, before: { holdCount: 1, warningCount: 0, startedAt: '2026-11-02T08:00:00.000Z' }, after: null });
    // Paged: the oldest alone.
    expect((await audit('?limit=1&offset=3')).map((entry) => entry.action)).toEqual(['preset']);
  });
});

describe('clientName: who the audit log says made a change', () => {
  it.each([
    ['127.0.0.1', 'localhost'],
    ['127.8.9.10', 'localhost'],
    ['::1', 'localhost'],
    ['::ffff:127.0.0.1', 'localhost'],
    ['192.168.1.20', '192.168.1.20'],
    ['::ffff:192.168.1.20', '::ffff:192.168.1.20'],
    ['fe80::1', 'fe80::1'],
    [undefined, 'unknown client'],
  ])('%s is %s', (address, name) => {
    expect(clientName({ address })).toBe(name);
  });
});
