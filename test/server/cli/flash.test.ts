// `npm run flash` against Arduino's real Optiboot running in the emulator (the boot fuse,
// EXTRF on the port's open as a board's DTR gives it, its UART on a pty): avrdude writes
// and verifies our hex through it, the chip resets into the application, and the HELLO
// the command prints is the firmware's own. A second flash with the other build changes
// what INFO reports; a flash page written wrong is caught by verify; a port where
// StandardFirmata answers is refused by name.
import { readFileSync } from 'node:fs';
import { chown, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOptiboot, Emulator, OPTIBOOT_ATMEGA328_PATH } from '../../../device/emulator/emulator.ts';
import { probePort } from '../../../device/protocol/port-discovery.ts';
import { standardFirmataHexPath } from '../../../device/transports/firmata.ts';
import { firmwareHex } from '../../../device/transports/emulator.ts';
import { explainAvrdudeFailure, BOARDS } from '../../../server/cli/flash-upload.ts';
import { runFlash } from '../../../server/cli/flash.ts';
import { openFailureAdvice } from '../../../server/cli/port-identity.ts';

/** The version this checkout's firmware source declares. */
const SHIPPED_VERSION = /kFirmwareVersion\[\] = "([^"]+)"/.exec(readFileSync('device/firmware/src/core/knotmeter.cpp', 'utf8'))?.[1];

async function flash(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  // no real port of this machine is ever listed or scanned: only what a test names
  const code = await runFlash(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) }, { isTty: false, listPorts: () => Promise.resolve([]), defaultPatterns: [] });
  return { code, stdout, stderr };
}

