/**
 * Firmata against our firmware, both in the simavr emulator in real time (issue 9's
 * Bench), printed as Markdown for BENCHMARKS.md:
 *
 * 1. Samples per second with no loss: StandardFirmata (the avrgirl-arduino hex) at 57600
 *    baud through the Firmata transport, asked for sampling intervals of 20, 10, 5 and 1 ms; our
 *    firmware (device/firmware, `npm run firmware`) at 115200 baud through the serial
 *    transport at 100, 200 and 370 Hz (its link limit, device/PROTOCOL.md). A0 carries a
 *    sawtooth of one ADC code per emulated millisecond, so every sample's value says at
 *    which millisecond it was taken: the rate is samples over the emulated time they span,
 *    and a sampling period that went missing shows as a step of two periods. Firmata has
 *    no sequence numbers, so that step is its only loss count; our firmware's `seq` gaps
 *    are counted too.
 * 2. Alarm latency, sample -> pin, in emulated time: the limit at 600 raw counts (clear at
 *    400); A0 jumps from 300 to a fine ramp 700, 701, ... one code per 100 µs, so the first
 *    sample over the limit says when it was taken (to 0.1 ms); the latency is from then to
 *    D13's rise (and D9's, the last output written) as the emulator reports them. With
 *    Firmata that is the report's trip to the host, the host's alarm and the pin commands'
 *    trip back; our firmware switches its pins itself.
 */
import { Emulator } from '../../device/emulator/emulator.ts';
import { firmwareHex } from '../../device/transports/emulator.ts';
import { FirmataTransport, standardFirmataHexPath } from '../../device/transports/firmata.ts';
import { SerialTransport } from '../../device/transports/serial.ts';
import type { DeviceFeedback, RawSample, TransportListener } from '../../device/transport.ts';

const MEASURE_MS = 5000;
const LATENCY_TRIALS = 20;
const LIMIT = { onRaw: 600, offRaw: 400 } as const;
const BASE_CODE = 300;
const RAMP_FROM_CODE = 700;
const RAMP_STEP_US = 100;

function millivoltsForCode(code: number): number {
  return Math.ceil((code * 5000) / 1023);
}

class Samples implements TransportListener {
  readonly samples: RawSample[] = [];
  onSamples(batch: readonly RawSample[]): void {
    this.samples.push(...batch);
  }
  onStatus(): void {
    // the figures come from the samples and the pins
  }
}

