/**
 * The real `hx711` hex in the emulator with its emulated HX711 load-cell ADC on D2/D3,
 * through the real `serialport`: HELLO says hx711 at 80 Hz; samples come every 12 500 us of
 * device time with no seq gap, from the first conversion on (seq 0 is the first tick after
 * it); RATE stops at the sensor's 80 Hz; LIMIT takes the signed 24-bit range; raw is exactly
 * the value set on the emulated HX711, from -8388608 to 8388607; TARE is refused until 16
 * conversions have been read since boot (HX711 at 10 SPS), then zeroes the mean of the last
 * 16 conversions (raw 0 after it, and offsets after that), clamps at the 24-bit ends, and is
 * kept in EEPROM through a reset, after which the first S line carries the tared reading.
 * The alarm is judged on each conversion as it is read: D13, D6 and D9 switch within one
 * sample period + 1 ms of a crossing scheduled at an exact emulated time, a fraction of a
 * millisecond after the HX711 presents the conversion (the harness's `hx711Data` events),
 * and each ALARM line goes before the S line of the sample it names.
 *
 * With the HX711 unplugged in the harness (DOUT held high, no conversions): `FAULT,nodata`
 * 500 ms after the last conversion was read, once, with the S lines repeating that
 * conversion meanwhile, and again after it is plugged in and unplugged once more; and a
 * reboot without it takes no sample and judges no alarm until its first conversion, even
 * with a tare that would make a missing reading (0) look like a press.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HX711_RAW_MAX, HX711_RAW_MIN } from '../../../../device/emulator/emulator.ts';
import type { AlarmMessage, SampleMessage } from '../../../../device/protocol/device-messages.ts';
import { frame } from '../../../../device/protocol/framing.ts';
import { ALARM_PINS, quietFromUs, switchedOnUs } from './support/alarm-pins.ts';
import { EmulatedFirmware, sampleOf, seqGaps, type DeviceLine } from './support/emulated-firmware.ts';

const TEST_TIMEOUT_MS = 90_000;
const PERIOD_US = 12_500; // 80 Hz
const CONVERSION_PERIOD_US = 12_500; // the HX711 at 80 SPS
/** The contract's bound on the alarm: one sample period + 1 ms (device/PROTOCOL.md). */
const ALARM_BOUND_US = PERIOD_US + 1000;
/**
 * From the HX711 presenting a conversion (DOUT low) to the outputs: the main loop noticing it
 * (at most one pass, a sample's handling), the 25-pulse read, the judgement. Measured 149 to
 * 171 us in simavr (device/PROTOCOL.md); the buzzer's first edge comes half a 2 kHz cycle
 * (250 us) after the LED.
 */
const HANDLING_BOUND_US = 1000;
const NODATA_US = 500_000;

async function ok(device: EmulatedFirmware, body: string): Promise<void> {
  expect((await device.command(body)).text).toBe(frame(`ACK,${body.split(',')[0] ?? ''}`));
}

/** An ALARM line comes before the S line of the sample it names (same t_us and raw), and after every earlier one. */
function expectBeforeItsSample(device: EmulatedFirmware, line: DeviceLine, from: number): void {
  if (line.message?.type !== 'ALARM') throw new Error(`not an ALARM line: ${line.text}`);
  const alarm: AlarmMessage = line.message;
  const { lines } = device;
  const before = lines.slice(from, line.index).flatMap((candidate) => sampleOf(candidate) ?? []);
  expect(before.filter((sample) => sample.tUs >= alarm.tUs), `S lines at or after ${alarm.tUs} before its ALARM`).toEqual([]);
  const its = lines.slice(line.index + 1).flatMap((candidate) => sampleOf(candidate) ?? []).find((sample) => sample.tUs >= alarm.tUs);
  expect(its).toMatchObject({ tUs: alarm.tUs, raw: alarm.raw });
}

/** Sets the HX711's input and resolves with the first 6 samples that show `expectedRaw`, after checking what came before. */
async function settle(device: EmulatedFirmware, inputRaw: number, expectedRaw: number): Promise<SampleMessage[]> {
  const from = device.cursor();
  const previous = device.samplesBetween(0).at(-1)?.raw;
  await device.emulator.setHx711Raw(inputRaw);
  const first = await device.nextLine((line) => line.message?.type === 'S' && line.message.raw === expectedRaw, { from, what: `raw ${expectedRaw}` });
  // on the way there only the old value (no torn 24-bit read)
  for (const sample of device.samplesBetween(from, first.index)) expect(sample.raw).toBe(previous);
  const samples = await device.samples(first.index, 6);
  expect(samples.map((sample) => sample.raw)).toEqual(samples.map(() => expectedRaw));
  return samples;
}

