/**
 * The real `fsr` hex samples at exactly its rate in emulated time, and A0 is what it
 * reads: at 100 Hz every S line is 10 000 us of device time after the one before, with no
 * seq gap; the device clock (t_us) runs with the emulator's clock (two alarm switches
 * seconds apart are as far apart on D13, in emulated us, as in t_us, and seq counts the
 * periods between them); at the link limit, 370 Hz, the periods are 2700/2704 us, every
 * 370 of them make exactly one second, and no sample is lost, both over the chip's 10-bit
 * 8N1 frames and over simavr's own 11-bit ones; raw follows a staircase driven on A0 at
 * exact emulated times (simavr's floor(mV * 1023 / 5000), within 1 count).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { millivoltsToAdc } from '../../../../device/emulator/emulator.ts';
import type { SampleMessage } from '../../../../device/protocol/device-messages.ts';
import { frame } from '../../../../device/protocol/framing.ts';
import { EmulatedFirmware, FIRMWARE_BAUD_RATE, LONGEST_SAMPLE_LINE_BYTES, seqGaps } from './support/emulated-firmware.ts';

const TEST_TIMEOUT_MS = 120_000;
/**
 * The firmware's alarm outputs switch while it handles the sample, 139-149 us after the
 * tick (device/PROTOCOL.md): how much that may vary, with the 4 us clock, far under a period.
 */
const HANDLING_SPREAD_US = 40;

function periodsUs(samples: readonly SampleMessage[]): number[] {
  return samples.slice(1).map((sample, index) => sample.tUs - (samples[index]?.tUs ?? 0));
}