describe('npm run flash through Optiboot in the emulator', () => {
  let board!: Emulator;
  let firmata: Emulator | undefined;
  let links = '';

  beforeAll(async () => {
    const [optiboot] = await Promise.all([buildOptiboot(), firmwareHex('fsr'), firmwareHex('hx711')]);
    // a bare board: Optiboot alone, the application flash erased
    [board, firmata] = await Promise.all([Emulator.start({ bootloaderPath: optiboot }), Emulator.start({ hexPath: standardFirmataHexPath() })]);
    links = await mkdtemp(join(tmpdir(), 'knotmeter-flash-'));
    await symlink(board.ptyPath, join(links, 'ttyACM0'));
    await symlink(firmata.ptyPath, join(links, 'ttyACM1'));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([(board as Emulator | undefined)?.stop(), firmata?.stop()]);
    if (links !== '') await rm(links, { recursive: true, force: true });
  });

  let deviceId = '';
  it('finds the bare board, refuses the Firmata one by name, writes with a progress bar, verifies, and prints the HELLO', async () => {
    const result = await flash(['--scan', join(links, 'ttyACM*')]);
    expect(result.stderr).toContain('knotmeter-fsr.hex');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/not flashing \S+ttyACM1: StandardFirmata \(StandardFirmata\S* \d+\.\d+\)/);
    expect(result.stderr).toMatch(/writing +\[#+ *\] +\d+ %\n(.*\n)*writing +\[#{30}\] 100 %/);
    expect(result.stderr).toContain('verifying [##############################] 100 %');
    const flashed = new RegExp(`Flashed \\S+ttyACM0 \\(Arduino Uno\\): Knotmeter ([0-9a-f]{8}), firmware ${SHIPPED_VERSION}, sensor fsr`).exec(result.stdout);
    expect(flashed, result.stdout).not.toBeNull();
    deviceId = flashed?.[1] ?? '';
  }, 60_000);

  it('flashing the hx711 build changes what INFO reports; the id (in EEPROM) stays', async () => {
    const result = await flash(['--port', board.ptyPath, '--sensor', 'hx711', '--board', 'nano']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Knotmeter ${deviceId}, firmware ${SHIPPED_VERSION}, sensor hx711`);
    // asked again the way the server asks
    const probe = await probePort(board.ptyPath, { baudRate: 115_200, timeoutMs: 6000 });
    expect(probe.hello).toMatchObject({ sensor: 'hx711', deviceId, firmwareVersion: SHIPPED_VERSION });
  }, 60_000);

  it('a flash page written wrong is caught by verify, and said so', async () => {
    await board.injectFlashFault(1);
    const result = await flash(['--port', board.ptyPath]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/knotmeter flash: verify failed: what the board's flash holds is not what was written \(first difference at byte 0x[0-9a-f]{4}: the board holds 0x[0-9a-f]{2}, the file 0x[0-9a-f]{2}\)/);
    expect(result.stdout).toBe('');
  }, 60_000);

  it('refuses a busy port before avrdude touches it', async () => {
    const holder = new SerialPort({ path: board.ptyPath, baudRate: 115_200, autoOpen: false });
    await new Promise<void>((resolve, reject) => holder.open((error) => (error ? reject(error) : resolve())));
    try {
      const result = await flash(['--port', board.ptyPath]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`knotmeter flash: ${board.ptyPath} is in use by another program`);
      expect(result.stderr).not.toContain('uploading');
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  }, 60_000);

  it('says there is no board when no port answers to the names', async () => {
    const result = await flash(['--scan', join(links, 'ttyUSB*')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('knotmeter flash: no board found');
    expect(result.stderr).toContain('plug the Arduino in by USB');
  });
});

describe('what a failed upload says', () => {
  const options = { port: '/dev/ttyACM0', board: BOARDS.uno };

  it('names the chip on a wrong board type (the signature avrdude read)', () => {
    const said = 'avrdude: device signature = 0x1e9406 (probably m168)\navrdude error: expected signature for ATmega328P is 1E 95 0F\n';
    expect(explainAvrdudeFailure(said, options)).toBe(
      'wrong board type: the chip reports signature 0x1e9406 (an ATmega168, as on old Nanos and Diecimilas); this firmware needs an ATmega328P (0x1e950f), as on an Uno or a Nano. Check --board and the board itself.',
    );
  });

  it('points at --board nano-old when the bootloader does not answer at 115200', () => {
    const said = 'avrdude warning: attempt 10 of 10: not in sync: resp=0x00\navrdude error: unable to open programmer arduino on port /dev/ttyACM0\n';
    expect(explainAvrdudeFailure(said, options)).toContain("did not answer on /dev/ttyACM0 at 115200 baud: try --board nano-old (an old Nano's bootloader talks at 57600)");
  });

  it('gives the exact command for a port this user may not open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'knotmeter-perm-'));
    const file = join(dir, 'ttyACM9');
    await writeFile(file, '');
    await chown(file, process.getuid?.() ?? 0, 20);
    try {
      const group = readFileSync('/etc/group', 'utf8').split('\n').find((line) => line.split(':')[2] === '20')?.split(':')[0];
      expect(openFailureAdvice(file, 'permission')).toBe(
        `permission denied on ${file}: add yourself to its group with \`sudo usermod -aG ${group} ${userInfo().username}\`, then log out and in again (or run \`newgrp ${group}\` in this shell)`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the emulator's bootloader", () => {
  it('a board whose chip is not an ATmega328P is refused by its signature, named', async () => {
    await buildOptiboot();
    // Optiboot built for an ATmega328 (no P), as on some clones: it reports 0x1e9514
    const clone = await Emulator.start({ bootloaderPath: OPTIBOOT_ATMEGA328_PATH });
    try {
      const result = await flash(['--port', clone.ptyPath]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('knotmeter flash: wrong board type: the chip reports signature 0x1e9514 (an ATmega328 (not P)); this firmware needs an ATmega328P (0x1e950f)');
      expect(result.stderr).not.toContain('writing ');
    } finally {
      await clone.stop();
    }
  }, 60_000);

  it("refuses Debian's ready-made Optiboot hex (too large for the boot section), saying how to build one that fits", async () => {
    const debianHex = '/usr/share/arduino/hardware/arduino/avr/bootloaders/optiboot/optiboot_atmega328.hex';
    await expect(Emulator.start({ bootloaderPath: debianHex })).rejects.toThrow(/outside the ATmega328P's boot sections .*make -C device\/emulator optiboot builds one that fits/);
  });
});
