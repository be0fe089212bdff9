// Two real servers (`npm start` processes) joined by a real Redis (`--bus`) and recording into
// one real PostgreSQL (`--store`), as two rooms of a clinic: a client on server B sees server
// A's device live (readings, over.started), relabels its holds through B (A records the
// label), B's REST API serves the session A records, the bus goes down and comes back with
// Redis while each server goes on alone, and A's device shows disconnected on B within 5 s of
// A being killed with -9. And as an attacker on the clinic's LAN who has Redis's password (it
// crosses the LAN in the clear) but not the clinic's bus key: a request forged to move A's
// alarm, a status forged for B's tablets and a genuine request replayed are all refused.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createClient, type RedisClientType } from 'redis';
import { Server } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusStatus } from '../../../server/contract/bus.ts';
import { BUS_REQUEST_LIMITS } from '../../../server/live/bus.ts';
import { BusSigner, signingClient } from '../../../server/live/bus-signing.ts';
import { readBusKey } from '../../../server/security/bus-key.ts';
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

async function startServer(redis: TestRedis, store: string, dataDir: string, device: string, seed: number, room: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnTsx(MAIN, ['--port', '0', '--device', device, '--seed', String(seed), '--data-dir', dataDir, '--bus', redis.url, '--bus-key', redis.keyFile, '--store', store, '--room', room, '--log-level', 'warn']);
  const [, url] = await waitForLine(child, /Knotmeter dashboard: (http:\/\/\S+)/);
  if (url === undefined) throw new Error('no URL printed');
  return { child, url };
}

describe('--bus', () => {
  const key = ['--bus-key', '/etc/knotmeter/bus.key'];
  it("takes a Redis address with Redis's password, and the bus key's file", () => {
    expect(parseServerArgs(['--bus', 'redis://:pw@10.0.0.5:6379', ...key]).bus).toEqual({ url: 'redis://:pw@10.0.0.5:6379', keyFile: '/etc/knotmeter/bus.key' });
    expect(parseServerArgs([]).bus).toBeNull();
  });

  it('names what it needs otherwise, never showing a password', () => {
    for (const [wrong, shown] of [['http://:pw@10.0.0.5:6379', 'http://10.0.0.5:6379/'], ['10.0.0.5:6379', '10.0.0.5:6379'], ['redis://', 'redis://']]) {
      expect(() => parseServerArgs(['--bus', wrong ?? '', ...key])).toThrow(new UsageError(`--bus needs a Redis address, redis://:PASSWORD@HOST:PORT (e.g. redis://:s3cret@127.0.0.1:6379) (got --bus "${shown}")`));
    }
    expect(() => parseServerArgs(['--bus', 'redis://10.0.0.5:6379', ...key])).toThrow(/^--bus needs Redis's password in the address, redis:\/\/:PASSWORD@HOST:PORT: the clinic's Redis must require one/);
    expect(() => parseServerArgs(['--bus', 'redis://:pw@10.0.0.5:6379'])).toThrow(new UsageError("--bus needs --bus-key FILE, the clinic's bus key (the same file on every server): it signs every message between the servers"));
    expect(() => parseServerArgs(key)).toThrow(new UsageError('--bus-key needs --bus redis://:PASSWORD@HOST:PORT: the key signs what this server says on the bus'));
  });
});

describe('--room', () => {
  const bus = ['--bus', 'redis://:pw@10.0.0.5:6379', '--bus-key', '/etc/knotmeter/bus.key'];
  it("takes the room's name, trimmed; on a bus the host's name by default, alone none", () => {
    expect(parseServerArgs(['--room', '  Front treatment room ']).room).toBe('Front treatment room');
    expect(parseServerArgs(['--room', 'r'.repeat(40), ...bus]).room).toBe('r'.repeat(40));
    expect(parseServerArgs(bus).room).toBe(hostname().slice(0, 40));
    expect(parseServerArgs([]).room).toBeNull();
  });

  const needs = `--room needs what people call this server's room, e.g. "Room 2": it`;
  it.each([
    ['', 'must not be empty'],
    ['   ', 'must not be empty'],
    ['r'.repeat(41), 'must be at most 40 characters'],
    ['Room\n2', 'must not contain control characters (line breaks, tabs, U+0000 to U+001F, U+007F to U+009F)'],
    ['Room \u202e2', 'must not contain bidirectional text controls (U+202A to U+202E, U+2066 to U+2069)'],
  ])('refuses %j, naming --room and why', (room, why) => {
    expect(() => parseServerArgs(['--room', room])).toThrow(new UsageError(`${needs} ${why} (got --room ${JSON.stringify(room)})`));
  });
});

