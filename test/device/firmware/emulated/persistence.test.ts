/**
 * What the real `fsr` hex keeps in EEPROM, through resets and restarts of the emulator:
 * after a reset (the harness's reset, like the reset pin) the new HELLO has the same
 * device id and the same LIMIT, while what is not stored (rate, FEEDBACK, ZONE) is back to
 * its default and seq/t_us start again; the alarm then works from the stored thresholds
 * with no host command at all. Across a restart of the emulator on the same EEPROM file
 * the id and LIMIT stay, and the file holds the records of device/PROTOCOL.md (magic,
 * version, id, sensor, limits, tare, CRC-8/SMBUS). An identity record written into the
 * EEPROM image is the id the device announces; a corrupt one is replaced by a new id,
 * never 00000000 or ffffffff.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frame } from '../../../../device/protocol/framing.ts';
import { ALARM_PINS, millivoltsForRaw, switchedOnUs } from './support/alarm-pins.ts';
import { EmulatedFirmware } from './support/emulated-firmware.ts';

const TEST_TIMEOUT_MS = 90_000;
const EEPROM_BYTES = 1024;

/** CRC-8/SMBUS: polynomial 0x07, initial 0, no reflection (device/PROTOCOL.md). */
function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'knotmeter-firmware-eeprom-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ok(device: EmulatedFirmware, body: string): Promise<void> {
  expect((await device.command(body)).text).toBe(frame(`ACK,${body.split(',')[0] ?? ''}`));
}

describe('across a reset and a restart', () => {
  let eepromPath: string;
  let device: EmulatedFirmware;
  let firstId: string;

  beforeAll(async () => {
    eepromPath = join(dir, 'device.eeprom');
    device = await EmulatedFirmware.start({ sensor: 'fsr', eepromPath });
    firstId = device.hello.deviceId;
  });

  afterAll(async () => {
    await device.close();
  });

  it(
    'keeps the id and LIMIT through a reset; rate, FEEDBACK and ZONE return to their defaults; seq and t_us start again',
    async () => {
      await ok(device, 'LIMIT,600,550');
      await ok(device, 'RATE,200');
      await ok(device, 'FEEDBACK,1');
      const zoneFromUs = await device.emulator.emulatedTimeUs();
      await ok(device, 'ZONE,1');
      await device.nextPinChange('D13', zoneFromUs, (change) => change.level === 1);
      const { hello, atIndex, resetUs } = await device.reset();
      expect(device.resets.map((reset) => reset.emulatedUs)).toEqual([resetUs]);
      expect(hello).toEqual({ ...device.hello, limitOnRaw: 600, limitOffRaw: 550 });
      // (a reset in the middle of an S line leaves its start in front of the HELLO, as a real board's would)
      expect(device.lines[atIndex]?.text.endsWith(frame(`HELLO,1,1.2.0,${firstId},fsr,100,600,550,767`))).toBe(true);
      // the reset let go of D13, and the boot leaves it off (zone 0)
      await device.nextPinChange('D13', resetUs, (change) => change.level === 0);
      await device.untilEmulatedUs(resetUs + 100_000);
      expect(device.pinLevelAt('D13', resetUs + 100_000)).toBe(0);
      const [first, second] = await device.samples(atIndex, 2);
      expect(first).toMatchObject({ seq: 0, tUs: 10_000 });
      expect(second).toMatchObject({ seq: 1, tUs: 20_000 });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'raises the alarm after the reboot from the stored thresholds, with no host command, on all outputs (FEEDBACK 7 after boot)',
    async () => {
      const from = device.cursor();
      const upUs = (await device.emulator.emulatedTimeUs()) + 100_000 + 4_321;
      await device.emulator.schedule('adc0', [
        [upUs, millivoltsForRaw(650)],
        [upUs + 100_000, millivoltsForRaw(500)],
      ]);
      await device.untilEmulatedUs(upUs + 150_000);
      for (const pin of ALARM_PINS) {
        const onUs = switchedOnUs(device.pinChanges, pin, upUs, upUs + 100_000);
        expect(onUs, pin).not.toBeNull();
        expect((onUs ?? 0) - upUs).toBeLessThanOrEqual(10_000 + 1000);
      }
      const alarm = await device.nextLine((line) => line.message?.type === 'ALARM', { from, what: 'ALARM,1' });
      expect(alarm.message).toMatchObject({ type: 'ALARM', on: true, raw: 650 });
      expect(device.hostLinesSent).toBe(4); // nothing was sent since the reset
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeps the id and LIMIT in the EEPROM file across a restart, in the layout of device/PROTOCOL.md',
    async () => {
      await device.close();
      const image = await readFile(eepromPath);
      expect(image.length).toBe(EEPROM_BYTES);
      const identity = image.subarray(0, 7);
      expect([identity[0], identity[1]]).toEqual([0x4b, 1]);
      expect(identity.readUInt32LE(2).toString(16).padStart(8, '0')).toBe(firstId);
      expect(identity[6]).toBe(crc8(identity.subarray(0, 6)));
      const settings = image.subarray(8, 24);
      expect([settings[0], settings[1], settings[2]]).toEqual([0x53, 1, 1]);
      expect([settings.readInt32LE(3), settings.readInt32LE(7), settings.readInt32LE(11)]).toEqual([600, 550, 0]);
      expect(settings[15]).toBe(crc8(settings.subarray(0, 15)));
      // No ceiling set (CEILING needs the thumb button at boot): its record stays blank.
      expect([...image.subarray(24, 32)]).toEqual(new Array(8).fill(0xff));

      device = await EmulatedFirmware.start({ sensor: 'fsr', eepromPath });
      expect(device.lines[0]?.text).toBe(frame(`HELLO,1,1.2.0,${firstId},fsr,100,600,550,767`));
    },
    TEST_TIMEOUT_MS,
  );
});

describe('the identity record', () => {
  it(
    'announces the id an EEPROM image holds, and replaces a corrupt record with a new valid id',
    async () => {
      const image = Buffer.alloc(EEPROM_BYTES, 0xff);
      image.set([0x4b, 1], 0);
      image.writeUInt32LE(0x1a2b3c4d, 2);
      image[6] = crc8(image.subarray(0, 6));
      const goodPath = join(dir, 'good.eeprom');
      await writeFile(goodPath, image);
      const good = await EmulatedFirmware.start({ sensor: 'fsr', eepromPath: goodPath });
      try {
        expect(good.hello).toMatchObject({ deviceId: '1a2b3c4d', limitOnRaw: 767, limitOffRaw: 744, alarmCeilingRaw: 767 });
      } finally {
        await good.close();
      }

      image.writeUInt8(image.readUInt8(6) ^ 0x01, 6);
      const corruptPath = join(dir, 'corrupt.eeprom');
      await writeFile(corruptPath, image);
      const corrupt = await EmulatedFirmware.start({ sensor: 'fsr', eepromPath: corruptPath });
      try {
        expect(corrupt.hello.deviceId).toMatch(/^[0-9a-f]{8}$/);
        expect(['1a2b3c4d', '00000000', 'ffffffff']).not.toContain(corrupt.hello.deviceId);
        // and the new id is what the record now holds
        const { hello } = await corrupt.reset();
        expect(hello.deviceId).toBe(corrupt.hello.deviceId);
      } finally {
        await corrupt.close();
      }
      const rewritten = await readFile(corruptPath);
      expect(rewritten.readUInt32LE(2).toString(16).padStart(8, '0')).toBe(corrupt.hello.deviceId);
      expect(rewritten[6]).toBe(crc8(rewritten.subarray(0, 6)));
    },
    TEST_TIMEOUT_MS,
  );
});
