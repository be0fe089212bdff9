// Two real servers (`npm start` processes) joined by a real Redis (`--bus`) and recording into
// one real PostgreSQL (`--store`), as two rooms of a clinic: a client on server B sees server
// A's device live (readings, over.started), relabels its holds through B (A records the
// label), B's REST API serves the session A records, the bus goes down and comes back with
// Redis while each server goes on alone, and A's device shows disconnected on B within 5 s of
// A being killed with -9.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusStatus } from '../../../server/contract/bus.ts';
import { sessionPageSchema } from '../../../server/contract/records.ts';
import { parseServerArgs } from '../../../server/cli/start-args.ts';
import { UsageError } from '../../../server/cli/support.ts';
import { serverEventSchemas, type ClientToServerEvents, type DeviceInfo, type DeviceStatus, type EngineEvents, type RecorderStatus, type ServerToClientEvents } from '../../../server/contract/live-events.ts';
import { spawnTsx, waitForLine } from '../../support/cli.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';
import { startTestRedis, type TestRedis } from '../../support/redis.ts';
import { until } from '../../support/until.ts';

const MAIN = 'server/cli/start.ts';

/** What a client has seen of the live stream (validated as the dashboard validates it). */
class Watcher {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  devices: DeviceInfo[] = [];
  readonly statuses = new Map<string, DeviceStatus>();
  readonly readingsAtMs = new Map<string, number>();
  readonly engine: EngineEvents[] = [];
  recorder: RecorderStatus | null = null;
  bus: BusStatus | null = null;

  constructor(url: string) {
    this.socket = io(url, { transports: ['websocket'], reconnectionDelayMax: 500 });
    this.socket.on('devices', (list) => (this.devices = serverEventSchemas.devices.parse(list)));
    this.socket.on('status', (status) => this.statuses.set(status.deviceId, serverEventSchemas.status.parse(status)));
    this.socket.on('readings', (batches) => {
      for (const batch of serverEventSchemas.readings.parse(batches)) if (batch.tMs.length > 0) this.readingsAtMs.set(batch.deviceId, performance.now());
    });
    this.socket.on('engine', (events) => this.engine.push(serverEventSchemas.engine.parse(events)));
    this.socket.on('recorder', (status) => (this.recorder = serverEventSchemas.recorder.parse(status)));
    this.socket.on('bus', (status) => (this.bus = serverEventSchemas.bus.parse(status)));
  }

  overStarted(deviceId: string): number {
    return this.engine.filter((batch) => batch.deviceId === deviceId && batch.events.some((event) => event.type === 'over.started')).length;
  }

  /** Readings of `deviceId` arrived after `sinceMs` (performance.now()). */
  readingsSince(deviceId: string, sinceMs: number): boolean {
    return (this.readingsAtMs.get(deviceId) ?? -Infinity) > sinceMs;
  }
}

async function startServer(redis: TestRedis, store: string, dataDir: string, device: string, seed: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnTsx(MAIN, ['--port', '0', '--device', device, '--seed', String(seed), '--data-dir', dataDir, '--bus', redis.url, '--store', store, '--log-level', 'warn']);
  const [, url] = await waitForLine(child, /Knotmeter dashboard: (http:\/\/\S+)/);
  if (url === undefined) throw new Error('no URL printed');
  return { child, url };
}

describe('--bus', () => {
  it('takes a Redis address and names what it needs otherwise', () => {
    expect(parseServerArgs(['--bus', 'redis://10.0.0.5:6379']).bus).toBe('redis://10.0.0.5:6379');
    expect(parseServerArgs([]).bus).toBeNull();
    for (const wrong of ['http://10.0.0.5:6379', '10.0.0.5:6379', 'redis://']) {
      expect(() => parseServerArgs(['--bus', wrong])).toThrow(new UsageError(`--bus needs a Redis address, redis://HOST:PORT (e.g. redis://127.0.0.1:6379) (got --bus "${wrong}")`));
    }
  });
});

