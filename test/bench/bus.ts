/**
 * The bus between servers (`--bus`, issue 17), each figure next to its baseline measured in
 * the same run, printed as Markdown for BENCHMARKS.md.
 *
 * One fake serial device (test/device/serial/support/fake-device.ts) per path, on its own
 * socat pty, driven round by round, interleaved:
 * 1. Across servers: server A (`--bus`, the device) and server B (`--bus`, no device), one
 *    real Redis started here (test/support/redis.ts). The line that makes the pressure engine
 *    fire -> `over.started` at a socket.io client on A, and at one on B, from the same line.
 * 2. The same-server path against a fair baseline: the minimal relay (`relay.ts`: serialport +
 *    readline + one socket.io emit per line, its own process) line written -> that line at a
 *    client; and `npm start -- --device serial:PTY` (no bus, as every single server runs)
 *    line written -> `over.started` at a client. Clients are in this process, servers each in
 *    their own.
 *
 *   node --import tsx test/bench/bus.ts     # this bench alone; npm run bench runs it too
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { defaultCalibration } from '../../device/sensors.ts';
import { serverEventSchemas } from '../../server/contract/live-events.ts';
import { spawnTsx, waitForLine } from '../support/cli.ts';
import { startTestRedis } from '../support/redis.ts';
import { until } from '../support/until.ts';
import { FakeDevice } from '../device/serial/support/fake-device.ts';
import { PtyPair } from '../device/serial/support/pty-pair.ts';
import { percentiles, waitForIn, type Percentiles } from './latency.ts';

const WARMUP_ROUNDS = 20;
const ROUNDS = 400;
const fsr = defaultCalibration('fsr');
const lowRaw = fsr.toRaw(5);
const overRaw = fsr.toRaw(60);

const waitFor = waitForIn('bench:bus');

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A socket.io client that reports each `over.started` (and `over.ended`) to whoever waits. */
class EngineWatcher {
  readonly socket: Socket;
  onEvent: (type: string, arrivedMs: number) => void = () => undefined;
  deviceIds: string[] = [];

  constructor(url: string) {
    this.socket = io(url, { transports: ['websocket'] });
    this.socket.on('devices', (list: unknown) => (this.deviceIds = serverEventSchemas.devices.parse(list).map((info) => info.deviceId)));
    this.socket.on('engine', (payload: unknown) => {
      // Timed on arrival, before it is checked: the relay's client checks nothing either.
      const arrivedMs = performance.now();
      for (const event of serverEventSchemas.engine.parse(payload).events) this.onEvent(event.type, arrivedMs);
    });
  }

  next(type: string): Promise<number> {
    return waitFor<number>((resolve) => (this.onEvent = (seen, arrivedMs) => seen === type && resolve(arrivedMs)), type);
  }

  connected(): Promise<void> {
    return this.socket.connected ? Promise.resolve() : new Promise((resolve) => this.socket.once('connect', () => resolve()));
  }
}

async function startServer(args: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnTsx('server/cli/start.ts', ['--port', '0', '--log-level', 'silent', '--preset', 'shoulders', ...args]);
  const [, url] = await waitForLine(child, /Knotmeter dashboard: (\S+)/);
  return { child, url: url ?? '' };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = once(child, 'close');
  child.kill('SIGTERM');
  await closed;
}

/** Rest, then over the limit: the line that completes the engine's debounce is the one timed (as bench:serial does). */
async function fire(device: FakeDevice, watchers: readonly EngineWatcher[]): Promise<number[]> {
  await device.sendSamples(5, () => lowRaw);
  await device.sendSamples(10, () => overRaw);
  await pause(20);
  const fired = Promise.all(watchers.map((watcher) => watcher.next('over.started')));
  const sentMs = performance.now();
  await device.sendSamples(1, () => overRaw);
  const firedAtMs = await fired;
  // Below the clear level long enough that the warning ends before the next round.
  const ended = watchers[0]?.next('over.ended');
  await device.sendSamples(60, () => lowRaw);
  await ended;
  return firedAtMs.map((atMs) => atMs - sentMs);
}

interface BusResult {
  readonly sameServerMs: Percentiles;
  readonly otherServerMs: Percentiles;
  readonly relayMs: Percentiles;
  readonly aloneMs: Percentiles;
}

