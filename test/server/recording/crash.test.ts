// Crash safety and a database that cannot be written, with the real server in a child
// process: after kill -9 mid-session at most 1 s of samples (in device time) is lost and
// the next start marks the session interrupted; a read-only database file is reported to
// the dashboard while live readings go on, and is not fatal.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serverEventSchemas, type ClientToServerEvents, type RecorderStatus, type ServerToClientEvents } from '../../../server/contract/live-events.ts';
import { sampleEnvelopeSchema, sessionDetailSchema } from '../../../server/contract/records.ts';
import { openSqliteStore } from '../../../server/recording/sqlite-store.ts';
import { REPO_ROOT, spawnTsx, waitForLine } from '../../support/cli.ts';
import { until } from '../../support/until.ts';
import { getJson, startRecordingServer, tempDir } from './support.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
const NOBODY = 65_534;

function listen(url: string): { client: Client; recorder: RecorderStatus[]; readings: { count: number; lastMs: number } } {
  const client: Client = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  const recorder: RecorderStatus[] = [];
  const readings = { count: 0, lastMs: Number.NaN };
  client.on('recorder', (payload) => recorder.push(serverEventSchemas.recorder.parse(payload)));
  client.on('readings', (payload) => {
    for (const batch of serverEventSchemas.readings.parse(payload)) {
      readings.count++;
      readings.lastMs = batch.tMs.at(-1) ?? readings.lastMs;
    }
  });
  return { client, recorder, readings };
}

describe('crash safety', () => {
  let dir: ReturnType<typeof tempDir>;
  let child: ChildProcess | null = null;

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'close');
    }
    child = null;
    chmodSync(dir.path, 0o755);
    dir.remove();
  });

  it('loses at most 1 s of samples to kill -9 mid-session, and the next start marks the session interrupted', async () => {
    const db = join(dir.path, 'crash.db');
    const server = spawnTsx('server/cli/start.ts', ['--port', '0', '--db', db, '--device', 'sim:over-pressure?rate=100', '--seed', '7', '--log-level', 'warn']);
    child = server;
    const [, url] = await waitForLine(server, /Knotmeter dashboard: (\S+)/);
    const { client, recorder, readings } = listen(url ?? '');
    try {
      await until(() => recorder.at(-1)?.devices[0]?.sessionId != null, 'a session to be recorded', 30_000);
      const recordingFromMs = readings.lastMs;
      await until(() => readings.lastMs - recordingFromMs >= 2000, 'two more seconds of the session');
      // Killed the moment the next readings arrive: these samples surely existed in the server.
      const seenMs = await new Promise<number>((resolve) => {
        client.once('readings', (payload) => {
          server.kill('SIGKILL');
          resolve(Math.max(...serverEventSchemas.readings.parse(payload).map((batch) => batch.tMs.at(-1) ?? Number.NaN)));
        });
      });
      const [, signal] = (await once(server, 'close')) as [number | null, string | null];
      expect(signal).toBe('SIGKILL');

      const next = await startRecordingServer({ devices: [], db });
      try {
        const session = sessionDetailSchema.parse((await getJson(`${next.url}/api/sessions/1`)).body);
        expect(session.status).toBe('interrupted');
        expect(session.endedAt).not.toBeNull();
        const lastStoredMs = session.firstDeviceMs + session.durationMs;
        expect(seenMs - lastStoredMs).toBeLessThanOrEqual(1000);
        // The samples up to there are really in the file.
        const tail = sampleEnvelopeSchema.parse((await getJson(`${next.url}/api/sessions/1/samples?fromMs=${session.durationMs - 200}&toMs=${session.durationMs}`)).body);
        expect(tail.exact).toBe(true);
        expect(tail.tMs.at(-1)).toBe(session.durationMs);
        expect(session.sampleCount).toBeGreaterThanOrEqual(200);
      } finally {
        await next.close();
      }
    } finally {
      client.close();
    }
  });

  it('lets one server record into a file at a time: a second one runs, reads, and says why it records nothing', async () => {
    const db = join(dir.path, 'shared.db');
    const first = spawnTsx('server/cli/start.ts', ['--port', '0', '--db', db, '--device', 'sim:idle', '--log-level', 'warn']);
    child = first;
    await waitForLine(first, /Knotmeter dashboard: (\S+)/);
    const second = await startRecordingServer({ devices: ['sim:idle'], db });
    try {
      expect(second.recording?.recorder).toBeNull();
      expect(second.recording?.status()).toMatchObject({
        state: 'error',
        error: expect.stringMatching(new RegExp(`another Knotmeter server \\(pid ${first.pid ?? 0}\\) records into it: stop that one, or restart this one with --db and another file\\. Live view and alerts go on`)) as unknown,
      });
      expect((await getJson(`${second.url}/api/sessions`)).status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('reports a read-only database on the dashboard and goes on with live readings', async () => {
    const db = join(dir.path, 'readonly.db');
    await openSqliteStore(db).close();
    chmodSync(db, 0o444);
    chmodSync(dir.path, 0o555);
    const asRoot = process.getuid?.() === 0;
    // Root writes through file permissions: run the server as nobody so the file is truly read-only for it.
    // Its calibration profiles somewhere it may write (a fresh clone has no data/ that nobody could make).
    const dataDir = mkdtempSync(join(tmpdir(), 'knotmeter-readonly-data-'));
    chmodSync(dataDir, 0o777);
    const server = spawn(process.execPath, ['--import', 'tsx', 'server/cli/start.ts', '--port', '0', '--db', db, '--data-dir', dataDir, '--device', 'sim:treatment?rate=100', '--log-level', 'silent'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: NOBODY, gid: NOBODY, env: { ...process.env, HOME: dir.path } } : {}),
    });
    child = server;
    const [, url] = await waitForLine(server, /Knotmeter dashboard: (\S+)/);
    const { client, recorder, readings } = listen(url ?? '');
    try {
      await until(() => recorder.length > 0, 'the recorder status');
      expect(recorder[0]?.state).toBe('error');
      expect(recorder[0]?.database).toBe(db);
      expect(recorder[0]?.error).toMatch(/cannot record sessions in .*readonly\.db: the database is read-only: make the file and its folder writable, or restart with --db and a writable path\. Live view and alerts go on/);
      const before = readings.count;
      await until(() => readings.count >= before + 5, 'live readings to go on');
      const answer = await getJson(`${url ?? ''}/api/sessions`);
      // Recorded sessions stay readable where SQLite can read the file; otherwise the API says why.
      if (answer.status === 200) expect(answer.body).toMatchObject({ total: 0 });
      else expect(answer).toMatchObject({ status: 503, body: { error: expect.stringMatching(/read-only/) as unknown } });
      const reply: unknown = await client.timeout(5000).emitWithAck('labelHold', { deviceId: '00000000', bodyArea: 'neck', knot: null });
      expect(reply).toMatchObject({ ok: false, error: expect.stringMatching(/this server is not recording \(cannot record sessions in/) as unknown });
    } finally {
      client.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