describe('hx711 at 80 Hz (HX711 at 80 SPS)', () => {
  let dir: string;
  let eepromPath: string;
  let device: EmulatedFirmware;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'knotmeter-firmware-hx711-'));
    eepromPath = join(dir, 'hx711.eeprom');
    device = await EmulatedFirmware.start({ sensor: 'hx711', eepromPath, hx711DataEvents: true });
  });

  afterAll(async () => {
    await device.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('says HELLO as hx711 at 80 Hz with the alarm off, and samples every 12 500 us with no seq gap from the first conversion on', async () => {
    expect(device.lines[0]?.text).toMatch(/^\$HELLO,1,1\.2\.0,[0-9a-f]{8},hx711,80,3852000,3731625,3852000\*[0-9A-F]{2}$/);
    expect(['00000000', 'ffffffff']).not.toContain(device.hello.deviceId);
    const samples = await device.samples(1, 160);
    // seq 0 at the first tick after the first conversion since boot: the firmware powers the
    // HX711 down and up first thing at boot (a reset may have cut a read short), so its first
    // data comes after the settling time, 4 conversion periods from then (sooner on the clock
    // that starts at HELLO when a first boot's entropy took longer)
    const firstUs = samples[0]?.tUs ?? 0;
    expect(samples[0]?.seq).toBe(0);
    expect(firstUs % PERIOD_US).toBe(0);
    expect(firstUs).toBeGreaterThanOrEqual(PERIOD_US);
    expect(firstUs).toBeLessThanOrEqual(4 * CONVERSION_PERIOD_US + PERIOD_US);
    expect(seqGaps(samples)).toEqual([]);
    expect(samples.every((sample, index) => sample.tUs === firstUs + index * PERIOD_US)).toBe(true);
  });

  it("caps RATE at the sensor's 80 Hz and takes LIMIT over the signed 24-bit range", async () => {
    for (const [body, reply] of [
      ['RATE,81', 'NAK,RATE,range'],
      ['RATE,100', 'NAK,RATE,range'],
      ['RATE,80', 'ACK,RATE'],
      ['RATE,10', 'ACK,RATE'],
      ['RATE,9', 'NAK,RATE,range'],
      ['RATE,80', 'ACK,RATE'],
      ['LIMIT,8388608,0', 'NAK,LIMIT,range'],
      ['LIMIT,100,-1', 'NAK,LIMIT,range'],
      ['LIMIT,8388607,8388606', 'NAK,LIMIT,ceiling'], // above the hx711 build's 3852000 (90 N)
      ['LIMIT,3852001,0', 'NAK,LIMIT,ceiling'],
      ['LIMIT,0,0', 'NAK,LIMIT,ceiling'],
      ['CEILING,8388607', 'NAK,CEILING,locked'], // D4 not held at boot
      ['LIMIT,3852000,0', 'ACK,LIMIT'],
      ['LIMIT,3852000,3731625', 'ACK,LIMIT'], // back to the blank EEPROM's thresholds
    ] as const) {
      expect((await device.command(body)).text, body).toBe(frame(reply));
    }
  });

  it(
    'reads exactly the signed 24-bit value set on the emulated HX711, ends included',
    async () => {
      for (const raw of [123_456, -123_456, HX711_RAW_MAX, HX711_RAW_MIN, 1, -1, 0]) await settle(device, raw, raw);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'zeroes the mean of the last 16 conversions on TARE, offsets everything after it, clamps at the 24-bit ends, and keeps the tare through a reset',
    async () => {
      const setUs = await device.emulator.setHx711Raw(50_000);
      // 16 conversions of it (12.5 ms each) and more
      await device.untilEmulatedUs(setUs + 20 * CONVERSION_PERIOD_US + 20_000);
      const tare = await device.command('TARE');
      expect(tare.text).toBe(frame('ACK,TARE'));
      const after = await device.samples(tare.index, 5);
      expect(after.map((sample) => sample.raw)).toEqual([0, 0, 0, 0, 0]);
      await settle(device, 60_000, 10_000);
      await settle(device, -20_000, -70_000);
      await settle(device, HX711_RAW_MIN, HX711_RAW_MIN); // -8388608 - 50000, clamped
      await settle(device, 60_000, 10_000);
      // HELLO does not show the tare: the limits are in tared counts
      expect((await device.command('INFO')).text).toBe(device.lines[0]?.text);

      // after the reboot the same input reads the same tared raw, from the very first S line
      // (no sample before the first conversion, so none of 0 minus the tare)
      const { atIndex } = await device.reset();
      const rebooted = await device.samples(atIndex, 5);
      expect(rebooted[0]?.seq).toBe(0);
      expect(rebooted.map((sample) => sample.raw)).toEqual([10_000, 10_000, 10_000, 10_000, 10_000]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'switches D13, D6 and D9 on the tared raw as each conversion is read: within one sample period + 1 ms of the crossing, a fraction of a ms after the HX711 presents it, ALARM before its sample',
    async () => {
      await ok(device, 'LIMIT,100000,90000');
      const from = device.cursor();
      const startUs = (await device.emulator.emulatedTimeUs()) + 100_000;
      // tare 50000: input 160000 is raw 110000 (over 100000), input 100000 is raw 50000 (under
      // 90000); eight crossings at phases spread over a sample period (and the conversion period)
      const crossingsUs = Array.from({ length: 8 }, (_, index) => startUs + index * 150_000 + Math.round((index * PERIOD_US) / 8) + 29);
      await device.emulator.schedule(
        'hx711',
        crossingsUs.flatMap((atUs) => [
          [atUs, 160_000],
          [atUs + 70_000, 100_000],
        ]),
      );
      await device.untilEmulatedUs((crossingsUs.at(-1) ?? 0) + 150_000);
      /** When the HX711 first presented `raw` at or after `fromUs`. */
      const presentedUs = (raw: number, fromUs: number): number => {
        const data = device.hx711Data.find((event) => event.emulatedUs >= fromUs && event.raw === raw);
        expect(data, `a conversion of ${raw} after ${fromUs} us`).toBeDefined();
        return data?.emulatedUs ?? Number.NaN;
      };
      for (const [index, upUs] of crossingsUs.entries()) {
        const downUs = upUs + 70_000;
        const upPresentedUs = presentedUs(160_000, upUs);
        const downPresentedUs = presentedUs(100_000, downUs);
        expect(upPresentedUs - upUs).toBeLessThanOrEqual(CONVERSION_PERIOD_US);
        for (const pin of ALARM_PINS) {
          // nothing before the HX711 has the value
          expect(switchedOnUs(device.pinChanges, pin, upUs - 60_000, upPresentedUs), `${pin} before conversion ${index}`).toBeNull();
          const onUs = switchedOnUs(device.pinChanges, pin, upUs, downUs) ?? Number.NaN;
          expect(onUs - upUs, `${pin} latency from crossing ${index}`).toBeLessThanOrEqual(ALARM_BOUND_US);
          expect(onUs - upPresentedUs, `${pin} latency from conversion ${index}`).toBeGreaterThan(0);
          expect(onUs - upPresentedUs, `${pin} latency from conversion ${index}`).toBeLessThanOrEqual(HANDLING_BOUND_US);
          const quietUs = quietFromUs(device.pinChanges, pin, downUs, downUs + 80_000) ?? Number.NaN;
          expect(quietUs - downUs, `${pin} off latency from fall ${index}`).toBeLessThanOrEqual(ALARM_BOUND_US);
          expect(quietUs - downPresentedUs, `${pin} off latency from conversion ${index}`).toBeLessThanOrEqual(HANDLING_BOUND_US);
        }
      }
      // the pins and the conversions came on the harness's stdout, ahead of its reply to the
      // time; the lines come on the pty and on a loaded host may still be on their way
      let alarmsIn = 0;
      await device
        .nextLine((line) => line.message?.type === 'ALARM' && ++alarmsIn === crossingsUs.length * 2, { from, what: 'an ALARM line per crossing' })
        .catch(() => undefined); // fewer: the comparison below shows which
      const alarmLines = device.lines.slice(from).filter((line) => line.message?.type === 'ALARM');
      const alarms = alarmLines.flatMap((line) => (line.message?.type === 'ALARM' ? [line.message] : []));
      expect(alarms.map((alarm) => [alarm.on, alarm.raw])).toEqual(crossingsUs.flatMap(() => [[true, 110_000], [false, 50_000]]));
      // each names the sample that carries its conversion: the next S line of that t_us or
      // later is exactly that sample, and no S line of it came before the ALARM
      await device.sampleAtOrAfter((alarms.at(-1)?.tUs ?? 0) + PERIOD_US, from);
      for (const line of alarmLines) expectBeforeItsSample(device, line, from);
      await ok(device, 'LIMIT,3852000,3731625');
    },
    TEST_TIMEOUT_MS,
  );

  it('keeps the tare offset in the EEPROM settings record (device/PROTOCOL.md: bytes 19..22, hx711 kind 2)', async () => {
    await device.close();
    const image = await readFile(eepromPath);
    expect([image[8], image[9], image[10]]).toEqual([0x53, 1, 2]);
    expect(image.readInt32LE(19)).toBe(50_000);
  });
});

describe('hx711 TARE before 16 conversions (HX711 at 10 SPS)', () => {
  let device: EmulatedFirmware;

  beforeAll(async () => {
    device = await EmulatedFirmware.start({ sensor: 'hx711', hx711RateHz: 10 });
  });

  afterAll(async () => {
    await device.close();
  });

  it(
    'is refused with NAK,TARE,range right after boot (16 conversions take 1.6 s), and accepted once they are in',
    async () => {
      // sent as soon as HELLO is in: a few ms of round trip against 1.6 s of emulated time
      expect((await device.command('TARE')).text).toBe(frame('NAK,TARE,range'));
      await device.untilEmulatedUs((await device.emulator.emulatedTimeUs()) + 1_800_000);
      expect((await device.command('TARE')).text).toBe(frame('ACK,TARE'));
      // 10 conversions a second under 80 samples a second: the last one repeats, and that is no fault
      expect(device.lines.filter((line) => line.message?.type === 'FAULT')).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('hx711 with the HX711 unplugged and plugged in again (HX711 at 80 SPS)', () => {
  let device: EmulatedFirmware;

  beforeAll(async () => {
    device = await EmulatedFirmware.start({ sensor: 'hx711', hx711DataEvents: true });
  });

  afterAll(async () => {
    await device.close();
  });

  /**
   * Ramps the HX711's input (a new value every millisecond, so each conversion tells which it
   * was), unplugs it in the middle of the ramp, and waits for FAULT,nodata. Returns the fault
   * line, the S line that first carried the last conversion read, and the unplug time.
   */
  async function unplugDuringRamp(base: number): Promise<{ fault: DeviceLine; lastRead: SampleMessage; unpluggedUs: number }> {
    const from = device.cursor();
    const rampUs = (await device.emulator.emulatedTimeUs()) + 20_000;
    await device.emulator.schedule(
      'hx711',
      Array.from({ length: 400 }, (_, step) => [rampUs + step * 1000, base + step] as const),
      { replace: true },
    );
    await device.untilEmulatedUs(rampUs + 200_000);
    const unpluggedUs = await device.emulator.setHx711Connected(false);
    const fault = await device.nextLine((line) => line.message?.type === 'FAULT', { from, what: 'FAULT,nodata' });
    expect(fault.text).toBe(frame('FAULT,nodata'));
    // the last conversion read: the last change of value among the S lines before the fault
    const before = device.samplesBetween(from, fault.index);
    const lastChange = before.findLastIndex((sample, index) => index > 0 && sample.raw !== before[index - 1]?.raw);
    const lastRead = before[lastChange];
    if (!lastRead) throw new Error('no conversion of the ramp reached the S lines');
    expect(lastRead.raw).toBeGreaterThanOrEqual(base + 150);
    // it was one of the last two the HX711 presented before it was unplugged (the very last
    // may have been cut off by the unplug before the firmware read it), and none came after
    const presented = device.hx711Data.filter((event) => event.emulatedUs <= unpluggedUs).slice(-2);
    expect(presented.map((event) => event.raw)).toContain(lastRead.raw);
    expect(device.hx711Data.filter((event) => event.emulatedUs > unpluggedUs)).toEqual([]);
    return { fault, lastRead, unpluggedUs };
  }

  /** The fault came 500 ms after the last conversion was read, once, with the S lines repeating it meanwhile. */
  async function expectNodataFault({ fault, lastRead }: { fault: DeviceLine; lastRead: SampleMessage }): Promise<void> {
    // The conversion was read during the period before the tick that carried it (lastRead.tUs),
    // so 500 ms after the read falls between the ticks 487.5 and 500 ms after that one: the
    // fault goes out between their S lines, give or take the main loop's pass (one period).
    const after = await device.samples(fault.index, 1);
    const previous = device.samplesBetween(0, fault.index).at(-1);
    expect(previous?.tUs).toBeGreaterThanOrEqual(lastRead.tUs + NODATA_US - 2 * PERIOD_US);
    expect(after[0]?.tUs).toBeLessThanOrEqual(lastRead.tUs + NODATA_US + PERIOD_US);
    expect((after[0]?.tUs ?? 0) - (previous?.tUs ?? 0)).toBe(PERIOD_US);
    // 1.2 s of the fault: no second FAULT; S lines at the set rate, no seq gap, all the last reading
    const holdUs = 1_200_000;
    await device.sampleAtOrAfter(lastRead.tUs + holdUs, fault.index);
    const lastReadIndex = device.lines.findIndex((line) => line.message === lastRead);
    const during = device.lines.slice(lastReadIndex).filter((line) => (sampleOf(line)?.tUs ?? -1) <= lastRead.tUs + holdUs);
    const samples = during.flatMap((line) => sampleOf(line) ?? []);
    expect(samples.length).toBe(holdUs / PERIOD_US + 1);
    expect(seqGaps(samples)).toEqual([]);
    expect(samples.every((sample, index) => sample.tUs === lastRead.tUs + index * PERIOD_US && sample.raw === lastRead.raw)).toBe(true);
    expect(device.lines.slice(lastReadIndex).filter((line) => line.message?.type === 'FAULT')).toHaveLength(1);
  }

  it(
    'sends FAULT,nodata once, 500 ms after the last conversion was read, S lines repeating it meanwhile; and again after it is back and stops again',
    async () => {
      const first = await unplugDuringRamp(300_000);
      await expectNodataFault(first);

      const pluggedUs = await device.emulator.setHx711Connected(true);
      // power-on: the first data after the settling time (4 conversion periods), then fresh S lines
      const back = await device.nextLine((line) => (sampleOf(line)?.raw ?? first.lastRead.raw) !== first.lastRead.raw, { from: first.fault.index, what: 'an S line of a new conversion' });
      const firstData = device.hx711Data.find((event) => event.emulatedUs > pluggedUs);
      expect((firstData?.emulatedUs ?? 0) - pluggedUs).toBeGreaterThanOrEqual(4 * CONVERSION_PERIOD_US - 1);
      expect(sampleOf(back)?.raw).toBe(firstData?.raw);

      const second = await unplugDuringRamp(600_000);
      await expectNodataFault(second);
      expect(device.lines.filter((line) => line.message?.type === 'FAULT')).toHaveLength(2);
      await device.emulator.setHx711Connected(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'reboots without the HX711: no sample and no alarm until its first conversion, then seq 0 with the tared reading, even where 0 minus the tare is over the limit',
    async () => {
      await device.emulator.setHx711Raw(-200_000); // a bridge that rests at -200000 counts
      await device.untilEmulatedUs((await device.emulator.emulatedTimeUs()) + 20 * CONVERSION_PERIOD_US + 100_000);
      await ok(device, 'TARE');
      await ok(device, 'LIMIT,100000,90000'); // a reading of 0 would be 200000 over the tare
      await device.emulator.setHx711Raw(-195_000); // 5000 over the tare
      await device.emulator.setHx711Connected(false);
      const { atIndex, resetUs } = await device.reset();
      await device.untilEmulatedUs(resetUs + 100_000); // eight ticks and more without a conversion
      const pluggedUs = await device.emulator.setHx711Connected(true);
      const samples = await device.samples(atIndex, 10);
      expect(samples[0]?.seq).toBe(0);
      // the ticks before the conversion (settling: 50 ms after the plug) took no sample
      expect(samples[0]?.tUs).toBeGreaterThanOrEqual(100_000);
      expect(samples.map((sample) => sample.raw)).toEqual(samples.map(() => 5000));
      expect(seqGaps(samples)).toEqual([]);
      expect(device.lines.slice(atIndex).filter((line) => line.message?.type === 'ALARM')).toEqual([]);
      for (const pin of ALARM_PINS) expect(switchedOnUs(device.pinChanges, pin, resetUs, pluggedUs + 200_000), pin).toBeNull();
    },
    TEST_TIMEOUT_MS,
  );
});