describe('fsr at 100 Hz, the default rate', () => {
  let device: EmulatedFirmware;

  beforeAll(async () => {
    device = await EmulatedFirmware.start({ sensor: 'fsr' });
  });

  afterAll(async () => {
    await device.close();
  });

  it(
    'sends an S line every 10 000 us of device time with seq counting up by one, for 3 s',
    async () => {
      const samples = await device.samples(device.cursor(), 300);
      expect(seqGaps(samples)).toEqual([]);
      expect(new Set(periodsUs(samples))).toEqual(new Set([10_000]));
      expect(samples.every((sample) => sample.tUs === (sample.seq + 1) * 10_000)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "keeps t_us in step with the emulated clock: two alarm switches 3 s apart are as far apart on D13 as in t_us, and seq counts the periods",
    async () => {
      expect((await device.command('LIMIT,600,550')).text).toBe(frame('ACK,LIMIT'));
      expect((await device.command('FEEDBACK,1')).text).toBe(frame('ACK,FEEDBACK'));
      const nowUs = await device.emulator.emulatedTimeUs();
      const crossingsUs = [nowUs + 200_000 + 3_333, nowUs + 3_200_000 + 7_777];
      const from = device.cursor();
      await device.emulator.schedule(
        'adc0',
        crossingsUs.flatMap((atUs) => [
          [atUs, 3000],
          [atUs + 50_000, 1000],
        ]),
      );
      const switches: { pinUs: number; tUs: number; seq: number }[] = [];
      let searchFrom = from;
      for (const crossingUs of crossingsUs) {
        const pin = await device.nextPinChange('D13', crossingUs, (change) => change.level === 1, 20_000);
        const alarm = await device.nextLine((line) => line.message?.type === 'ALARM' && line.message.on, { from: searchFrom, what: 'ALARM,1', timeoutMs: 20_000 });
        const sample = await device.nextLine((line) => line.message?.type === 'S', { from: alarm.index, what: 'the S line after ALARM' });
        if (alarm.message?.type !== 'ALARM' || sample.message?.type !== 'S') throw new Error('unreachable');
        expect(sample.message.tUs).toBe(alarm.message.tUs);
        expect(pin.emulatedUs - crossingUs).toBeGreaterThan(0);
        expect(pin.emulatedUs - crossingUs).toBeLessThanOrEqual(10_000 + 1_000);
        switches.push({ pinUs: pin.emulatedUs, tUs: alarm.message.tUs, seq: sample.message.seq });
        searchFrom = sample.index + 1;
      }
      const [first, second] = switches;
      if (!first || !second) throw new Error('two switches expected');
      const deviceSpanUs = second.tUs - first.tUs;
      expect(deviceSpanUs).toBeGreaterThan(2_900_000);
      expect(Math.abs(second.pinUs - first.pinUs - deviceSpanUs)).toBeLessThanOrEqual(HANDLING_SPREAD_US);
      expect(second.seq - first.seq).toBe(deviceSpanUs / 10_000);
      // back to the thresholds of a blank EEPROM: at the fsr build's ceiling
      expect((await device.command('LIMIT,767,744')).text).toBe(frame('ACK,LIMIT'));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'reads A0 as driven: a staircase of steps 100 ms apart gives plateaus of simavr floor(mV * 1023 / 5000), within 1 count, 10 samples each',
    async () => {
      const stepsMv = [2000, 2500, 3333, 4999, 5000, 5, 0, 1234, 4000];
      const stepUs = 100_000;
      // from 0 mV (this also drops whatever an earlier test left queued on A0)
      const zeroAtUs = await device.emulator.setAnalogMillivolts(0);
      const zeroLine = await device.nextLine((line) => line.message?.type === 'S' && line.message.raw === 0, { from: device.cursor(), what: 'a sample of 0 mV' });
      const from = zeroLine.index;
      const startUs = zeroAtUs + 200_000 + 1_234;
      await device.emulator.schedule(
        'adc0',
        stepsMv.map((millivolts, index) => [startUs + index * stepUs, millivolts] as const),
      );
      await device.untilEmulatedUs(startUs + stepsMv.length * stepUs + 50_000);
      // the lines still in flight at that moment, then everything from before the first step
      await device.samples(device.cursor(), 10);
      const samples = device.samplesBetween(from);
      // plateaus of equal raw values, in order
      const plateaus: { raw: number; count: number }[] = [];
      for (const sample of samples) {
        const last = plateaus.at(-1);
        if (last?.raw === sample.raw) last.count++;
        else plateaus.push({ raw: sample.raw, count: 1 });
      }
      const stepPlateaus = plateaus.slice(1, 1 + stepsMv.length);
      expect(stepPlateaus.length).toBe(stepsMv.length);
      for (const [index, plateau] of stepPlateaus.entries()) {
        expect(Math.abs(plateau.raw - millivoltsToAdc(stepsMv[index] ?? 0)), `step ${index}: ${stepsMv[index]} mV`).toBeLessThanOrEqual(1);
        if (index < stepsMv.length - 1) expect(plateau.count).toBe(10);
      }
    },
    TEST_TIMEOUT_MS,
  );
});

const LINK_RATE_LIMIT_HZ = Math.floor((0.9 * FIRMWARE_BAUD_RATE) / 10 / LONGEST_SAMPLE_LINE_BYTES.fsr);

describe.each([
  { uart: 'chip', frameBits: 10 },
  { uart: 'simavr', frameBits: 11 },
] as const)('fsr at the link limit ($uart UART: $frameBits-bit frames)', ({ uart, frameBits }) => {
  let device: EmulatedFirmware;

  beforeAll(async () => {
    device = await EmulatedFirmware.start({ sensor: 'fsr', uart });
  });

  afterAll(async () => {
    await device.close();
  });

  it(
    `samples at ${LINK_RATE_LIMIT_HZ} Hz for 5 s of device time with no seq gap: periods of 2700/2704 us, exactly 1 s per ${LINK_RATE_LIMIT_HZ} of them`,
    async () => {
      if (uart === 'chip') expect((device.emulator.uart ?? (await device.emulator.waitForEvent('uart'))).frameBits).toBe(frameBits);
      else expect(device.emulator.uart).toBeNull(); // simavr's own UART: 11-bit frames, not reported
      const ack = await device.command(`RATE,${LINK_RATE_LIMIT_HZ}`);
      expect(ack.text).toBe(frame('ACK,RATE'));
      // the period under way when RATE came in ends at the old rate
      const [, ...samples] = await device.samples(ack.index, 5 * LINK_RATE_LIMIT_HZ + 2, 60_000);
      const gaps = seqGaps(samples);
      expect(gaps, `seq gaps (harness drops: ${JSON.stringify(device.serialDrops)})`).toEqual([]);
      expect(new Set(periodsUs(samples))).toEqual(new Set([2700, 2704]));
      for (let start = 0; start + LINK_RATE_LIMIT_HZ < samples.length; start += 37) {
        expect((samples[start + LINK_RATE_LIMIT_HZ]?.tUs ?? 0) - (samples[start]?.tUs ?? 0)).toBe(1_000_000);
      }
      expect(device.serialDrops).toEqual([]);
      expect(device.malformedLines()).toEqual([]);
      // what the link carried: at most the frames' bytes per second
      const sampleLines = device.lines.slice(ack.index).filter((line) => line.message?.type === 'S').slice(1, 1 + samples.length);
      const lineBytes = sampleLines.reduce((sum, line) => sum + line.text.length + 1, 0);
      const spanS = ((samples.at(-1)?.tUs ?? 0) - (samples[0]?.tUs ?? 0)) / 1e6;
      expect(lineBytes / spanS).toBeLessThan(16e6 / 8 / 17 / frameBits);
    },
    TEST_TIMEOUT_MS,
  );
});
