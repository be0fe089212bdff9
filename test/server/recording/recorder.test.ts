// The recorder on a real SQLite store, fed like a pipeline feeds it: readings on device
// time and the real pressure engine's events for them. Sessions start at a press (with
// a second of approach), end after the idle time or when the device goes or restarts;
// writes are batched (nothing reaches the file before a flush, one transaction per
// flush); holds carry their labels; a full database is reported, never thrown into the
// pipeline, and recording resumes with the holds kept once there is room again.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIVE_DEVICE } from '../../../device/transport.ts';
import { PressureEngine } from '../../../server/engine/engine.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import type { DeviceInfo, RecorderStatus } from '../../../server/contract/live-events.ts';
import { migrate } from '../../../server/recording/migrations.ts';
import { Recorder, RETRY_INTERVAL_MS } from '../../../server/recording/recorder.ts';
import { PRE_ROLL_MS, RECONNECT_GRACE_MS } from '../../../server/recording/session-cutter.ts';
import { sessionStore } from '../../../server/recording/sessions.ts';
import { openSqliteStore, SqliteSessionStorage } from '../../../server/recording/sqlite-store.ts';
import type { SessionStore, SessionWrite } from '../../../server/recording/store.ts';
import { tempDir } from './support.ts';

const DEVICE = 'c0ffee00';
const CONFIG = presetConfig('shoulders');
const INFO: DeviceInfo = { deviceId: DEVICE, name: 'Couch 1', room: null, spec: 'sim:treatment', transport: 'sim', capabilities: LIVE_DEVICE, sensor: 'fsr', calibration: 'exact', preset: 'shoulders', engineConfig: CONFIG };
const RATE_MS = 10;

