/**
 * The real firmware in the emulator (device/emulator, simavr 1.6, real time), measured in
 * emulated time, printed as Markdown for BENCHMARKS.md:
 *
 * 1. Alarm latency: the input crosses the LIMIT on threshold at an exact emulated time
 *    (the harness's schedule), 50 times at phases spread over a sample period; the time
 *    to each alarm output (D13 LED, D6 motor PWM, D9 buzzer's first edge) and, after the
 *    fall below the off threshold, to the LED going off. Baseline: one sample period (the
 *    most a sampled alarm can need to see the crossing); the bound is the protocol's
 *    "one sample period + 1 ms" (the hx711 build judges the alarm on each conversion as it
 *    is read, so the same bound holds at 80 SPS; device/PROTOCOL.md).
 * 2. The highest rate each build sustains at 115200 baud with no seq gap over 10 s of
 *    device time: the highest RATE the firmware accepts, stepped down while samples are
 *    lost. Baseline: the link limit, baud/10 bytes a second over the longest sample line,
 *    for the chip's 10-bit 8N1 frames and for the 11-bit frames simavr itself would carry
 *    (the harness emulates the chip's by default; both are run), with the input at its
 *    widest raw field (fsr 1022, hx711 -8388608) so the lines are as long as 10 s allow.
 *
 * `npm run bench` prints it after the live-path tables; `npx tsx test/bench/firmware.ts`
 * prints it alone.
 */
import { pathToFileURL } from 'node:url';
import { HX711_RAW_MIN, type OutputPin } from '../../device/emulator/emulator.ts';
import type { SensorKind } from '../../device/transport.ts';
import { millivoltsForRaw, quietFromUs, switchedOnUs } from '../device/firmware/emulated/support/alarm-pins.ts';
import { EmulatedFirmware, FIRMWARE_BAUD_RATE, LONGEST_SAMPLE_LINE_BYTES, seqGaps } from '../device/firmware/emulated/support/emulated-firmware.ts';

const CROSSINGS = 50;
const CROSSING_SPACING_US = 100_000;
const HIGH_HOLD_US = 40_000;
const SUSTAIN_S = 10;
/** UBRR0 = 16 with U2X0 at 16 MHz: the chip's 115200 (device/PROTOCOL.md). */
const CHIP_BAUD = 16e6 / 8 / 17;

interface LatencyCase {
  readonly sensor: SensorKind;
  readonly rateHz: number;
}

interface LatencyResult extends LatencyCase {
  readonly periodUs: number;
  readonly boundUs: number;
  readonly onUs: Record<OutputPin, number[]>;
  readonly ledOffUs: number[];
  readonly alarmLines: number;
}

/** Per sensor: LIMIT (raw on, off) and the input values above and below it. */
const ALARM_SETUP: Record<SensorKind, { limit: [number, number]; high: number; low: number }> = {
  fsr: { limit: [600, 550], high: millivoltsForRaw(700), low: millivoltsForRaw(300) },
  hx711: { limit: [100_000, 90_000], high: 160_000, low: 40_000 },
};

async function expectAck(device: EmulatedFirmware, body: string): Promise<void> {
  const reply = await device.command(body);
  if (!reply.text.startsWith('$ACK,')) throw new Error(`${body}: ${reply.text}`);
}

