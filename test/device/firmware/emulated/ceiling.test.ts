/**
 * The alarm ceiling of the real hex in the emulator, set the only way firmware 1.2.0 allows:
 * booted with the thumb button held (the harness's `button`: D2 in the fsr build, D4 in the
 * hx711 build), CEILING,<raw> is ACKed within 10 s of the boot, out of range it is refused
 * `NAK,CEILING,range`; HELLO's ninth field shows the new ceiling, a LIMIT above it is refused
 * `NAK,LIMIT,ceiling` and one under it is taken. It stays in EEPROM through a reboot without
 * the button and a restart of the emulator on the same EEPROM file, and CEILING is then
 * `NAK,CEILING,locked`; holding the button at a later reset unlocks it again. With the
 * emulator running flat out, the window closes 10 s of device time after the boot even with
 * the button still held. (Without the button at all: commands.test.ts and hx711.test.ts; the
 * window's exact end on the simulated clock: device/firmware/test/test_commands.cpp.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_CEILING_RAW } from '../../../../device/protocol/device-messages.ts';
import { frame } from '../../../../device/protocol/framing.ts';
import { EmulatedFirmware } from './support/emulated-firmware.ts';

const TEST_TIMEOUT_MS = 90_000;
/** CEILING is accepted this long after a boot with the button held (Knotmeter::kCeilingUnlockUs). */
const UNLOCK_WINDOW_US = 10_000_000;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'knotmeter-firmware-ceiling-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectReplies(device: EmulatedFirmware, exchanges: readonly (readonly [body: string, reply: string])[]): Promise<void> {
  for (const [body, reply] of exchanges) expect((await device.command(body)).text, body).toBe(frame(reply));
}

function hello(device: EmulatedFirmware, fields: string): string {
  return frame(`HELLO,1,1.2.0,${device.hello.deviceId},${device.sensor},${fields}`);
}

/** Fails unless the emulated clock is still within the unlock window of the boot at `bootUs` (so a refusal cannot be the window's end). */
async function expectWithinWindow(device: EmulatedFirmware, bootUs: number): Promise<void> {
  const elapsedUs = (await device.emulator.emulatedTimeUs()) - bootUs;
  expect(elapsedUs, 'emulated us since the boot (the host was too slow to test the window)').toBeLessThan(UNLOCK_WINDOW_US);
}

