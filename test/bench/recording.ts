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
 *
 * PostgreSQL against SQLite, two servers as a clinic runs them: `stores.ts`.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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
import type { NewSession, SessionHandle } from '../../server/recording/store.ts';

export const RATE_HZ = 1000;
const FLUSH_MS = 200;
const DEVICES = 8;
const CPU_WINDOW_S = 10;

export function newSession(deviceId: string): NewSession {
  return { deviceId, spec: 'bench', transport: 'sim', sensor: 'fsr', preset: 'shoulders', engineConfig: presetConfig('shoulders'), startedAtMs: Date.now(), firstDeviceMs: 0 };
}

/** Readings of a simulated treatment at 1 kHz, as the pipeline hands them over. */
export function treatment(seed: number, samples: number): { tMs: number[]; forceN: number[]; raw: number[] } {
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
  const infos: DeviceInfo[] = traces.map((_, device) => ({ deviceId: `be0c${String(device).padStart(4, '0')}`, name: `Bench ${device}`, room: null, spec: 'sim', transport: 'sim', capabilities: LIVE_DEVICE, sensor: 'fsr', calibration: 'exact', preset: 'shoulders', engineConfig: presetConfig('shoulders') }));
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
