/**
 * The real `hx711` hex in the emulator with its emulated HX711 load-cell ADC on D2/D3,
 * through the real `serialport`: HELLO says hx711 at 80 Hz; samples come every 12 500 us of
 * device time with no seq gap; RATE stops at the sensor's 80 Hz; LIMIT takes the signed
 * 24-bit range; raw is exactly the value set on the emulated HX711, from -8388608 to
 * 8388607; TARE is refused until 16 conversions have been read since boot (HX711 at 10 SPS),
 * then zeroes the mean of the last 16 conversions (raw 0 after it, and offsets after that),
 * clamps at the 24-bit ends, and is kept in EEPROM through a reset; the alarm follows the
 * tared raw on D13 within one sample period + one HX711 conversion period + 1 ms of a
 * crossing scheduled at an exact emulated time (device/PROTOCOL.md: the conversion itself
 * adds up to one conversion period).
 *
 * Not tested here: `FAULT,nodata`. The emulated HX711 cannot be stopped from outside:
 * the harness has no command to disconnect it or hold DOUT high (it powers down only when
 * the firmware holds SCK high, and carries on through AVR resets), and without `--hx711`
 * D2 floats low, which the firmware reads as an HX711 that is always ready. The firmware's
 * host tests (device/firmware/test/test_faults.cpp) cover it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HX711_RAW_MAX, HX711_RAW_MIN } from '../../device/emulator/emulator.ts';
import type { SampleMessage } from '../../device/protocol/device-messages.ts';
import { frame } from '../../device/protocol/framing.ts';
import { EmulatedFirmware, seqGaps } from './support/emulated-firmware.ts';

const TEST_TIMEOUT_MS = 90_000;
const PERIOD_US = 12_500; // 80 Hz
const CONVERSION_PERIOD_US = 12_500; // the HX711 at 80 SPS

async function ok(device: EmulatedFirmware, body: string): Promise<void> {
  expect((await device.command(body)).text).toBe(frame(`ACK,${body.split(',')[0] ?? ''}`));
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
    device = await EmulatedFirmware.start({ sensor: 'hx711', eepromPath });
  });

  afterAll(async () => {
    await device.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('says HELLO as hx711 at 80 Hz with the alarm off, and samples every 12 500 us with no seq gap', async () => {
    expect(device.lines[0]?.text).toMatch(/^\$HELLO,1,1\.0\.0,[0-9a-f]{8},hx711,80,0,0\*[0-9A-F]{2}$/);
    expect(['00000000', 'ffffffff']).not.toContain(device.hello.deviceId);
    const samples = await device.samples(1, 160);
    expect(samples[0]).toMatchObject({ seq: 0, tUs: PERIOD_US });
    expect(seqGaps(samples)).toEqual([]);
    expect(samples.every((sample, index) => sample.tUs === (index + 1) * PERIOD_US)).toBe(true);
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
      ['LIMIT,8388607,8388606', 'ACK,LIMIT'],
      ['LIMIT,0,0', 'ACK,LIMIT'],
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

      // after the reboot the same input reads the same tared raw. (Samples the firmware takes
      // before it has read its first conversion since boot carry 0 minus the tare instead:
      // a firmware bug, reported, which this test steps over by waiting for the first reading.)
      const { atIndex } = await device.reset();
      const firstReading = await device.nextLine((line) => line.message?.type === 'S' && line.message.raw === 10_000, { from: atIndex, what: 'raw 10000 after the reboot' });
      const rebooted = await device.samples(firstReading.index, 5);
      expect(rebooted.map((sample) => sample.raw)).toEqual([10_000, 10_000, 10_000, 10_000, 10_000]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'raises the alarm on the tared raw within one sample period + one conversion period + 1 ms of each crossing',
    async () => {
      await ok(device, 'LIMIT,100000,90000');
      const boundUs = PERIOD_US + CONVERSION_PERIOD_US + 1000;
      const from = device.cursor();
      const startUs = (await device.emulator.emulatedTimeUs()) + 100_000;
      // tare 50000: input 160000 is raw 110000 (over 100000), input 100000 is raw 50000 (under 90000)
      const crossingsUs = Array.from({ length: 6 }, (_, index) => startUs + index * 150_000 + Math.round((index * PERIOD_US) / 6) + 29);
      await device.emulator.schedule(
        'hx711',
        crossingsUs.flatMap((atUs) => [
          [atUs, 160_000],
          [atUs + 70_000, 100_000],
        ]),
      );
      await device.untilEmulatedUs((crossingsUs.at(-1) ?? 0) + 150_000);
      for (const upUs of crossingsUs) {
        const on = device.pinChangesOf('D13', upUs, upUs + 70_000).find((change) => change.level === 1);
        expect(on, `D13 after the crossing at ${upUs} us`).toBeDefined();
        expect((on?.emulatedUs ?? 0) - upUs).toBeGreaterThan(0);
        expect((on?.emulatedUs ?? 0) - upUs).toBeLessThanOrEqual(boundUs);
        const off = device.pinChangesOf('D13', upUs + 70_000, upUs + 150_000).find((change) => change.level === 0);
        expect((off?.emulatedUs ?? Number.POSITIVE_INFINITY) - (upUs + 70_000)).toBeLessThanOrEqual(boundUs);
      }
      const alarms = device.lines.slice(from).flatMap((line) => (line.message?.type === 'ALARM' ? [line.message] : []));
      expect(alarms.map((alarm) => [alarm.on, alarm.raw])).toEqual(crossingsUs.flatMap(() => [[true, 110_000], [false, 50_000]]));
      await ok(device, 'LIMIT,0,0');
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