describe('fsr, booted with the thumb button held on D2', () => {
  let eepromPath: string;
  let device: EmulatedFirmware;

  beforeAll(async () => {
    eepromPath = join(dir, 'fsr.eeprom');
    device = await EmulatedFirmware.start({ sensor: 'fsr', eepromPath, thumbButtonHeld: true });
  });

  afterAll(async () => {
    await device.close();
  });

  it('refuses a ceiling outside 1..1023 (NAK,CEILING,range) and keeps the build default', async () => {
    expect(device.hello).toMatchObject({ limitOnRaw: 767, limitOffRaw: 744, alarmCeilingRaw: DEFAULT_ALARM_CEILING_RAW.fsr });
    await expectReplies(device, [
      ['CEILING,0', 'NAK,CEILING,range'],
      ['CEILING,1024', 'NAK,CEILING,range'],
      ['CEILING,-5', 'NAK,CEILING,range'],
    ]);
    await expectWithinWindow(device, device.openResetUs);
    expect((await device.command('INFO')).text).toBe(hello(device, '100,767,744,767'));
  });

  it('ACKs CEILING within 10 s of the boot: HELLO shows it, the thresholds above it move under it, LIMIT above it is refused', async () => {
    await expectReplies(device, [['CEILING,700', 'ACK,CEILING']]);
    await expectWithinWindow(device, device.openResetUs);
    // the blank EEPROM's 767,744 were above it: on at the new ceiling, off 1/32 lower
    expect((await device.command('INFO')).text).toBe(hello(device, '100,700,679,700'));
    await expectReplies(device, [
      ['LIMIT,701,650', 'NAK,LIMIT,ceiling'],
      ['LIMIT,700,650', 'ACK,LIMIT'],
      ['LIMIT,650,600', 'ACK,LIMIT'],
    ]);
    expect((await device.command('INFO')).text).toBe(hello(device, '100,650,600,700'));
  });

  it(
    'keeps the ceiling through a reboot without the button, locked; a reset with the button held unlocks it again',
    async () => {
      await device.emulator.setButton(false);
      const released = await device.reset();
      expect(released.hello).toMatchObject({ limitOnRaw: 650, limitOffRaw: 600, alarmCeilingRaw: 700 });
      await expectReplies(device, [
        ['CEILING,900', 'NAK,CEILING,locked'],
        ['CEILING,700', 'NAK,CEILING,locked'],
        ['CEILING,0', 'NAK,CEILING,locked'], // locked is checked before the range
        ['LIMIT,701,650', 'NAK,LIMIT,ceiling'],
      ]);

      await device.emulator.setButton(true);
      const held = await device.reset();
      expect(held.hello).toMatchObject({ limitOnRaw: 650, limitOffRaw: 600, alarmCeilingRaw: 700 });
      await expectReplies(device, [['CEILING,0', 'NAK,CEILING,range']]);
      await expectWithinWindow(device, held.resetUs);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeps the ceiling in the EEPROM file across a restart of the emulator without the button, locked',
    async () => {
      await device.close();
      device = await EmulatedFirmware.start({ sensor: 'fsr', eepromPath });
      expect(device.lines[0]?.text).toBe(hello(device, '100,650,600,700'));
      await expectReplies(device, [['CEILING,767', 'NAK,CEILING,locked']]);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('hx711, booted with the thumb button held on D4', () => {
  let device: EmulatedFirmware;

  beforeAll(async () => {
    device = await EmulatedFirmware.start({ sensor: 'hx711', thumbButtonHeld: true });
  });

  afterAll(async () => {
    await device.close();
  });

  it('takes a ceiling in the signed 24-bit counts, and the HX711 on D2 reads on', async () => {
    await expectReplies(device, [
      ['CEILING,8388608', 'NAK,CEILING,range'],
      ['CEILING,4000000', 'ACK,CEILING'],
    ]);
    await expectWithinWindow(device, device.openResetUs);
    expect((await device.command('INFO')).text).toBe(hello(device, '80,3852000,3731625,4000000'));
    await expectReplies(device, [
      ['LIMIT,4000001,0', 'NAK,LIMIT,ceiling'],
      ['LIMIT,4000000,3900000', 'ACK,LIMIT'],
    ]);
    const from = device.cursor();
    await device.emulator.setHx711Raw(123_456);
    await device.nextLine((line) => line.message?.type === 'S' && line.message.raw === 123_456, { from, what: 'an S line with raw 123456' });
  });
});

describe('fsr flat out (faster than real time), booted with the thumb button held', () => {
  let device: EmulatedFirmware;

  beforeAll(async () => {
    device = await EmulatedFirmware.start({ sensor: 'fsr', realtime: false, thumbButtonHeld: true });
  });

  afterAll(async () => {
    await device.close();
  });

  it(
    'locks CEILING 10 s of device time after the boot, with the button still held',
    async () => {
      await expectReplies(device, [['CEILING,0', 'NAK,CEILING,range']]);
      await expectWithinWindow(device, device.openResetUs);
      // t_us (0 at HELLO) is the clock the window is measured on: wait for a sample past it
      await device.sampleAtOrAfter(UNLOCK_WINDOW_US, 1, 60_000);
      await expectReplies(device, [
        ['CEILING,900', 'NAK,CEILING,locked'],
        ['CEILING,0', 'NAK,CEILING,locked'],
      ]);
      expect((await device.command('INFO')).text).toBe(hello(device, '100,767,744,767'));
    },
    TEST_TIMEOUT_MS,
  );
});