async function alarmLatency(target: LatencyCase): Promise<LatencyResult> {
  const device = await EmulatedFirmware.start({ sensor: target.sensor });
  try {
    const setup = ALARM_SETUP[target.sensor];
    await expectAck(device, `RATE,${target.rateHz}`);
    await expectAck(device, `LIMIT,${setup.limit[0]},${setup.limit[1]}`);
    const periodUs = 1e6 / target.rateHz;
    const from = device.cursor();
    const startUs = (await device.emulator.emulatedTimeUs()) + 200_000;
    // phases by the golden ratio: spread evenly over the period, in no particular order
    const upsUs = Array.from({ length: CROSSINGS }, (_, index) => startUs + index * CROSSING_SPACING_US + Math.floor(((index * 0.618_034) % 1) * periodUs));
    const points = upsUs.flatMap((upUs) => [
      [upUs, setup.high],
      [upUs + HIGH_HOLD_US, setup.low],
    ] as const);
    await device.emulator.schedule(target.sensor === 'hx711' ? 'hx711' : 'adc0', points);
    await device.untilEmulatedUs((upsUs.at(-1) ?? 0) + CROSSING_SPACING_US);
    await device.samples(device.cursor(), 3);

    const onUs: Record<OutputPin, number[]> = { D13: [], D6: [], D9: [] };
    const ledOffUs: number[] = [];
    for (const [index, upUs] of upsUs.entries()) {
      const downUs = upUs + HIGH_HOLD_US;
      const nextUpUs = upsUs[index + 1] ?? upUs + CROSSING_SPACING_US;
      for (const pin of ['D13', 'D6', 'D9'] as const) {
        const atUs = switchedOnUs(device.pinChanges, pin, upUs, downUs);
        if (atUs === null) throw new Error(`${target.sensor} at ${target.rateHz} Hz: ${pin} did not switch on after the crossing at ${upUs} us`);
        onUs[pin].push(atUs - upUs);
      }
      const offAtUs = quietFromUs(device.pinChanges, 'D13', downUs, nextUpUs);
      if (offAtUs === null) throw new Error(`${target.sensor} at ${target.rateHz} Hz: D13 still on after the fall at ${downUs} us`);
      ledOffUs.push(offAtUs - downUs);
    }
    const alarmLines = device.lines.slice(from).filter((line) => line.message?.type === 'ALARM').length;
    const boundUs = periodUs + 1000;
    return { ...target, periodUs, boundUs, onUs, ledOffUs, alarmLines };
  } finally {
    await device.close();
  }
}

interface RateAttempt {
  readonly rateHz: number;
  readonly samples: number;
  readonly missing: number;
  readonly bytesPerS: number;
  readonly meanLineBytes: number;
  readonly longestLineBytes: number;
}

interface SustainResult {
  readonly sensor: SensorKind;
  readonly uart: 'chip' | 'simavr';
  readonly frameBits: number;
  readonly highestAcceptedHz: number;
  readonly attempts: RateAttempt[];
}

/** The highest RATE the firmware acknowledges (binary search over 10..1000 Hz). */
async function highestAcceptedRate(device: EmulatedFirmware): Promise<number> {
  let low = 10;
  let high = 1000;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    const reply = await device.command(`RATE,${middle}`);
    if (reply.text.startsWith('$ACK,')) low = middle;
    else high = middle - 1;
  }
  return low;
}

async function runAt(device: EmulatedFirmware, rateHz: number): Promise<RateAttempt> {
  // the widest raw field each sensor has (1022: 1023 would be FAULT,rail after 1 s)
  if (device.sensor === 'fsr') await device.emulator.setAnalogMillivolts(millivoltsForRaw(1022));
  else await device.emulator.setHx711Raw(HX711_RAW_MIN);
  const ack = await device.command(`RATE,${rateHz}`);
  if (!ack.text.startsWith('$ACK,')) throw new Error(`RATE,${rateHz}: ${ack.text}`);
  // the first sample after RATE may end a period of the old rate: start after it
  const [first] = await device.samples(ack.index, 1);
  const startTUs = first?.tUs ?? 0;
  const endTUs = startTUs + SUSTAIN_S * 1e6;
  await device.sampleAtOrAfter(endTUs, ack.index, 60_000 + SUSTAIN_S * 2000);
  const lines = device.lines.slice(ack.index).filter((line) => line.message?.type === 'S' && line.message.tUs > startTUs && line.message.tUs <= endTUs);
  const samples = lines.flatMap((line) => (line.message?.type === 'S' ? [line.message] : []));
  const missing = seqGaps(samples).reduce((sum, gap) => sum + gap.missing, 0);
  const bytes = lines.reduce((sum, line) => sum + line.text.length + 1, 0);
  return {
    rateHz,
    samples: samples.length,
    missing,
    bytesPerS: bytes / SUSTAIN_S,
    meanLineBytes: bytes / Math.max(lines.length, 1),
    longestLineBytes: Math.max(...lines.map((line) => line.text.length + 1)),
  };
}