describe('two servers joined by a Redis bus (--bus)', () => {
  let redis: TestRedis;
  let postgres: TestPostgres;
  let folder = '';
  let serverA: { child: ChildProcess; url: string };
  let serverB: { child: ChildProcess; url: string };
  let onA: Watcher;
  let onB: Watcher;
  let deviceA = '';
  let deviceB = '';

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startTestRedis(), startPostgres()]);
    const store = await postgres.createDatabase('clinic');
    folder = await mkdtemp(join(tmpdir(), 'knotmeter-bus-'));
    // A: pushes past the limit every few seconds (10x speed); B: a device at rest.
    [serverA, serverB] = await Promise.all([
      startServer(redis, store, join(folder, 'a'), 'sim:over-pressure?rate=100&speed=10', 1),
      startServer(redis, store, join(folder, 'b'), 'sim:idle?rate=50', 2),
    ]);
    onA = new Watcher(serverA.url);
    onB = new Watcher(serverB.url);
    const idOf = (watcher: Watcher, scenario: string): string => watcher.devices.find((device) => device.spec.includes(scenario))?.deviceId ?? '';
    await until(() => idOf(onA, 'over-pressure') !== '' && idOf(onB, 'idle') !== '', 'each server to list its own device');
    deviceA = idOf(onA, 'over-pressure');
    deviceB = idOf(onB, 'idle');
  }, 90_000);

  afterAll(async () => {
    onA.socket.close();
    onB.socket.close();
    for (const server of [serverA, serverB]) {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        const exited = once(server.child, 'exit');
        server.child.kill('SIGTERM');
        await exited;
      }
    }
    await redis.close();
    await postgres.destroy();
    await rm(folder, { recursive: true, force: true });
  }, 30_000);

  it("shows A's device on B with its status, readings and over-pressure warnings", { timeout: 30_000 }, async () => {
    await until(() => onB.devices.some((device) => device.deviceId === deviceA) && onA.devices.some((device) => device.deviceId === deviceB), "each server to list the other's device");
    expect(onB.devices.map((device) => device.deviceId).sort()).toEqual([deviceA, deviceB].sort());
    await until(() => onB.statuses.get(deviceA)?.state === 'connected', "A's device connected on B");
    await until(() => onB.readingsSince(deviceA, 0), "A's readings on B");
    await until(() => onB.overStarted(deviceA) > 0, "A's over.started on B");
    expect(onB.bus).toMatchObject({ state: 'up', error: null });
  });

  it("relabels A's holds through B: the answer is B's acknowledgement, the label A's recorder's", { timeout: 20_000 }, async () => {
    const reply: unknown = await onB.socket.timeout(10_000).emitWithAck('labelHold', { deviceId: deviceA, bodyArea: 'upper trapezius', knot: 'left' });
    expect(reply).toEqual({ ok: true });
    const labelOf = (watcher: Watcher): string | null => watcher.recorder?.devices.find((device) => device.deviceId === deviceA)?.label.bodyArea ?? null;
    await until(() => labelOf(onA) === 'upper trapezius', "A's recorder to have the label");
    await until(() => labelOf(onB) === 'upper trapezius', "B's clients to see A's label");
    // A bad request is refused by the owner, in its words.
    const refused: unknown = await onB.socket.timeout(10_000).emitWithAck('selectPreset', { deviceId: deviceA, preset: 'feet' as 'neck' });
    expect(refused).toMatchObject({ ok: false, error: expect.stringMatching(/^selectPreset: preset/) as unknown });
    expect(await onB.socket.timeout(10_000).emitWithAck('selectPreset', { deviceId: deviceA, preset: 'neck' })).toEqual({ ok: true });
    await until(() => onB.devices.find((device) => device.deviceId === deviceA)?.preset === 'neck', "B's clients to see A's new preset");
  });

  it("B's REST API serves the session A records (one PostgreSQL store)", { timeout: 30_000 }, async () => {
    const listedByB = async (): Promise<string[]> => {
      const page = sessionPageSchema.parse(await (await fetch(`${serverB.url}/api/sessions`)).json());
      return page.sessions.map((session) => session.deviceId);
    };
    // Polled: A's recorder writes its first batch once the session has started.
    const deadlineMs = performance.now() + 20_000;
    let listed = await listedByB();
    while (!listed.includes(deviceA) && performance.now() < deadlineMs) listed = await listedByB();
    expect(listed).toContain(deviceA);
  });

  it('Redis down: each server goes on alone and says so; both rejoin when Redis is back', { timeout: 60_000 }, async () => {
    await redis.stop();
    const stoppedMs = performance.now();
    await until(() => onA.bus?.state === 'down' && onB.bus?.state === 'down', 'both headers to say the bus is down', 10_000);
    // Each server's own device goes on: readings, alarms, recording, on its own dashboards.
    const alarmsBefore = onA.overStarted(deviceA);
    await until(() => onA.overStarted(deviceA) > alarmsBefore, "A's alarms on A's dashboard while Redis is down", 20_000);
    await until(() => onA.readingsSince(deviceA, stoppedMs + 1000) && onB.readingsSince(deviceB, stoppedMs + 1000), 'readings on each server a second after Redis stopped', 10_000);
    expect(onA.recorder?.state).toBe('recording');
    expect(onB.recorder?.state).toBe('recording');
    // The other room's device is not current any more.
    await until(() => onB.statuses.get(deviceA)?.state === 'disconnected', "A's device disconnected on B", 5000);

    await redis.start();
    await until(() => onA.bus?.state === 'up' && onB.bus?.state === 'up', 'both to rejoin', 20_000);
    const backMs = performance.now();
    await until(() => onB.statuses.get(deviceA)?.state === 'connected' && onB.readingsSince(deviceA, backMs), "A's device live on B again", 10_000);
    const alarmsOnB = onB.overStarted(deviceA);
    await until(() => onB.overStarted(deviceA) > alarmsOnB, "A's alarms on B again", 20_000);
  });

  it("A killed with -9: B shows A's device disconnected within 5 s", { timeout: 20_000 }, async () => {
    await until(() => onB.statuses.get(deviceA)?.state === 'connected', "A's device connected on B");
    const exited = once(serverA.child, 'exit');
    serverA.child.kill('SIGKILL');
    await exited;
    const killedMs = performance.now();
    await until(() => onB.statuses.get(deviceA)?.state === 'disconnected', "A's device disconnected on B", 5000);
    expect(performance.now() - killedMs).toBeLessThan(5000);
    expect(onB.statuses.get(deviceB)?.state).toBe('connected');
  });
});