async function measure(dir: string): Promise<BusResult> {
  const redis = await startTestRedis();
  const pairs: PtyPair[] = [];
  const devices: FakeDevice[] = [];
  const children: ChildProcess[] = [];
  const sockets: Socket[] = [];
  const device = async (name: string, deviceId: string): Promise<{ pair: PtyPair; device: FakeDevice }> => {
    const pair = await PtyPair.start(dir, name);
    pairs.push(pair);
    const fake = new FakeDevice({ deviceId, firmwareVersion: '1.0.0', sensor: 'fsr', rateHz: 100 });
    await fake.open(pair.devicePath);
    devices.push(fake);
    return { pair, device: fake };
  };
  try {
    const onBus = await device('bus', 'aaaaaaaa');
    const alone = await device('alone', 'cccccccc');
    const relayed = await device('relay', 'dddddddd');
    const [serverA, serverB, serverAlone] = await Promise.all([
      startServer(['--data-dir', join(dir, 'a'), '--bus', redis.url, '--bus-key', redis.keyFile, '--device', `serial:${onBus.pair.hostPath}`]),
      startServer(['--data-dir', join(dir, 'b'), '--bus', redis.url, '--bus-key', redis.keyFile, '--device', 'sim:idle?rate=10']),
      startServer(['--data-dir', join(dir, 'alone'), '--device', `serial:${alone.pair.hostPath}`]),
    ]);
    children.push(serverA.child, serverB.child, serverAlone.child);
    const relay = spawnTsx('test/bench/relay.ts', [relayed.pair.hostPath]);
    children.push(relay);
    const [, relayUrl] = await waitForLine(relay, /relay: (\S+)/);

    const onA = new EngineWatcher(serverA.url);
    const onB = new EngineWatcher(serverB.url);
    const onAlone = new EngineWatcher(serverAlone.url);
    const relayClient = io(relayUrl ?? '', { transports: ['websocket'] });
    sockets.push(onA.socket, onB.socket, onAlone.socket, relayClient);
    await Promise.all([onA.connected(), onB.connected(), onAlone.connected(), new Promise<void>((resolve) => relayClient.once('connect', () => resolve()))]);
    // B lists A's device once A's first announcement has crossed the bus.
    await until(() => onB.deviceIds.includes('aaaaaaaa'), "A's device on B");

    let onRelayLine: (line: string) => void = () => undefined;
    relayClient.on('line', (line: string) => onRelayLine(line));
    const same: number[] = [];
    const other: number[] = [];
    const relayed_: number[] = [];
    const single: number[] = [];
    const relayStep = async (keep: boolean): Promise<void> => {
      const read = waitFor<number>((resolve) => (onRelayLine = () => resolve(performance.now())), 'relayed line');
      const sentMs = performance.now();
      await relayed.device.sendSamples(1, () => lowRaw);
      const readMs = await read;
      if (keep) relayed_.push(readMs - sentMs);
    };
    const busStep = async (keep: boolean): Promise<void> => {
      const [atA, atB] = await fire(onBus.device, [onA, onB]);
      if (keep && atA !== undefined && atB !== undefined) {
        same.push(atA);
        other.push(atB);
      }
    };
    const aloneStep = async (keep: boolean): Promise<void> => {
      const [atAlone] = await fire(alone.device, [onAlone]);
      if (keep && atAlone !== undefined) single.push(atAlone);
    };
    const steps = [relayStep, busStep, aloneStep];
    for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
      for (let step = 0; step < steps.length; step++) {
        await steps[(round + step) % steps.length]?.(round >= WARMUP_ROUNDS);
        await pause(5);
      }
    }
    return { sameServerMs: percentiles(same), otherServerMs: percentiles(other), relayMs: percentiles(relayed_), aloneMs: percentiles(single) };
  } finally {
    for (const socket of sockets) socket.close();
    for (const child of children) await stop(child);
    for (const fake of devices) await fake.close();
    for (const pair of pairs) await pair.stop();
    await redis.close();
  }
}

const ms = (value: number): string => value.toFixed(2);
const times = (value: number): string => `${value.toFixed(2)}×`;

export async function benchBus(): Promise<string[]> {
  const loadBefore = loadavg().map((value) => value.toFixed(1)).join(', ');
  const dir = await mkdtemp(join(tmpdir(), 'knotmeter-bench-bus-'));
  let result: BusResult;
  try {
    result = await measure(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg().map((value) => value.toFixed(1)).join(', ');
  const out: string[] = [];
  out.push(`### Bus and live path latency: ${result.relayMs.n} interleaved rounds on real ptys (socat)`, '');
  out.push(`Machine: ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${loadBefore} before, ${loadAfter} after.`, '');
  out.push('| path | p50 (ms) | p99 (ms) | max (ms) | p50 / baseline | p99 added (ms) |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  const row = (label: string, value: Percentiles, baseline: Percentiles | null): string =>
    `| ${label} | ${ms(value.p50)} | ${ms(value.p99)} | ${ms(value.max)} | ${baseline === null ? '–' : times(value.p50 / baseline.p50)} | ${baseline === null ? '–' : ms(value.p99 - baseline.p99)} |`;
  out.push(row('baseline: minimal relay process (serialport + readline + one emit per line) -> client', result.relayMs, null));
  out.push(row('`npm start` (no bus): line -> `over.started` at a client', result.aloneMs, result.relayMs));
  out.push(row('baseline: server A (`--bus`): line -> `over.started` at a client on A', result.sameServerMs, null));
  out.push(row('server B (`--bus`, through Redis): the same line -> `over.started` at a client on B', result.otherServerMs, result.sameServerMs));
  out.push('', 'Goals: across servers at most 5 ms added at p99 (last row); the single server at most 1.2× the relay at p50 and at most 2 ms added at p99 (second row).');
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await benchBus()) console.log(line);
  process.exit(0);
}