async function sustainedRate(sensor: SensorKind, uart: 'chip' | 'simavr'): Promise<SustainResult> {
  const device = await EmulatedFirmware.start({ sensor, uart });
  try {
    const frameBits = uart === 'chip' ? (device.emulator.uart ?? (await device.emulator.waitForEvent('uart'))).frameBits : 11;
    const highestAcceptedHz = await highestAcceptedRate(device);
    const attempts: RateAttempt[] = [];
    let rateHz = highestAcceptedHz;
    for (;;) {
      const attempt = await runAt(device, rateHz);
      attempts.push(attempt);
      if (attempt.missing === 0 || rateHz <= 10) break;
      rateHz = Math.max(10, Math.floor(rateHz * 0.95));
    }
    return { sensor, uart, frameBits, highestAcceptedHz, attempts };
  } finally {
    await device.close();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const us = (value: number): string => Math.round(value).toLocaleString('en-US');

export async function benchFirmware(): Promise<string[]> {
  const latencies: LatencyResult[] = [];
  for (const target of [
    { sensor: 'fsr', rateHz: 100 },
    { sensor: 'fsr', rateHz: 370 },
    { sensor: 'hx711', rateHz: 80 },
  ] as const) {
    latencies.push(await alarmLatency(target));
  }
  const sustained: SustainResult[] = [];
  for (const sensor of ['fsr', 'hx711'] as const) {
    for (const uart of ['chip', 'simavr'] as const) sustained.push(await sustainedRate(sensor, uart));
  }

  const lines = [
    `Firmware in the emulator: alarm latency over ${CROSSINGS} crossings at phases spread over a sample period, emulated µs:`,
    '',
    '| build, rate | output | min | median | max | one sample period (baseline) | bound | max within bound |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const result of latencies) {
    const rows: [string, number[]][] = [
      ['D13 LED on', result.onUs.D13],
      ['D6 motor on (PWM)', result.onUs.D6],
      ['D9 buzzer first edge', result.onUs.D9],
      ['D13 LED off (after the fall)', result.ledOffUs],
    ];
    for (const [output, values] of rows) {
      const max = Math.max(...values);
      lines.push(
        `| ${result.sensor}, ${result.rateHz} Hz | ${output} | ${us(Math.min(...values))} | ${us(median(values))} | ${us(max)} | ${us(result.periodUs)} | ${us(result.boundUs)} | ${max <= result.boundUs ? 'yes' : 'NO'} |`,
      );
    }
    if (result.alarmLines !== 2 * CROSSINGS) lines.push(`| ${result.sensor}, ${result.rateHz} Hz | ALARM lines | ${result.alarmLines} of ${2 * CROSSINGS} | | | | | NO |`);
  }
  lines.push(
    '',
    `Firmware in the emulator: highest rate sustained at 115200 baud (the chip's ${us(CHIP_BAUD)}) with no seq gap over ${SUSTAIN_S} s of device time:`,
    '',
    '| build | UART frames | link limit, baud/10 / L (10-bit, nominal) | what the emulated frames carry / L | highest RATE accepted | sustained, no gap | samples | missing | bytes/s carried | share of the emulated link | line bytes mean / longest (L) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const result of sustained) {
    const longest = LONGEST_SAMPLE_LINE_BYTES[result.sensor];
    const nominalLimitHz = FIRMWARE_BAUD_RATE / 10 / longest;
    const emulatedBytesPerS = CHIP_BAUD / result.frameBits;
    const best = result.attempts.find((attempt) => attempt.missing === 0);
    const shown = best ?? result.attempts.at(-1);
    if (!shown) continue;
    const tried = result.attempts.length > 1 ? ` (tried ${result.attempts.map((attempt) => `${attempt.rateHz} Hz: ${attempt.missing} missing`).join(', ')})` : '';
    lines.push(
      `| ${result.sensor} | ${result.frameBits}-bit (${result.uart}) | ${nominalLimitHz.toFixed(0)} Hz | ${(emulatedBytesPerS / longest).toFixed(0)} Hz | ${result.highestAcceptedHz} Hz | ${best ? `${best.rateHz} Hz` : 'none'}${tried} | ${shown.samples} | ${shown.missing} | ${us(shown.bytesPerS)} | ${((shown.bytesPerS / emulatedBytesPerS) * 100).toFixed(1)} % | ${shown.meanLineBytes.toFixed(1)} / ${shown.longestLineBytes} (${longest}) |`,
    );
  }
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of await benchFirmware()) console.log(line);
}
