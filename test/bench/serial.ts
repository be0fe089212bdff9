/**
 * `npm run bench:serial`: the serial line path of issue 6, each figure next to its
 * baseline measured in the same run, printed as Markdown for BENCHMARKS.md.
 *
 * 1. Throughput on one core: the device line reader (line guard -> readline -> codec with
 *    checksum) against bare `@serialport/parser-readline` on the same bytes, in chunks of
 *    64 B, 4 KiB and 64 KiB; best of 5 runs each, alternating, to see past other work on
 *    the machine.
 * 2. Latency on real pseudo-terminals (socat pairs), round by round, interleaved (each
 *    path first, second and third in turn):
 *    - baseline: a bare `serialport` + readline on a pty, in this process: line written ->
 *      line read;
 *    - the SerialTransport on a pty, in this process: line written -> sample delivered;
 *    - `npm start -- --device serial:PTY` in its own process: the line that makes the
 *      pressure engine fire -> `over.started` at a socket.io client in this process (sent
 *      at once), and the same line's reading (batched per 50 ms flush by design).
 *    The fake device (test/device/serial/support/fake-device.ts) answers the server's INFO and
 *    commands as the firmware does.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { ReadlineParser } from '@serialport/parser-readline';
import { SerialPort } from 'serialport';
import { io } from 'socket.io-client';
import { defaultCalibration } from '../../device/sensors.ts';
import { encodeDeviceMessage } from '../../device/protocol/device-messages.ts';
import { DeviceLineReader } from '../../device/protocol/line-reader.ts';
import { SerialTransport } from '../../device/transports/serial.ts';
import { serverEventSchemas } from '../../server/contract/live-events.ts';
import { spawnTsx, waitForLine } from '../support/cli.ts';
import { FakeDevice } from '../device/serial/support/fake-device.ts';
import { PtyPair } from '../device/serial/support/pty-pair.ts';
import { percentiles, waitForIn, type Percentiles } from './latency.ts';

const THROUGHPUT_LINES = 2_000_000;
const THROUGHPUT_RUNS = 5;
const CHUNK_SIZES = [64, 4096, 65_536];
const WARMUP_ROUNDS = 20;
const ROUNDS = 300;
const fsr = defaultCalibration('fsr');

// ---------------------------------------------------------------- throughput

function sampleBytes(): Buffer {
  const lines: string[] = [];
  for (let index = 0; index < THROUGHPUT_LINES; index++) {
    lines.push(encodeDeviceMessage({ type: 'S', seq: index % 0x1_0000, tUs: (index * 2703) % 0x1_0000_0000, raw: (index * 37) % 1024 }));
  }
  return Buffer.from(lines.join(''), 'latin1');
}

function chunked(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += size) chunks.push(bytes.subarray(start, start + size));
  return chunks;
}

function bareReadline(chunks: readonly Buffer[]): number {
  let lines = 0;
  const parser = new ReadlineParser({ delimiter: '\n', encoding: 'latin1' });
  parser.on('data', () => lines++);
  const startedMs = performance.now();
  for (const chunk of chunks) parser.write(chunk);
  const elapsedS = (performance.now() - startedMs) / 1000;
  if (lines !== THROUGHPUT_LINES) throw new Error(`bare readline read ${lines} lines of ${THROUGHPUT_LINES}`);
  return lines / elapsedS;
}

function lineReader(chunks: readonly Buffer[]): number {
  let samples = 0;
  let drops = 0;
  const reader = new DeviceLineReader({ onMessage: () => samples++, onDrop: () => drops++ });
  reader.sensor = 'fsr';
  const startedMs = performance.now();
  for (const chunk of chunks) reader.input.write(chunk);
  const elapsedS = (performance.now() - startedMs) / 1000;
  if (samples !== THROUGHPUT_LINES || drops !== 0) throw new Error(`the line reader gave ${samples} samples and ${drops} drops of ${THROUGHPUT_LINES} lines`);
  return samples / elapsedS;
}

interface ThroughputRow {
  readonly chunkBytes: number;
  readonly bareLinesPerS: number;
  readonly oursLinesPerS: number;
}

function throughput(): ThroughputRow[] {
  const bytes = sampleBytes();
  return CHUNK_SIZES.map((chunkBytes) => {
    const chunks = chunked(bytes, chunkBytes);
    let bare = 0;
    let ours = 0;
    for (let run = 0; run < THROUGHPUT_RUNS; run++) {
      bare = Math.max(bare, bareReadline(chunks));
      ours = Math.max(ours, lineReader(chunks));
    }
    return { chunkBytes, bareLinesPerS: bare, oursLinesPerS: ours };
  });
}

// ---------------------------------------------------------------- latency

const waitFor = waitForIn('bench');

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface LatencyResult {
  readonly bareMs: Percentiles;
  readonly transportMs: Percentiles;
  readonly overStartedMs: Percentiles;
  readonly readingMs: Percentiles;
}

async function latency(dir: string): Promise<LatencyResult> {
  // Baseline: a bare serialport + readline on its own pty.
  const barePair = await PtyPair.start(dir, 'bare');
  const bareWriter = new FakeDevice({ deviceId: 'bbbbbbbb', firmwareVersion: '1.0.0', sensor: 'fsr', rateHz: 100 });
  await bareWriter.open(barePair.devicePath);
  const bareReader = new SerialPort({ path: barePair.hostPath, baudRate: 115_200, autoOpen: false });
  await new Promise<void>((resolve, reject) => bareReader.open((error) => (error ? reject(error) : resolve())));
  const bareLines = bareReader.pipe(new ReadlineParser({ delimiter: '\n', encoding: 'latin1' }));
  let onBareLine: (line: string) => void = () => undefined;
  bareLines.on('data', (line: string) => onBareLine(line));

  // The serial transport in this process.
  const transportPair = await PtyPair.start(dir, 'transport');
  const transportDevice = new FakeDevice({ deviceId: 'cccccccc', firmwareVersion: '1.0.0', sensor: 'fsr', rateHz: 100 });
  await transportDevice.open(transportPair.devicePath);
  const transport = new SerialTransport({ path: transportPair.hostPath, baudRate: 115_200, deviceId: null });
  let onTransportSamples: (count: number) => void = () => undefined;
  await transport.start({ onSamples: (batch) => onTransportSamples(batch.length), onStatus: () => undefined });

  // The whole server in its own process, on a third pty.
  const serverPair = await PtyPair.start(dir, 'server');
  const serverDevice = new FakeDevice({ deviceId: 'dddddddd', firmwareVersion: '1.0.0', sensor: 'fsr', rateHz: 100 });
  await serverDevice.open(serverPair.devicePath);
  const server = spawnTsx('server/cli/start.ts', ['--port', '0', '--data-dir', join(tmpdir(), `knotmeter-bench-${process.pid}`), '--log-level', 'silent', '--preset', 'shoulders', '--device', `serial:${serverPair.hostPath}`]);
  const [, url] = await waitForLine(server, /Knotmeter dashboard: (\S+)/);
  const client = io(url ?? '', { transports: ['websocket'] });
  let onEngine: (type: string, tMs: number) => void = () => undefined;
  let onReadingTimes: (tMs: readonly number[]) => void = () => undefined;
  client.on('engine', (payload) => {
    for (const event of serverEventSchemas.engine.parse(payload).events) onEngine(event.type, event.tMs);
  });
  client.on('readings', (payload) => {
    for (const batch of serverEventSchemas.readings.parse(payload)) onReadingTimes(batch.tMs);
  });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));

  const bare: number[] = [];
  const viaTransport: number[] = [];
  const overStarted: number[] = [];
  const reading: number[] = [];
  const lowRaw = fsr.toRaw(5);
  const overRaw = fsr.toRaw(60);
  try {
    // 1. bare: one sample line in, the same line out
    const bareStep = async (keep: boolean): Promise<void> => {
      const [bareLine] = bareWriter.nextSamples(1).map(encodeDeviceMessage);
      const bareRead = waitFor<number>((resolve) => (onBareLine = () => resolve(performance.now())), 'bare line');
      const sentMs = performance.now();
      await bareWriter.writeRaw(bareLine ?? '');
      const readMs = await bareRead;
      if (keep) bare.push(readMs - sentMs);
    };
    // 2. the serial transport: one sample line in, one sample out
    const transportStep = async (keep: boolean): Promise<void> => {
      const delivered = waitFor<number>((resolve) => (onTransportSamples = () => resolve(performance.now())), 'transport sample');
      const sentMs = performance.now();
      await transportDevice.sendSamples(1);
      const deliveredMs = await delivered;
      if (keep) viaTransport.push(deliveredMs - sentMs);
    };
    // 3. the server: rest, then over the limit; the line that completes the 100 ms debounce is timed
    const serverStep = async (keep: boolean): Promise<void> => {
      await serverDevice.sendSamples(5, () => lowRaw);
      await serverDevice.sendSamples(10, () => overRaw);
      await pause(20);
      const firingTMs = serverDevice.tUs / 1000;
      const fired = waitFor<number>(
        (resolve) =>
          (onEngine = (type) => {
            if (type === 'over.started') resolve(performance.now());
          }),
        'over.started',
      );
      const read = waitFor<number>(
        (resolve) =>
          (onReadingTimes = (times) => {
            if (times.some((tMs) => Math.abs(tMs - firingTMs) < 0.5)) resolve(performance.now());
          }),
        'the firing reading',
      );
      const sentMs = performance.now();
      await serverDevice.sendSamples(1, () => overRaw);
      const [firedAtMs, readAtMs] = await Promise.all([fired, read]);
      if (keep) {
        overStarted.push(firedAtMs - sentMs);
        reading.push(readAtMs - sentMs);
      }
      // below overClearN for 600 ms of device time: the warning ends before the next round
      const ended = waitFor<number>(
        (resolve) =>
          (onEngine = (type, tMs) => {
            if (type === 'over.ended') resolve(tMs);
          }),
        'over.ended',
      );
      await serverDevice.sendSamples(60, () => lowRaw);
      await ended;
    };
    const steps = [bareStep, transportStep, serverStep];
    for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
      // Each path goes first, second and third in turn, so none always follows the server's busiest moment.
      for (let step = 0; step < steps.length; step++) {
        await steps[(round + step) % steps.length]?.(round >= WARMUP_ROUNDS);
        await pause(5);
      }
    }
  } finally {
    client.close();
    server.kill('SIGTERM');
    await once(server, 'close');
    await transport.stop();
    await new Promise<void>((resolve) => bareReader.close(() => resolve()));
    for (const device of [bareWriter, transportDevice, serverDevice]) await device.close();
    for (const pair of [barePair, transportPair, serverPair]) await pair.stop();
  }
  return { bareMs: percentiles(bare), transportMs: percentiles(viaTransport), overStartedMs: percentiles(overStarted), readingMs: percentiles(reading) };
}

// ---------------------------------------------------------------- report

const integer = (value: number): string => Math.round(value).toLocaleString('en-US');
const ms = (value: number): string => value.toFixed(2);
const times = (value: number): string => `${value.toFixed(2)}×`;

async function main(): Promise<void> {
  const loadBefore = loadavg().map((value) => value.toFixed(1)).join(', ');
  process.stderr.write('bench:serial: throughput...\n');
  const rows = throughput();
  process.stderr.write(`bench:serial: latency, ${ROUNDS} rounds...\n`);
  const dir = await mkdtemp(join(tmpdir(), 'knotmeter-bench-serial-'));
  let result: LatencyResult;
  try {
    result = await latency(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg().map((value) => value.toFixed(1)).join(', ');
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const out: string[] = [];
  out.push('## Serial line path (issue 6)', '');
  out.push(`- **Command**: \`npm run bench:serial\` (\`test/bench/serial.ts\`).`);
  out.push(`- **Machine**: ${cpu} (${cpus().length} cores), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${loadBefore} before, ${loadAfter} after.`);
  out.push('');
  out.push(`### Throughput, one core: ${integer(THROUGHPUT_LINES)} sample lines, best of ${THROUGHPUT_RUNS}`, '');
  out.push('| chunk | bare readline (lines/s) | guard + readline + codec (lines/s) | ours / bare |');
  out.push('| ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    out.push(`| ${row.chunkBytes.toLocaleString('en-US')} B | ${integer(row.bareLinesPerS)} | ${integer(row.oursLinesPerS)} | ${times(row.oursLinesPerS / row.bareLinesPerS)} |`);
  }
  out.push('', 'Goal: at least 1 000 000 lines/s and 0.3× bare readline.', '');
  out.push(`### Latency on real ptys (socat), ${result.bareMs.n} interleaved rounds`, '');
  out.push('| path | p50 (ms) | p99 (ms) | max (ms) | p50 / bare | p99 added (ms) |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  const row = (label: string, value: Percentiles, baseline: Percentiles | null): string =>
    `| ${label} | ${ms(value.p50)} | ${ms(value.p99)} | ${ms(value.max)} | ${baseline === null ? '–' : times(value.p50 / baseline.p50)} | ${baseline === null ? '–' : ms(value.p99 - baseline.p99)} |`;
  out.push(row('baseline: bare serialport + readline, line written -> line read', result.bareMs, null));
  out.push(row('SerialTransport (guard, codec, timeline), line written -> sample', result.transportMs, result.bareMs));
  out.push(row('server process, line written -> `over.started` at a socket.io client', result.overStartedMs, result.bareMs));
  out.push(row('server process, line written -> its reading at the client (50 ms flush)', result.readingMs, result.bareMs));
  out.push('', 'Goal: at most 1.5× the bare read, and under 2 ms added at p99.');
  process.stdout.write(`${out.join('\n')}\n`);
  process.exit(0);
}

await main();