/** Counts the commits going through to the real store. */
class CountingStore {
  commits = 0;
  constructor(readonly store: SessionStore) {}
  wrap(): SessionStore {
    return new Proxy(this.store, {
      get: (target, property, receiver) => {
        if (property === 'commit') {
          return (writes: readonly SessionWrite[]) => {
            this.commits++;
            return target.commit(writes);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

/** Feeds a recorder as a device pipeline would: readings, then the engine's events for them. */
class FakeDevice {
  engine = new PressureEngine(CONFIG);
  tMs = 0;
  constructor(readonly recorder: Recorder, readonly info: DeviceInfo = INFO) {
    recorder.onInfo(info);
    recorder.onStatus({ state: 'connected', deviceId: info.deviceId, sensor: 'fsr', clock: 'device', firmware: 'test', nominalRateHz: 100, samples: 0, lostSamples: 0, droppedLines: {}, lastError: null, measuredRateHz: 100 });
  }

  /** The device restarts: its clock from 0, and (as the pipeline does) a new engine. */
  restart(): void {
    const events = this.engine.finish();
    if (events.length > 0) this.recorder.onEngineEvents(this.info.deviceId, events);
    this.engine = new PressureEngine(CONFIG);
    this.tMs = 0;
  }

  /** `durationMs` of a constant force, in batches of 50 ms. */
  press(forceN: number, durationMs: number): void {
    for (let doneMs = 0; doneMs < durationMs; doneMs += 50) {
      const tMs = Array.from({ length: 5 }, (_, index) => this.tMs + index * RATE_MS);
      this.tMs += 50;
      const readings = { tMs, forceN: tMs.map(() => forceN), raw: tMs.map(() => Math.round(forceN * 10)) };
      this.recorder.onReadings(this.info.deviceId, readings);
      const events = this.engine.pushBatch(readings);
      if (events.length > 0) this.recorder.onEngineEvents(this.info.deviceId, events);
    }
  }
}

describe('recorder', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: SessionStore;
  let counting: CountingStore;
  let recorder: Recorder;
  let statuses: RecorderStatus[];
  let clockMs: number;

  function start(sessionIdleMs = 60_000, storeToUse: SessionStore = store, bufferSamples?: number): void {
    counting = new CountingStore(storeToUse);
    statuses = [];
    clockMs = Date.UTC(2026, 10, 25, 9);
    recorder = new Recorder({ store: counting.wrap(), sessionIdleMs, logger: pino({ level: 'silent' }), onStatus: (status) => statuses.push(status), nowMs: () => clockMs, ...(bufferSamples === undefined ? {} : { bufferSamples }) });
  }

  beforeEach(() => {
    dir = tempDir();
    store = openSqliteStore(join(dir.path, 'rec.db'));
  });
  afterEach(async () => {
    await recorder.close();
    await store.close();
    dir.remove();
  });

  it('writes nothing until a flush, then everything in one transaction, in chunks of at most 256 samples', async () => {
    start();
    const device = new FakeDevice(recorder);
    device.press(0, 2000);
    device.press(20, 10_000);
    expect(counting.commits).toBe(0);
    expect((await store.listSessions({}, { limit: 5, offset: 0 })).total).toBe(0);
    await recorder.flush();
    expect(counting.commits).toBe(1);
    const session = await store.getSession(1);
    // The press at 2000 ms brought the second before it along.
    expect(session).toMatchObject({ status: 'recording', firstDeviceMs: 2000 - PRE_ROLL_MS, sampleCount: PRE_ROLL_MS / RATE_MS + 1000 });
    const chunks = [];
    for await (const chunk of store.readSamples(1)) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.tMs.length <= 256 && (chunk.tMs.at(-1) ?? 0) - (chunk.tMs[0] ?? 0) <= 250)).toBe(true);
    expect(chunks[0]?.tMs[0]).toBe(0);
    expect(statuses.at(-1)?.devices).toEqual([{ deviceId: DEVICE, sessionId: 1, label: { bodyArea: null, knot: null } }]);
  });

  it('ends a session after the idle time on device time, starts the next at the next press, with holds relative to each', async () => {
    start(5000);
    const device = new FakeDevice(recorder);
    recorder.labelHolds({ deviceId: DEVICE, bodyArea: 'neck', knot: 'left C5' });
    device.press(0, 1000);
    device.press(22, 8000);
    device.press(0, 6000);
    device.press(0, 3000);
    device.press(25, 4000);
    device.press(0, 1000);
    await recorder.flush();
    const first = await store.getSession(1);
    const second = await store.getSession(2);
    expect(first?.status).toBe('complete');
    // It ends at the first sample 5 s after the last press.
    expect(first?.durationMs).toBe(PRE_ROLL_MS + 8000 - RATE_MS + 5000);
    expect(first?.holds).toHaveLength(1);
    expect(first?.holds[0]).toMatchObject({ startMs: PRE_ROLL_MS, durationMs: 8000 - RATE_MS, meanN: 22, bodyArea: 'neck', knot: 'left C5', targetHoldMs: 60_000 });
    // A new session after the idle: labels start over.
    expect(second).toMatchObject({ status: 'recording', firstDeviceMs: 18_000 - PRE_ROLL_MS });
    expect(second?.holds[0]).toMatchObject({ startMs: PRE_ROLL_MS, meanN: 25, bodyArea: null, knot: null });
  });

  it('ends the session when the device goes, and files the hold it was in there', async () => {
    start();
    const device = new FakeDevice(recorder);
    device.press(20, 5000);
    recorder.onStatus({ state: 'stopped', deviceId: DEVICE, sensor: 'fsr', clock: 'device', firmware: 'test', nominalRateHz: 100, samples: 0, lostSamples: 0, droppedLines: {}, lastError: null, measuredRateHz: 0 });
    recorder.onEngineEvents(DEVICE, device.engine.finish());
    await recorder.flush();
    const session = await store.getSession(1);
    expect(session?.status).toBe('complete');
    expect(session?.endedAt).toBe(new Date(clockMs).toISOString());
    expect(session?.holds.map((hold) => hold.durationMs)).toEqual([5000 - RATE_MS]);
    expect(recorder.isRecording(1)).toBe(false);
  });

  it('keeps the session through a short unplug, and ends it once the device has been gone for the grace period', async () => {
    start();
    const device = new FakeDevice(recorder);
    const status = (state: 'connected' | 'disconnected') => ({ state, deviceId: DEVICE, sensor: 'fsr' as const, clock: 'device' as const, firmware: 'test', nominalRateHz: 100, samples: 0, lostSamples: 0, droppedLines: {}, lastError: null, measuredRateHz: 0 });
    device.press(20, 5000);
    recorder.onStatus(status('disconnected'));
    clockMs += RECONNECT_GRACE_MS - 1000;
    await recorder.flush();
    recorder.onStatus(status('connected'));
    device.press(20, 5000);
    await recorder.flush();
    expect(recorder.isRecording(1)).toBe(true);
    expect((await store.listSessions({}, { limit: 5, offset: 0 })).total).toBe(1);

    recorder.onStatus(status('disconnected'));
    clockMs += RECONNECT_GRACE_MS;
    await recorder.flush();
    expect(recorder.isRecording(1)).toBe(false);
    expect((await store.getSession(1))?.status).toBe('complete');
  });

  it('starts a new session when the device clock starts again (a restart)', async () => {
    start();
    const device = new FakeDevice(recorder);
    device.press(20, 3000);
    device.restart();
    device.press(20, 1000);
    await recorder.flush();
    expect((await store.getSession(1))?.status).toBe('complete');
    expect((await store.getSession(2))?.status).toBe('recording');
    expect(recorder.isRecording(2)).toBe(true);
  });

  it('refuses to label a device it does not know, naming it', () => {
    start();
    expect(() => recorder.labelHolds({ deviceId: 'deadbeef', bodyArea: 'neck', knot: null })).toThrow('no device deadbeef on this server');
  });

  /** A SQLite store whose file cannot grow past two more pages (a full disk), and the way to free room. */
  function fullStore(name: string): { store: SessionStore; makeRoom(): void } {
    const path = join(dir.path, name);
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    migrate(db);
    const pages = Number(db.pragma('page_count', { simple: true }));
    db.pragma(`max_page_count = ${pages + 2}`);
    return { store: sessionStore(new SqliteSessionStorage(db, path)), makeRoom: () => db.pragma('max_page_count = 1000000') };
  }

  it('keeps at most its bound of samples in memory while writes fail, dropping the oldest, and says so', async () => {
    const full = fullStore('bounded.db');
    start(60_000, full.store, 500);
    const device = new FakeDevice(recorder);
    device.press(22, 4000);
    await recorder.flush();
    for (let retry = 0; retry < 3; retry++) {
      clockMs += RETRY_INTERVAL_MS;
      device.press(22, 2000);
      await recorder.flush();
    }
    const failed = statuses.at(-1);
    expect(failed?.error).toMatch(/Live view and alerts go on; up to 500 samples \(0.013 s of 40 devices at 1 kHz\) wait in memory and are written when it works again; beyond that the oldest are dropped\./);
    expect(failed?.buffered).toEqual({ samples: expect.any(Number) as unknown, capacitySamples: 500, droppedSamples: recorder.droppedSamples });
    expect(failed?.buffered?.samples).toBeLessThanOrEqual(500);
    // 1000 samples fed (the press has no second before it: the device started with it).
    expect(recorder.droppedSamples).toBe(1000 - (failed?.buffered?.samples ?? 0));
    full.makeRoom();
    clockMs += RETRY_INTERVAL_MS;
    await recorder.flush();
    expect(statuses.at(-1)).toMatchObject({ state: 'recording', error: null });
    expect(statuses.at(-1)?.buffered).toBeUndefined();
    // The newest samples are the ones kept: the session ends with the last one fed.
    const session = await full.store.getSession(1);
    expect(session?.sampleCount).toBe(failed?.buffered?.samples);
    expect(session?.durationMs).toBe(10_000 - RATE_MS);
    await recorder.close();
    await full.store.close();
  });

  it('reports a full database without throwing into the pipeline, and resumes with the holds kept once there is room', async () => {
    const path = join(dir.path, 'full.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    migrate(db);
    const pages = Number(db.pragma('page_count', { simple: true }));
    db.pragma(`max_page_count = ${pages + 2}`);
    const small = sessionStore(new SqliteSessionStorage(db, path));
    start(60_000, small);
    const device = new FakeDevice(recorder);
    device.press(22, 4000);
    device.press(0, 1000);
    await recorder.flush();
    const failed = statuses.at(-1);
    expect(failed?.state).toBe('error');
    expect(failed?.error).toMatch(/cannot record sessions in .*full\.db: the disk is full: free some space and recording resumes by itself\. Live view and alerts go on/);
    expect(failed?.buffered).toMatchObject({ capacitySamples: 2_400_000, droppedSamples: 0 });
    expect(failed?.buffered?.samples).toBeGreaterThan(0);
    // Still taking readings and events without a throw; before the retry time nothing is tried.
    device.press(0, 500);
    const commitsBefore = counting.commits;
    await recorder.flush();
    expect(counting.commits).toBe(commitsBefore);

    db.pragma('max_page_count = 1000000');
    clockMs += RETRY_INTERVAL_MS;
    device.press(0, 100);
    await recorder.flush();
    expect(statuses.at(-1)?.state).toBe('recording');
    const session = await small.getSession(1);
    expect(session?.holds.map((hold) => hold.meanN)).toEqual([22]);
    // Nothing lost: every sample fed is in the file.
    expect(recorder.droppedSamples).toBe(0);
    expect(session?.sampleCount).toBe((4000 + 1000 + 500 + 100) / RATE_MS);
    await recorder.close();
    await small.close();
  });
});
