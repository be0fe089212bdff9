// Stable names for a massager, with the real firmware in the emulator: the udev helper
// (device/udev/knotmeter-id, run by 99-knotmeter.rules) reads the id the firmware itself
// gives, for the /dev/knotmeter-<id> link; and `serial?id=` finds that massager by asking,
// whatever name its port has, passing over another Knotmeter.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emulator } from '../../../device/emulator/emulator.ts';
import { probePort } from '../../../device/protocol/port-discovery.ts';
import { firmwareHex } from '../../../device/transports/emulator.ts';
import { SerialTransport } from '../../../device/transports/serial.ts';
import { collectOutput, REPO_ROOT, type CliResult } from '../../support/cli.ts';
import { FakeDevice } from './support/fake-device.ts';
import { PtyPair } from './support/pty-pair.ts';
import { Recorder } from './support/recorder.ts';

const NO_UDEV = (): Promise<never> => Promise.reject(new Error('spawn udevadm ENOENT'));

function runHelper(devname: string): Promise<CliResult> {
  return collectOutput(spawn(join(REPO_ROOT, 'device/udev/knotmeter-id'), [], { env: { ...process.env, DEVNAME: devname }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

describe('a stable name for each massager', () => {
  let emulator: Emulator | undefined;
  let other: PtyPair | undefined;
  let otherDevice: FakeDevice | undefined;
  let dir = '';
  let deviceId = '';

  beforeAll(async () => {
    emulator = await Emulator.start({ hexPath: await firmwareHex('fsr') });
    dir = await mkdtemp(join(tmpdir(), 'knotmeter-names-'));
    const hello = await probePort(emulator.ptyPath, { baudRate: 115_200, timeoutMs: 5000 });
    deviceId = hello.hello?.deviceId ?? '';
    expect(deviceId).toMatch(/^[0-9a-f]{8}$/);
  }, 60_000);
  afterAll(async () => {
    await otherDevice?.close();
    await other?.stop();
    await emulator?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it("the udev helper prints the id the firmware gives, for udev's IMPORT", async () => {
    const result = await runHelper(emulator?.ptyPath ?? '');
    expect(result).toEqual({ code: 0, stdout: `KNOTMETER_ID=${deviceId}\n`, stderr: '' });
  }, 20_000);

  it('prints nothing and fails where no Knotmeter answers, so the rule adds no link', async () => {
    const result = await runHelper('/dev/null');
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
  });

  it('serial?id= finds it on whatever port name it has, passing over another Knotmeter', async () => {
    other = await PtyPair.start(dir, 'ttyUSB0');
    otherDevice = new FakeDevice({ deviceId: '0badcafe', firmwareVersion: '1.2.0', sensor: 'fsr', rateHz: 100 });
    await otherDevice.open(other.devicePath);
    // plugged into another socket: the same board behind a new name
    await symlink(emulator?.ptyPath ?? '', join(dir, 'ttyUSB7-host'));
    const transport = new SerialTransport({ path: null, baudRate: 115_200, deviceId, scanPatterns: [join(dir, 'ttyUSB*-host')], listPorts: NO_UDEV, probeTimeoutMs: 3000 });
    try {
      await transport.start(new Recorder());
      expect(transport.status()).toMatchObject({ state: 'connected', deviceId });
      expect(transport.path).toBe(join(dir, 'ttyUSB7-host'));
    } finally {
      await transport.stop();
    }
  }, 30_000);
});
