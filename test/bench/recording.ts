/**
 * Recording benchmarks (`npm run bench`, the recording section), each figure next to a
 * baseline measured in the same run, on real SQLite files in a temporary folder:
 *
 * 1. Insert rate of batched samples: the store's commit of 200 ms chunks (what the
 *    recorder writes every flush), against one row per sample in the same transactions.
 * 2. Recorder CPU share with 8 devices at 1 kHz, in real time: a feeding loop with the
 *    recorder against the same loop without it. Goal: at most 5 % of a core.
 * 3. Serving a 1 h session's 2000-point overview over HTTP (`GET .../samples`), against
 *    computing the same envelope from every sample. Goal: at most 50 ms.
 * 4. PostgreSQL against SQLite in the same run (a real PostgreSQL 15 started here, its
 *    default settings, fsync on): 40 devices at 1 kHz recorded in real time (samples/s
 *    stored, chunk rows/s, CPU of this process and of the PostgreSQL server), and the
 *    1 h overview read from each store.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { parseDeviceSpec } from '../../device/device-spec.ts';
import { LIVE_DEVICE } from '../../device/transport.ts';
import { parseSimulatorSpec, SimulatedSampleSource } from '../../device/transports/simulator.ts';
import { startServer } from '../../server/app.ts';
import { presetConfig } from '../../server/engine/presets.ts';
import type { DeviceInfo } from '../../server/contract/live-events.ts';
import { EnvelopeBuilder } from '../../server/recording/envelope.ts';
import { Recorder, toChunks } from '../../server/recording/recorder.ts';
import { openSqliteStore } from '../../server/recording/sqlite-store.ts';
import { PostgresSessionStorage } from '../../server/recording/postgres/postgres-store.ts';
import { sessionStore } from '../../server/recording/sessions.ts';
import type { NewSession, SessionHandle, SessionStore } from '../../server/recording/store.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

const RATE_HZ = 1000;
const FLUSH_MS = 200;
const DEVICES = 8;
const CPU_WINDOW_S = 10;

function newSession(deviceId: string): NewSession {
  return { deviceId, spec: 'bench', transport: 'sim', sensor: 'fsr', preset: 'shoulders', engineConfig: presetConfig('shoulders'), startedAtMs: Date.now(), firstDeviceMs: 0 };
}

/** Readings of a simulated treatment at 1 kHz, as the pipeline hands them over. */
function treatment(seed: number, samples: number): { tMs: number[]; forceN: number[]; raw: number[] } {
  const source = new SimulatedSampleSource(parseSimulatorSpec(parseDeviceSpec(`sim:over-pressure?rate=${RATE_HZ}`), { instance: 0, seed }));
  const taken = source.take(samples);
  return { tMs: taken.map((sample) => sample.deviceTimeUs / 1000), forceN: taken.map((sample) => source.calibration.toNewtons(sample.raw)), raw: taken.map((sample) => sample.raw) };
}

