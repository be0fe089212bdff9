/**
 * `npm run bench`: throughput of the live path, each figure next to its baseline measured
 * in the same run, printed as Markdown for BENCHMARKS.md.
 *
 * 1. Baseline: the simulator alone (force model + raw conversion), samples/s on one core.
 * 2. Simulator -> pipeline -> socket.io -> a real client in another process, with the
 *    simulator unpaced (`speed=max`): samples/s the client receives, and the share of
 *    what the server produced that arrived. Readings are volatile, so what the client
 *    cannot take is dropped; that share is the figure to watch.
 * 3. Real-time load: N devices at 1 kHz each, paced: server CPU and delivered share.
 * 4. The pressure engine alone against a loop over the same arrays (`engine.ts`).
 * 5. StandardFirmata through the Firmata transport against our firmware through the
 *    serial transport, both in the emulator: samples/s with no loss and alarm latency
 *    sample -> pin in emulated time (`firmata.ts`).
 * 6. Our firmware alone in the emulator: alarm latency input crossing -> pin against one
 *    sample period, and the highest rate each build sustains at 115200 baud with no seq
 *    gap against the link limit, in emulated time (`firmware.ts`).
 * 7. Recording: insert rate of batched samples, the recorder's CPU share at 8 devices ×
 *    1 kHz, and serving a 1 h session's 2000-point overview (`recording.ts`); PostgreSQL
 *    against SQLite with two servers of 20 devices at 1 kHz each (`stores.ts`).
 * 8. The bus between servers: `over.started` at a client on another server (through Redis)
 *    against one on the same server, and a single server against a minimal relay process
 *    on the same kind of pty (`bus.ts`).
 * 9. Sound: force step -> audible pitch change of the guide tone at the page, against the
 *    step's arrival at the page (`sound.ts`).
 */
import { once } from 'node:events';
import { cpus, tmpdir, totalmem } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { parseDeviceSpec } from '../../device/device-spec.ts';
import { parseSimulatorSpec, SimulatedSampleSource } from '../../device/transports/simulator.ts';
import { serverEventSchemas } from '../../server/contract/live-events.ts';
import { spawnTsx, waitForLine } from '../support/cli.ts';
import { benchDashboard } from './dashboard.ts';
import { benchEngine } from './engine.ts';
import { benchFirmata } from './firmata.ts';
import { benchFirmware } from './firmware.ts';
import { benchRecording } from './recording.ts';
import { benchStores, processCpuS } from './stores.ts';
import { benchSound } from './sound.ts';
import { benchBus } from './bus.ts';

const MEASURE_S = 5;

function simulatorAlone(): number {
  const source = new SimulatedSampleSource(parseSimulatorSpec(parseDeviceSpec('sim:treatment?rate=1000'), { instance: 0, seed: 1 }));
  source.take(100_000);
  const startedMs = performance.now();
  let samples = 0;
  while (performance.now() - startedMs < MEASURE_S * 1000) samples += source.take(10_000).length;
  return samples / ((performance.now() - startedMs) / 1000);
}

interface StreamResult {
  receivedPerS: number;
  /** Received over produced, for the device time the client saw. */
  deliveredShare: number;
  serverCpuShare: number;
}

const RATE_HZ = 1000;

/**
 * Runs the server in its own process with `devices` (all at RATE_HZ, no simulated loss)
 * and counts what a client receives. What the server produced in the window follows
 * exactly from device time: each device's span of received device time times the rate.
 */
async function throughSocketIo(devices: string[]): Promise<StreamResult> {
  // The server records, as `npm start` does, into a database of its own (not the project's data/).
  const dbDir = mkdtempSync(join(tmpdir(), 'knotmeter-bench-live-'));
  const server = spawnTsx('server/cli/start.ts', ['--port', '0', '--log-level', 'silent', '--seed', '1', '--db', join(dbDir, 'live.db'), ...devices.flatMap((device) => ['--device', device])]);
  try {
    const [, url] = await waitForLine(server, /Knotmeter dashboard: (\S+)/);
    const client = io(url ?? '', { transports: ['websocket'] });
    let measuring = false;
    let received = 0;
    const spans = new Map<string, { firstMs: number; lastMs: number }>();
    client.on('readings', (payload) => {
      if (!measuring) return;
      for (const batch of serverEventSchemas.readings.parse(payload)) {
        received += batch.tMs.length;
        const span = spans.get(batch.deviceId) ?? { firstMs: batch.tMs[0] ?? 0, lastMs: 0 };
        span.lastMs = batch.tMs.at(-1) ?? span.lastMs;
        spans.set(batch.deviceId, span);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    measuring = true;
    const start = { cpuS: processCpuS(server.pid ?? 0), ms: performance.now() };
    await new Promise((resolve) => setTimeout(resolve, MEASURE_S * 1000));
    measuring = false;
    const elapsedS = (performance.now() - start.ms) / 1000;
    const produced = [...spans.values()].reduce((sum, span) => sum + ((span.lastMs - span.firstMs) * RATE_HZ) / 1000 + 1, 0);
    client.close();
    return { receivedPerS: received / elapsedS, deliveredShare: received / produced, serverCpuShare: (processCpuS(server.pid ?? 0) - start.cpuS) / elapsedS };
  } finally {
    server.kill('SIGTERM');
    if (server.exitCode === null && server.signalCode === null) await once(server, 'close');
    rmSync(dbDir, { recursive: true, force: true });
  }
}

const thousands = (value: number): string => Math.round(value).toLocaleString('en-US');
const percent = (value: number): string => `${(value * 100).toFixed(1)} %`;

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`Machine: ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`);
console.log(`Command: npm run bench (each figure over ${MEASURE_S} s)\n`);

const baseline = simulatorAlone();
console.log('| path | samples/s | share of produced | server CPU |');
console.log('| --- | ---: | ---: | ---: |');
console.log(`| baseline: simulator alone (in process, no I/O) | ${thousands(baseline)} | – | – |`);

const unpaced = await throughSocketIo([`sim:treatment?rate=${RATE_HZ}&speed=max`]);
console.log(`| 1 simulator unpaced -> socket.io client | ${thousands(unpaced.receivedPerS)} | ${percent(unpaced.deliveredShare)} | ${percent(unpaced.serverCpuShare)} |`);

for (const deviceCount of [1, 10, 40]) {
  const devices = Array.from({ length: deviceCount }, () => `sim:kneading?rate=${RATE_HZ}`);
  const paced = await throughSocketIo(devices);
  console.log(`| ${deviceCount} × 1 kHz real time -> socket.io client | ${thousands(paced.receivedPerS)} | ${percent(paced.deliveredShare)} | ${percent(paced.serverCpuShare)} |`);
}

console.log('');
for (const line of benchEngine()) console.log(line);

console.log('');
for (const line of await benchDashboard()) console.log(line);

console.log('');
for (const line of await benchFirmata()) console.log(line);

console.log('');
for (const line of await benchFirmware()) console.log(line);

console.log('');
for (const line of await benchRecording()) console.log(line);
console.log('');
for (const line of await benchStores()) console.log(line);

console.log('');
for (const line of await benchBus()) console.log(line);

console.log('');
for (const line of await benchSound()) console.log(line);