/** The ids of the servers on the bus, as anyone reading Redis's stream finds them (each broadcast names its server's room). */
async function serverIdsOnTheStream(client: RedisClientType): Promise<string[]> {
  const entries = await client.xRange('knotmeter:live', '-', '+');
  const text = JSON.stringify(entries);
  return [...new Set([...text.matchAll(/knotmeter:server:([0-9a-f-]{36})/g)].map((match) => match[1] ?? ''))];
}

/**
 * An attacker with Redis's password but not the bus key, speaking the bus as a server would:
 * through socket.io's own Redis streams adapter, on the stream and channels the servers use.
 * With `signer`: a host that has the key too (a room's host taken over, or a buggy server).
 */
async function rogueOnTheBus(url: string, signer: BusSigner | null = null): Promise<{ io: Server; client: RedisClientType; close: () => Promise<void> }> {
  const plain: RedisClientType = createClient({ url });
  const client = signer === null ? plain : signingClient(plain, signer);
  client.on('error', () => undefined);
  await client.connect();
  const rogue = new Server();
  rogue.adapter(createAdapter(client, { streamName: 'knotmeter:live', channelPrefix: 'knotmeter', onlyPlaintext: true }));
  return {
    io: rogue,
    client,
    close: async () => {
      // Not attached to an HTTP server, so only its adapter (with its Redis clients) to close.
      await rogue.of('/').adapter.close();
      await client.close();
    },
  };
}

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
      startServer(redis, store, join(folder, 'a'), 'sim:over-pressure?rate=100&speed=10', 1, 'Room A'),
      startServer(redis, store, join(folder, 'b'), 'sim:idle?rate=50', 2, 'Room B'),
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
    // Each device names its owner's room (`--room`), on the other server's clients too.
    expect(Object.fromEntries(onB.devices.map((device) => [device.deviceId, device.room]))).toEqual({ [deviceA]: 'Room A', [deviceB]: 'Room B' });
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

  it("refuses a request and a status forged by someone with Redis's password but not the bus key", { timeout: 30_000 }, async () => {
    const presetOf = (watcher: Watcher): string | null => watcher.devices.find((device) => device.deviceId === deviceA)?.preset ?? null;
    await until(() => presetOf(onA) === 'neck' && onA.bus !== null && onB.bus !== null, "A's preset as the relabel test left it");
    const refusedBefore = { a: onA.bus?.refused ?? 0, b: onB.bus?.refused ?? 0 };
    const rogue = await rogueOnTheBus(redis.url);
    try {
      const serverIds = await serverIdsOnTheStream(rogue.client);
      expect(serverIds).toHaveLength(2);
      // To every server, as an attacker would: move A's alarm to another body area's limits.
      for (const serverId of serverIds) {
        rogue.io.serverSideEmit('knotmeter:request', { to: serverId, from: 'rogue', requestId: `forged-${serverId}`, request: { to: serverId, event: 'selectPreset', payload: { deviceId: deviceA, preset: 'upper-back' }, client: 'attacker' } });
      }
      // And tell B's tablets that A's device is fine while it presses too hard.
      rogue.io.emit('status', { ...onB.statuses.get(deviceA), lastError: 'forged' });
      await until(() => (onA.bus?.refused ?? 0) >= refusedBefore.a + 3 && (onB.bus?.refused ?? 0) >= refusedBefore.b + 3, 'both servers to count the forged messages as refused');
    } finally {
      await rogue.close();
    }
    expect(presetOf(onA)).toBe('neck');
    expect(presetOf(onB)).toBe('neck');
    expect(onB.statuses.get(deviceA)?.lastError).not.toBe('forged');
    // Still one clinic: a genuine request goes through.
    expect(await onB.socket.timeout(10_000).emitWithAck('selectPreset', { deviceId: deviceA, preset: 'shoulders' })).toEqual({ ok: true });
    await until(() => presetOf(onA) === 'shoulders', "A's preset changed by a genuine request through B");
  });

  it('refuses a genuine request replayed off the bus', { timeout: 30_000 }, async () => {
    const presetOf = (watcher: Watcher): string | null => watcher.devices.find((device) => device.deviceId === deviceA)?.preset ?? null;
    const listener: RedisClientType = createClient({ url: redis.url });
    await listener.connect();
    const heard: Buffer[] = [];
    await listener.subscribe('knotmeter#/#', (message) => heard.push(Buffer.from(message)), true);
    try {
      // B forwards a genuine request to A (neck), which the attacker records off the bus.
      expect(await onB.socket.timeout(10_000).emitWithAck('selectPreset', { deviceId: deviceA, preset: 'neck' })).toEqual({ ok: true });
      await until(() => presetOf(onA) === 'neck', "A's preset: neck");
      const recorded = heard.filter((message) => message.includes('knotmeter:request'));
      expect(recorded).toHaveLength(1);
      // The preset is moved on, then the recorded request is sent again to move it back.
      expect(await onA.socket.timeout(10_000).emitWithAck('selectPreset', { deviceId: deviceA, preset: 'upper-back' })).toEqual({ ok: true });
      await until(() => presetOf(onB) === 'upper-back', "B's clients to see A's preset: upper-back");
      const refusedBefore = onA.bus?.refused ?? 0;
      await listener.publish('knotmeter#/#', recorded[0] ?? Buffer.alloc(0));
      await until(() => (onA.bus?.refused ?? 0) > refusedBefore, 'A to count the replayed request as refused');
    } finally {
      await listener.close();
    }
    expect(presetOf(onA)).toBe('upper-back');
    // Back to the preset whose limit A's scenario passes, for the alarms the next tests wait for.
    expect(await onA.socket.timeout(10_000).emitWithAck('selectPreset', { deviceId: deviceA, preset: 'neck' })).toEqual({ ok: true });
  });

  it('holds a server that has the key to the owner\'s budget for forwarded requests', { timeout: 30_000 }, async () => {
    const peer = await rogueOnTheBus(redis.url, new BusSigner(readBusKey(redis.keyFile), 'test-peer', () => undefined));
    const replies: { ok: boolean; error?: string }[] = [];
    let heardServers = false;
    peer.io.on('knotmeter:announce', () => (heardServers = true));
    peer.io.on('knotmeter:reply', (message: { to?: string; reply?: { ok: boolean; error?: string } }) => {
      if (message.to === 'test-peer' && message.reply !== undefined) replies.push(message.reply);
    });
    const sent = BUS_REQUEST_LIMITS.burst + 200;
    const startedMs = performance.now();
    try {
      // To each server (each holds the peer to its own budget); the preset in force, so a request that gets through changes nothing.
      const serverIds = await serverIdsOnTheStream(peer.client);
      expect(serverIds).toHaveLength(2);
      // The peer's subscription is connected in the background: answers sent before it is live would be lost.
      await until(() => heardServers, "the peer to hear the servers' heartbeats");
      for (const to of serverIds) {
        for (let i = 0; i < sent; i++) peer.io.serverSideEmit('knotmeter:request', { to, from: 'test-peer', requestId: `flood-${to}-${i}`, request: { to, event: 'selectPreset', payload: { deviceId: deviceA, preset: 'neck' }, client: 'flood' } });
      }
      await until(() => replies.length === 2 * sent, 'an answer to every forwarded request', 20_000);
    } finally {
      await peer.close();
    }
    const elapsedS = (performance.now() - startedMs) / 1000;
    const budgetMessage = `selectPreset refused, nothing changed: rate limit of ${BUS_REQUEST_LIMITS.burst} requests at once and ${BUS_REQUEST_LIMITS.perSecond} a second after that per server forwarding requests; wait a moment and send it again`;
    const served = replies.filter((reply) => reply.error !== budgetMessage).length;
    // However slowly a loaded machine reads the flood, each server serves at most its burst and what refilled meanwhile.
    expect(served).toBeLessThanOrEqual(2 * Math.ceil(BUS_REQUEST_LIMITS.burst + BUS_REQUEST_LIMITS.perSecond * elapsedS));
    expect(served).toBeGreaterThanOrEqual(2 * BUS_REQUEST_LIMITS.burst);
    expect(replies.length - served).toBeGreaterThan(0);
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