async function insertRate(dir: string): Promise<{ chunked: number; perRow: number }> {
  const flushes = 500;
  const perFlush = (RATE_HZ * FLUSH_MS) / 1000;
  const trace = treatment(11, perFlush * flushes);
  // Baseline: the obvious schema, one row per sample, one transaction per flush.
  const rows = new Database(join(dir, 'rows.db'));
  rows.pragma('journal_mode = WAL');
  rows.pragma('synchronous = NORMAL');
  rows.exec('CREATE TABLE samples (session_id INTEGER NOT NULL, t_ms REAL NOT NULL, force_n REAL NOT NULL, raw INTEGER NOT NULL); CREATE INDEX samples_time ON samples (session_id, t_ms)');
  const insert = rows.prepare('INSERT INTO samples VALUES (1, ?, ?, ?)');
  const writeFlush = rows.transaction((from: number) => {
    for (let index = from; index < from + perFlush; index++) insert.run(trace.tMs[index], trace.forceN[index], trace.raw[index]);
  });
  let startedMs = performance.now();
  for (let flush = 0; flush < flushes; flush++) writeFlush(flush * perFlush);
  const perRow = (flushes * perFlush) / ((performance.now() - startedMs) / 1000);
  rows.close();

  const store = openSqliteStore(join(dir, 'chunks.db'));
  const handle: SessionHandle = { id: null, session: newSession('bench0000') };
  startedMs = performance.now();
  for (let flush = 0; flush < flushes; flush++) {
    const from = flush * perFlush;
    const run = { tMs: trace.tMs.slice(from, from + perFlush), forceN: trace.forceN.slice(from, from + perFlush), raw: trace.raw.slice(from, from + perFlush) };
    await store.commit([{ handle, samples: toChunks([run], 0), holds: [], warnings: [], durationMs: run.tMs.at(-1) ?? 0, end: null }]);
  }
  const chunked = (flushes * perFlush) / ((performance.now() - startedMs) / 1000);
  await store.close();
  return { chunked, perRow };
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** CPU share of a real-time loop feeding 8 devices at 1 kHz every 10 ms, with or without the recorder. */
async function feedingShare(dir: string, withRecorder: boolean): Promise<{ share: number; samples: number }> {
  const traces = Array.from({ length: DEVICES }, (_, device) => treatment(100 + device, RATE_HZ * CPU_WINDOW_S));
  const store = withRecorder ? openSqliteStore(join(dir, `cpu-${DEVICES}.db`)) : null;
  const recorder = store === null ? null : new Recorder({ store, logger: pino({ level: 'silent' }), sessionIdleMs: 60_000 });
  const infos: DeviceInfo[] = traces.map((_, device) => ({ deviceId: `be0c${String(device).padStart(4, '0')}`, name: `Bench ${device}`, spec: 'sim', transport: 'sim', capabilities: LIVE_DEVICE, sensor: 'fsr', calibration: 'exact', preset: 'shoulders', engineConfig: presetConfig('shoulders') }));
  for (const info of infos) recorder?.onInfo(info);
  const tickMs = 10;
  const perTick = (RATE_HZ * tickMs) / 1000;
  let sink = 0;
  const startedMs = performance.now();
  const startedCpuMs = cpuMs();
  for (let tick = 0; tick * perTick < RATE_HZ * CPU_WINDOW_S; tick++) {
    const dueMs = startedMs + tick * tickMs;
    const waitMs = dueMs - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    for (const [device, trace] of traces.entries()) {
      const from = tick * perTick;
      const readings = { tMs: trace.tMs.slice(from, from + perTick), forceN: trace.forceN.slice(from, from + perTick), raw: trace.raw.slice(from, from + perTick) };
      sink += readings.tMs.length;
      recorder?.onReadings(infos[device]?.deviceId ?? '', readings);
    }
  }
  await recorder?.close();
  const share = (cpuMs() - startedCpuMs) / (performance.now() - startedMs);
  await store?.close();
  return { share, samples: sink };
}

async function overview(dir: string): Promise<{ servedMedianMs: number; servedMaxMs: number; fromSamplesMs: number; chunks: number; fileMiB: number }> {
  const path = join(dir, 'hour.db');
  const store = openSqliteStore(path);
  const handle: SessionHandle = { id: null, session: newSession('bench1h00') };
  const hourSamples = RATE_HZ * 3600;
  const perFlush = (RATE_HZ * FLUSH_MS) / 1000;
  const piece = treatment(7, 60 * RATE_HZ);
  for (let from = 0; from < hourSamples; from += perFlush) {
    const offset = from % piece.tMs.length;
    const tMs = Array.from({ length: perFlush }, (_, index) => (from + index) / (RATE_HZ / 1000));
    const run = { tMs, forceN: piece.forceN.slice(offset, offset + perFlush), raw: piece.raw.slice(offset, offset + perFlush) };
    await store.commit([{ handle, samples: toChunks([run], 0), holds: [], warnings: [], durationMs: tMs.at(-1) ?? 0, end: from + perFlush >= hourSamples ? { status: 'complete', endedAtMs: Date.now() } : null }]);
  }
  await store.close();

  // Baseline: the same envelope from every sample of the hour, in process.
  const reader = openSqliteStore(path, { readonly: true });
  let startedMs = performance.now();
  const builder = new EnvelopeBuilder(0, hourSamples - 1, 2000);
  for await (const chunk of reader.readSamples(1)) builder.addSamples(chunk.tMs, chunk.forceN);
  const fromSamplesMs = performance.now() - startedMs;
  const chunks = (await reader.getSession(1))?.sampleCount ?? 0;
  await reader.close();

  const server = await startServer({ host: '127.0.0.1', port: 0, devices: [], seed: 1, engine: { preset: 'shoulders', config: presetConfig('shoulders') }, logger: pino({ level: 'silent' }), db: path });
  const times: number[] = [];
  try {
    for (let round = 0; round < 21; round++) {
      startedMs = performance.now();
      const response = await fetch(`${server.url}/api/sessions/1/samples?maxPoints=2000`);
      const body = (await response.json()) as { tMs: number[] };
      if (body.tMs.length === 0) throw new Error('the overview came back empty');
      times.push(performance.now() - startedMs);
    }
  } finally {
    await server.close();
  }
  times.sort((a, b) => a - b);
  return { servedMedianMs: times[10] ?? Number.NaN, servedMaxMs: times.at(-1) ?? Number.NaN, fromSamplesMs, chunks, fileMiB: statSync(path).size / 2 ** 20 };
}

const CLINIC_DEVICES = 40;
const CLINIC_WINDOW_S = 10;

/** CPU seconds the PostgreSQL server has used so far: its postmaster and every backend under it (Linux /proc). */
function postgresCpuS(postgres: TestPostgres): number {
  const postmaster = Number(readFileSync(join(postgres.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command (which may hold spaces): state, ppid, ... utime (14th field), stime (15th).
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(entry) !== postmaster && Number(fields[1]) !== postmaster) continue;
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // A process that ended meanwhile.
    }
  }
  return ticks / 100;
}

/** 40 devices at 1 kHz through the recorder into a store in real time: what it stored and what it cost. */
async function clinicLoad(store: SessionStore, serverCpuS: () => number): Promise<{ samplesPerS: number; chunksPerS: number; ownShare: number; serverShare: number; dropped: number }> {
  const traces = Array.from({ length: CLINIC_DEVICES }, (_, device) => treatment(300 + device, RATE_HZ * CLINIC_WINDOW_S));
  const recorder = new Recorder({ store, logger: pino({ level: 'silent' }), sessionIdleMs: 60_000 });
  const infos: DeviceInfo[] = traces.map((_, device) => ({ deviceId: `c11c${String(device).padStart(4, '0')}`, name: `Room ${device}`, spec: 'sim', transport: 'sim', capabilities: LIVE_DEVICE, sensor: 'fsr', calibration: 'exact', preset: 'shoulders', engineConfig: presetConfig('shoulders') }));
  for (const info of infos) recorder.onInfo(info);
  const tickMs = 10;
  const perTick = (RATE_HZ * tickMs) / 1000;
  const startedMs = performance.now();
  const startedCpuMs = cpuMs();
  const startedServerS = serverCpuS();
  for (let tick = 0; tick * perTick < RATE_HZ * CLINIC_WINDOW_S; tick++) {
    const waitMs = startedMs + tick * tickMs - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    for (const [device, trace] of traces.entries()) {
      const from = tick * perTick;
      recorder.onReadings(infos[device]?.deviceId ?? '', { tMs: trace.tMs.slice(from, from + perTick), forceN: trace.forceN.slice(from, from + perTick), raw: trace.raw.slice(from, from + perTick) });
    }
  }
  await recorder.close();
  const elapsedS = (performance.now() - startedMs) / 1000;
  const page = await store.listSessions({}, { limit: CLINIC_DEVICES, offset: 0 });
  let samples = 0;
  let chunks = 0;
  for (const session of page.sessions) {
    for await (const chunk of store.readSamples(session.id)) {
      samples += chunk.tMs.length;
      chunks++;
    }
  }
  return {
    samplesPerS: samples / elapsedS,
    chunksPerS: chunks / elapsedS,
    ownShare: (cpuMs() - startedCpuMs) / 1000 / elapsedS,
    serverShare: (serverCpuS() - startedServerS) / elapsedS,
    dropped: recorder.droppedSamples,
  };
}

/** Median and worst of 21 reads of the session's 2 000-point overview. */
async function timeOverview(store: SessionStore, id: number): Promise<{ medianMs: number; worstMs: number }> {
  const times: number[] = [];
  for (let round = 0; round < 21; round++) {
    const startedMs = performance.now();
    const envelope = await store.sampleEnvelope(id, 0, null, 2000);
    if (envelope === null || envelope.tMs.length === 0) throw new Error('the overview came back empty');
    times.push(performance.now() - startedMs);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[10] ?? Number.NaN, worstMs: times.at(-1) ?? Number.NaN };
}

/**
 * Writes an hour at 1 kHz (10 s per commit), then times the 2 000-point overview read from
 * the store right after, and again after `settle` (for PostgreSQL a VACUUM ANALYZE, as
 * autovacuum leaves the table a little later: until then its index-only scans visit the heap).
 */
async function hourOverview(store: SessionStore, settle: () => Promise<void>): Promise<{ fresh: { medianMs: number; worstMs: number }; settled: { medianMs: number; worstMs: number }; writeS: number }> {
  const handle: SessionHandle = { id: null, session: newSession('bench1h00') };
  const hourSamples = RATE_HZ * 3600;
  const perCommit = RATE_HZ * 10;
  const piece = treatment(7, 60 * RATE_HZ);
  const writeStartedMs = performance.now();
  for (let from = 0; from < hourSamples; from += perCommit) {
    const offset = from % piece.tMs.length;
    const tMs = Array.from({ length: perCommit }, (_, index) => from + index);
    const run = { tMs, forceN: piece.forceN.slice(offset, offset + perCommit), raw: piece.raw.slice(offset, offset + perCommit) };
    await store.commit([{ handle, samples: toChunks([run], 0), holds: [], warnings: [], durationMs: tMs.at(-1) ?? 0, end: from + perCommit >= hourSamples ? { status: 'complete', endedAtMs: Date.now() } : null }]);
  }
  const writeS = (performance.now() - writeStartedMs) / 1000;
  const fresh = await timeOverview(store, handle.id ?? 0);
  await settle();
  return { fresh, settled: await timeOverview(store, handle.id ?? 0), writeS };
}

/** What autovacuum does to a freshly written PostgreSQL database, at once. */
async function vacuumAnalyze(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

/** SQLite and PostgreSQL side by side, in this run. */
export async function benchStores(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'knotmeter-bench-stores-'));
  const postgres = await startPostgres({ durable: true });
  try {
    const open = async (kind: 'SQLite' | 'PostgreSQL', name: string): Promise<SessionStore> => (kind === 'SQLite' ? openSqliteStore(join(dir, `${name}.db`)) : sessionStore(new PostgresSessionStorage(await postgres.createDatabase(name))));
    const rows: string[] = [];
    const thousands = (value: number): string => Math.round(value).toLocaleString('en-US');
    const percent = (value: number): string => `${(value * 100).toFixed(1)} %`;
    for (const kind of ['SQLite', 'PostgreSQL'] as const) {
      const loadStore = await open(kind, 'clinic');
      const load = await clinicLoad(loadStore, kind === 'PostgreSQL' ? () => postgresCpuS(postgres) : () => 0);
      await loadStore.close();
      const hourUrl = kind === 'PostgreSQL' ? await postgres.createDatabase('hour') : null;
      const hourStore = hourUrl === null ? openSqliteStore(join(dir, 'hour.db')) : sessionStore(new PostgresSessionStorage(hourUrl));
      const hour = await hourOverview(hourStore, async () => {
        if (hourUrl !== null) await vacuumAnalyze(hourUrl);
      });
      await hourStore.close();
      const ms = (figures: { medianMs: number; worstMs: number }): string => `${figures.medianMs.toFixed(1)} ms median, ${figures.worstMs.toFixed(1)} ms worst`;
      rows.push(
        `| ${kind} | ${thousands(load.samplesPerS)} | ${thousands(load.chunksPerS)} | ${percent(load.ownShare)}${kind === 'PostgreSQL' ? ` + ${percent(load.serverShare)} (server)` : ''} | ${thousands(load.dropped)} | ${ms(hour.fresh)} (hour written in ${hour.writeS.toFixed(0)} s) | ${ms(hour.settled)}${kind === 'SQLite' ? ' (read again)' : ''} |`,
      );
    }
    return [
      `Stores compared, ${CLINIC_DEVICES} devices × 1 kHz recorded in real time for ${CLINIC_WINDOW_S} s (one process, ${FLUSH_MS} ms flushes); PostgreSQL 15 on loopback with its default settings (fsync and synchronous_commit on), SQLite WAL synchronous NORMAL; load average ${loadavg()[0]?.toFixed(1) ?? '?'} when it ended:`,
      '',
      '| store | samples/s stored | chunk rows/s | CPU (this process; PostgreSQL server) | samples dropped | 1 h at 1 kHz: 2 000-point overview, right after writing (21 reads) | the same after VACUUM ANALYZE |',
      '| --- | ---: | ---: | ---: | ---: | --- | --- |',
      ...rows,
    ];
  } finally {
    await postgres.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchRecording(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'knotmeter-bench-'));
  try {
    const inserts = await insertRate(dir);
    const idle = await feedingShare(dir, false);
    const recording = await feedingShare(dir, true);
    const hour = await overview(dir);
    const thousands = (value: number): string => Math.round(value).toLocaleString('en-US');
    const percent = (value: number): string => `${(value * 100).toFixed(1)} %`;
    const recorderShare = recording.share - idle.share;
    return [
      `Recording, SQLite (WAL, synchronous NORMAL) on the local disk, ${FLUSH_MS} ms flushes at ${RATE_HZ / 1000} kHz (load average ${loadavg()[0]?.toFixed(1) ?? '?'} when it ended):`,
      '',
      '| figure | baseline | recorder / store | goal |',
      '| --- | ---: | ---: | --- |',
      `| insert rate, samples/s (one transaction per flush) | ${thousands(inserts.perRow)} (a row per sample) | ${thousands(inserts.chunked)} (chunks) | – |`,
      `| CPU, ${DEVICES} devices × 1 kHz in real time for ${CPU_WINDOW_S} s | ${percent(idle.share)} (feeding loop alone) | ${percent(recording.share)} (with the recorder: ${percent(recorderShare)} for it) | ≤ 5 % of a core: ${recorderShare <= 0.05 ? 'met' : 'NOT met'} |`,
      `| 1 h at 1 kHz (${thousands(hour.chunks)} samples, ${hour.fileMiB.toFixed(0)} MiB): 2 000-point overview | ${hour.fromSamplesMs.toFixed(0)} ms (envelope from every sample, in process) | ${hour.servedMedianMs.toFixed(1)} ms median, ${hour.servedMaxMs.toFixed(1)} ms worst of 21 (GET over HTTP) | ≤ 50 ms: ${hour.servedMedianMs <= 50 ? 'met' : 'NOT met'} |`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