async function waitFor(condition: () => boolean, what: string, limitMs: number, poll: () => Promise<unknown> = () => Promise.resolve()): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`bench: gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await poll();
  }
}

interface Board {
  readonly emulator: Emulator;
  readonly samples: Samples;
  readonly feedback: DeviceFeedback;
  /** Sequence gaps the transport counted (our firmware), 0 for Firmata (it has none to count). */
  lostSamples(): number;
  stop(): Promise<void>;
}

async function firmataBoard(samplingIntervalMs: number): Promise<Board> {
  const emulator = await Emulator.start({ hexPath: standardFirmataHexPath(), sensor: 'fsr' });
  const samples = new Samples();
  const transport = new FirmataTransport({
    target: { kind: 'path', path: emulator.ptyPath },
    baudRate: 57_600,
    samplingIntervalMs,
    feedbackMask: 7,
    readyTimeoutMs: 30_000,
    deviceId: null,
    instance: 0,
  });
  await transport.start(samples);
  if (transport.status().state !== 'connected') throw new Error(`bench: StandardFirmata did not attach: ${transport.status().lastError ?? ''}`);
  return { emulator, samples, feedback: transport.feedback, lostSamples: () => 0, stop: async () => (await transport.stop(), await emulator.stop()) };
}

async function firmwareBoard(rateHz: number): Promise<Board> {
  const emulator = await Emulator.start({ hexPath: await firmwareHex('fsr'), sensor: 'fsr' });
  const samples = new Samples();
  const transport = new SerialTransport({ path: emulator.ptyPath, baudRate: 115_200, deviceId: null });
  await transport.start(samples);
  if (transport.status().state !== 'connected') throw new Error(`bench: our firmware did not attach: ${transport.status().lastError ?? ''}`);
  await transport.setRate(rateHz);
  return { emulator, samples, feedback: transport.feedback, lostSamples: () => transport.status().lostSamples, stop: async () => (await transport.stop(), await emulator.stop()) };
}

interface RateFigure {
  readonly nominalHz: number;
  readonly samplesPerS: number;
  /** Sampling periods with no sample (a step of two periods or more on the sawtooth). */
  readonly missingPeriods: number;
  readonly seqGaps: number;
  readonly uartDrops: number;
}

async function measureRate(board: Board, nominalHz: number): Promise<RateFigure> {
  const periodMs = 1000 / nominalHz;
  let uartDrops = 0;
  const unsubscribe = board.emulator.onEvent((event) => {
    if (event.event === 'serialDropped') uartDrops += event.bytes;
  });
  // A0 at full scale first: the sawtooth then starts at code 0, so its first sample is the first below 1023.
  await board.emulator.setAnalogMillivolts(5000);
  await waitFor(() => board.samples.samples.slice(-3).every((sample) => sample.raw === 1023), 'A0 at full scale', 10_000);
  const lostBefore = board.lostSamples();
  const fromUs = (await board.emulator.emulatedTimeUs()) + 100_000;
  const points: [number, number][] = [];
  for (let ms = 0; ms < MEASURE_MS + 1000; ms++) points.push([fromUs + ms * 1000, millivoltsForCode(ms % 1024)]);
  const mark = board.samples.samples.length;
  await board.emulator.schedule('adc0', points, { replace: true });
  // Whatever arrived for MEASURE_MS of emulated time on the sawtooth (a board may sample slower than asked).
  const endUs = fromUs + (MEASURE_MS + 300) * 1000;
  let nowUs = 0;
  await waitFor(() => nowUs >= endUs, `${MEASURE_MS} ms of emulated time`, MEASURE_MS * 4 + 30_000, async () => (nowUs = await board.emulator.emulatedTimeUs()));
  await new Promise((resolve) => setTimeout(resolve, 300)); // the last reports on their way
  unsubscribe();
  const onRamp = board.samples.samples.findIndex((sample, index) => index > mark && sample.raw !== 1023);
  if (onRamp === -1) throw new Error(`bench: no sample on the sawtooth at ${nominalHz} Hz`);
  const stepsMs: number[] = [];
  const after = board.samples.samples.slice(onRamp + 1);
  for (const [index, sample] of after.entries()) {
    if (stepsMs.reduce((sum, step) => sum + step, 0) >= MEASURE_MS) break;
    stepsMs.push((sample.raw - (index === 0 ? (board.samples.samples[onRamp]?.raw ?? 0) : (after[index - 1]?.raw ?? 0)) + 1024) % 1024);
  }
  const spanMs = stepsMs.reduce((sum, step) => sum + step, 0);
  // The period the board actually keeps (StandardFirmata 2.4 never samples faster than every
  // 10 ms): a step of about two of them or more means a period went by with no sample.
  const keptPeriodMs = Math.max(periodMs, [...stepsMs].sort((a, b) => a - b)[Math.floor(stepsMs.length / 2)] ?? periodMs);
  const missingPeriods = stepsMs.reduce((sum, step) => sum + Math.max(0, Math.round(step / keptPeriodMs - 0.25) - 1), 0);
  return { nominalHz, samplesPerS: (stepsMs.length * 1000) / spanMs, missingPeriods, seqGaps: board.lostSamples() - lostBefore, uartDrops };
}

interface Latency {
  readonly ledUs: number[];
  readonly allUs: number[];
}

async function measureLatency(board: Board): Promise<Latency> {
  await board.feedback.setOverLimit(LIMIT.onRaw, LIMIT.offRaw);
  const rises: { pin: string; emulatedUs: number }[] = [];
  const unsubscribe = board.emulator.onPinChange((change) => {
    if (change.level > 0) rises.push({ pin: change.pin, emulatedUs: change.emulatedUs });
  });
  const ledUs: number[] = [];
  const allUs: number[] = [];
  await board.emulator.setAnalogMillivolts(millivoltsForCode(BASE_CODE));
  for (let trial = 0; trial < LATENCY_TRIALS; trial++) {
    // A random phase against the sampling period.
    const jumpUs = (await board.emulator.emulatedTimeUs()) + 150_000 + Math.floor(Math.random() * 10_000);
    const points: [number, number][] = [];
    for (let step = 0; step <= 1023 - RAMP_FROM_CODE; step++) points.push([jumpUs + step * RAMP_STEP_US, millivoltsForCode(RAMP_FROM_CODE + step)]);
    points.push([jumpUs + 300_000, millivoltsForCode(BASE_CODE)]);
    const mark = board.samples.samples.length;
    rises.length = 0;
    await board.emulator.schedule('adc0', points, { replace: true });
    const firstHigh = (): RawSample | undefined => board.samples.samples.slice(mark).find((sample) => sample.raw >= RAMP_FROM_CODE);
    const rise = (pin: string): number | undefined => rises.find((change) => change.pin === pin && change.emulatedUs >= jumpUs)?.emulatedUs;
    await waitFor(() => firstHigh() !== undefined && rise('D13') !== undefined && rise('D6') !== undefined && rise('D9') !== undefined, 'the alarm on every pin', 10_000);
    const sampleUs = jumpUs + ((firstHigh()?.raw ?? 0) - RAMP_FROM_CODE) * RAMP_STEP_US;
    ledUs.push((rise('D13') ?? 0) - sampleUs);
    allUs.push(Math.max(rise('D13') ?? 0, rise('D6') ?? 0, rise('D9') ?? 0) - sampleUs);
    // Back below the clear level before the next trial.
    await waitFor(() => board.samples.samples.slice(-2).every((sample) => sample.raw === BASE_CODE), 'A0 back down', 10_000);
  }
  unsubscribe();
  return { ledUs, allUs };
}

function percentile(values: readonly number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? Number.NaN;
}

const ms = (us: number): string => (us / 1000).toFixed(2);
const perS = (value: number): string => value.toFixed(1);

export async function benchFirmata(): Promise<string[]> {
  const rates: { path: string; figure: RateFigure }[] = [];
  for (const intervalMs of [20, 10, 5, 1]) {
    const board = await firmataBoard(intervalMs);
    try {
      rates.push({ path: 'StandardFirmata 2.4, 57600 baud, Firmata transport', figure: await measureRate(board, 1000 / intervalMs) });
    } finally {
      await board.stop();
    }
  }
  for (const rateHz of [100, 200, 370]) {
    const board = await firmwareBoard(rateHz);
    try {
      rates.push({ path: 'our firmware (fsr), 115200 baud, serial transport', figure: await measureRate(board, rateHz) });
    } finally {
      await board.stop();
    }
  }
  const latencies: { path: string; latency: Latency }[] = [];
  for (const [path, start] of [
    ['StandardFirmata, 100 Hz: host alarm, pins over the link', () => firmataBoard(10)],
    ['our firmware, 100 Hz: local alarm on the chip', () => firmwareBoard(100)],
  ] as const) {
    const board = await start();
    try {
      latencies.push({ path, latency: await measureLatency(board) });
    } finally {
      await board.stop();
    }
  }
  return [
    `Firmata vs our firmware, both in the emulator in real time (A0 sawtooth, ${MEASURE_MS / 1000} s of emulated time per rate):`,
    '',
    '| path | asked (Hz) | samples/s (emulated time) | missing periods | seq gaps | UART bytes dropped |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rates.map(({ path, figure }) => `| ${path} | ${perS(figure.nominalHz)} | ${perS(figure.samplesPerS)} | ${figure.missingPeriods} | ${path.startsWith('Standard') ? 'n/a' : figure.seqGaps} | ${figure.uartDrops} |`),
    '',
    `Alarm latency, sample over the limit -> pin, emulated ms over ${LATENCY_TRIALS} crossings (median / 95th percentile / max):`,
    '',
    '| path | D13 (LED) | last of D13, D6, D9 |',
    '| --- | ---: | ---: |',
    ...latencies.map(
      ({ path, latency }) =>
        `| ${path} | ${ms(percentile(latency.ledUs, 0.5))} / ${ms(percentile(latency.ledUs, 0.95))} / ${ms(Math.max(...latency.ledUs))} | ` +
        `${ms(percentile(latency.allUs, 0.5))} / ${ms(percentile(latency.allUs, 0.95))} / ${ms(Math.max(...latency.allUs))} |`,
    ),
  ];
}

// `npx tsx test/bench/firmata.ts` runs this part alone.
if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  for (const line of await benchFirmata()) console.log(line);
}
