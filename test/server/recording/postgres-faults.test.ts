// Recording into a real PostgreSQL (started by the test) through its faults: the database
// stopped in the middle of a session and started again loses nothing (the recorder keeps
// the samples meanwhile and says so), and a server killed with -9 leaves its session to
// be marked interrupted by the next server to start (once PostgreSQL answers, if it was down
// then), while a server still running keeps recording its own.
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../server/app.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import { PostgresSessionStorage } from '../../../server/recording/postgres/postgres-store.ts';
import type { SessionHandle } from '../../../server/recording/store.ts';
import { sessionDetailSchema, sessionPageSchema, type SessionSummary } from '../../../server/contract/records.ts';
import { spawnTsx, waitForLine } from '../../support/cli.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';
import { until } from '../../support/until.ts';
import { getJson, startRecordingServer } from './support.ts';

describe('recording into PostgreSQL through its faults', () => {
  let postgres: TestPostgres;
  const servers: RunningServer[] = [];
  let child: ChildProcess | null = null;

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'close');
    }
    child = null;
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  afterAll(async () => {
    await postgres.destroy();
  });

  it('keeps the samples while PostgreSQL is down and writes them all when it is back', async () => {
    const url = await postgres.createDatabase('outage');
    const server = await startRecordingServer({ devices: ['sim:over-pressure?rate=100'], db: { kind: 'postgres', url }, replaySpeed: 1 });
    servers.push(server);
    const recording = server.recording;
    if (recording === null) throw new Error('not recording');
    await until(() => recording.status().devices[0]?.sessionId != null, 'a session to be recorded', 30_000);

    await postgres.stop();
    await until(() => recording.status().state === 'error', 'the recorder to see PostgreSQL gone', 15_000);
    const down = recording.status();
    expect(down.error).toMatch(/^cannot record sessions in postgres:\/\/knotmeter@127\.0\.0\.1:\d+\/outage: PostgreSQL does not answer \(.*\): start it, or check the network to it; recording resumes by itself when it answers\. Live view and alerts go on; up to 2400000 samples \(60 s of 40 devices at 1 kHz\) wait in memory/);
    await until(() => (recording.status().buffered?.samples ?? 0) >= 300, 'three seconds of samples kept in memory', 15_000);
    await postgres.start();
    await until(() => recording.status().state === 'recording', 'recording to resume', 20_000);
    expect(recording.status().buffered).toBeUndefined();
    const id = recording.status().devices[0]?.sessionId ?? 0;
    // Ends the session and writes the rest: what is stored can be compared whole.
    await recording.recorder?.close();
    const session = sessionDetailSchema.parse((await getJson(`${server.url}/api/sessions/${id}`)).body);
    const times: number[] = [];
    for await (const chunk of recording.store?.readSamples(id) ?? []) times.push(...chunk.tMs);
    // Every sample of the session is there: one every 10 ms, no gap where PostgreSQL was down.
    expect(times.length).toBe(session.sampleCount);
    expect(session.durationMs).toBeGreaterThan(3000);
    const gaps = times.slice(1).map((tMs, index) => tMs - (times[index] ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(10 + 1e-6);
    expect(recording.recorder?.droppedSamples).toBe(0);
  }, 90_000);

  it('marks what a dead server left recording interrupted once PostgreSQL answers, when it was down at the start', async () => {
    const url = await postgres.createDatabase('down_at_start');
    // A server that recorded and died: its storage closed without ending the session frees its lock, as -9 does.
    const dead = new PostgresSessionStorage(url);
    const left: SessionHandle = { id: null, session: { deviceId: '0d0e0a0d', spec: 'sim', transport: 'sim', sensor: 'fsr', preset: 'shoulders', engineConfig: presetConfig('shoulders'), startedAtMs: Date.now(), firstDeviceMs: 0 } };
    await dead.commit([{ handle: left, samples: [], holds: [], warnings: [], durationMs: 0, end: null }]);
    await dead.close();

    await postgres.stop();
    const server = await startRecordingServer({ devices: [], db: { kind: 'postgres', url } });
    servers.push(server);
    const recording = server.recording;
    if (recording === null) throw new Error('not recording');
    expect(recording.status().state).toBe('error');
    await postgres.start();
    await until(() => recording.status().state === 'recording', 'the recorder to reach PostgreSQL again', 20_000);
    expect((await recording.store?.getSession(left.id ?? 0))?.status).toBe('interrupted');
  }, 60_000);

  it('marks the session of a server killed with -9 interrupted at the next start, not that of a server still running', async () => {
    const url = await postgres.createDatabase('killed');
    const killed = spawnTsx('server/cli/start.ts', ['--port', '0', '--store', url, '--device', 'sim:over-pressure?rate=100', '--seed', '7', '--log-level', 'warn']);
    child = killed;
    await waitForLine(killed, /Knotmeter dashboard: (\S+)/);
    const running = await startRecordingServer({ devices: ['sim:over-pressure?rate=100'], db: { kind: 'postgres', url }, replaySpeed: 1 });
    servers.push(running);
    const sessions = async () => sessionPageSchema.parse((await getJson(`${running.url}/api/sessions`)).body).sessions;
    let listed: SessionSummary[] = [];
    await until(() => {
      void sessions().then((found) => (listed = found));
      return listed.length === 2;
    }, 'a session from each server', 30_000);
    const ownId = running.recording?.status().devices[0]?.sessionId ?? null;
    const killedId = listed.map((session) => session.id).find((id) => id !== ownId);
    expect(ownId).not.toBeNull();

    killed.kill('SIGKILL');
    await once(killed, 'close');
    const next = await startRecordingServer({ devices: [], db: { kind: 'postgres', url } });
    servers.push(next);
    const after = sessionPageSchema.parse((await getJson(`${next.url}/api/sessions`)).body).sessions;
    expect(after.find((session) => session.id === killedId)?.status).toBe('interrupted');
    expect(after.find((session) => session.id === ownId)?.status).toBe('recording');
    // The running server goes on writing into its session.
    const before = after.find((session) => session.id === ownId)?.durationMs ?? 0;
    await running.recording?.recorder?.flush(true);
    await until(() => {
      void sessions().then((found) => (listed = found));
      return (listed.find((session) => session.id === ownId)?.durationMs ?? 0) > before;
    }, 'more samples from the running server');
  }, 90_000);
});
