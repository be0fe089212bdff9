// Serial and Firmata transports in one process share one registry of claimed ports: on
// real ptys, one emulated board running our firmware and one running StandardFirmata,
// both kinds auto-detecting (the port listing limited to those two ptys): each takes its
// own board, and neither opens the other's (an Uno resets when its port opens). Then, on
// socat pairs: a port named by one transport is never probed by another's auto-detect.
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Emulator } from '../../../device/emulator/emulator.ts';
import { firmwareHex } from '../../../device/transports/emulator.ts';
import { FirmataTransport, type FirmataTransportOptions } from '../../../device/transports/firmata.ts';
import { SerialTransport, type SerialDeviceEvent } from '../../../device/transports/serial.ts';
import { FakeDevice } from '../serial/support/fake-device.ts';
import { PtyPair } from '../serial/support/pty-pair.ts';
import { Recorder, until } from '../serial/support/recorder.ts';
import { startFirmataEmulator } from './support.ts';

const NO_UDEV = (): Promise<never> => Promise.reject(new Error('spawn udevadm ENOENT'));

let dir: string;
const stops: (() => Promise<void>)[] = [];

function firmataOptions(more: Partial<FirmataTransportOptions>): FirmataTransportOptions {
  return { target: { kind: 'auto' }, baudRate: 57_600, samplingIntervalMs: 10, feedbackMask: 7, readyTimeoutMs: 15_000, deviceId: null, instance: 1, ...more };
}

/** How many times a host has opened the emulated board's port (each open resets it, as on an Uno). */
function countOpens(emulator: Emulator): () => number {
  let opens = 0;
  emulator.onEvent((event) => {
    if (event.event === 'serialOpened') opens++;
  });
  return () => opens;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'knotmeter-two-kinds-'));
});

afterEach(async () => {
  // Transports first (pushed last), then the boards and ptys they were on.
  for (const stop of stops.splice(0).reverse()) await stop();
  await rm(dir, { recursive: true, force: true });
});

describe('serial and firmata auto-detecting in one process', () => {
  it('each takes its own board; the Knotmeter is opened once, by the serial transport only', async () => {
    const knotmeter = await Emulator.start({ hexPath: await firmwareHex('fsr'), sensor: 'fsr' });
    stops.push(() => knotmeter.stop());
    const firmataBoard = await startFirmataEmulator();
    stops.push(() => firmataBoard.stop());
    const knotmeterOpens = countOpens(knotmeter);
    const firmataOpens = countOpens(firmataBoard);
    await symlink(firmataBoard.ptyPath, join(dir, 'ttyACM0'));
    await symlink(knotmeter.ptyPath, join(dir, 'ttyACM1'));
    const ports = { scanPatterns: [join(dir, 'ttyACM*')], listPorts: NO_UDEV };

    const serial = new SerialTransport({ path: null, baudRate: 115_200, deviceId: null, ...ports });
    // A generous probe timeout: StandardFirmata answers only once booted (its version blink), later on a loaded machine.
    const firmata = new FirmataTransport(firmataOptions({ ...ports, probeTimeoutMs: 8000 }));
    stops.push(() => serial.stop(), () => firmata.stop());
    const serialEvents: SerialDeviceEvent[] = [];
    serial.onDeviceEvent((event) => serialEvents.push(event));
    const serialSamples = new Recorder();
    const firmataSamples = new Recorder();
    // In the order a server starts its --device flags: `--device serial --device firmata`.
    await serial.start(serialSamples);
    await firmata.start(firmataSamples);
    await until(() => serial.status().state === 'connected' && firmata.status().state === 'connected', 'both transports attached', 30_000).catch((error: unknown) => {
      throw new Error(`${String(error)}; serial ${JSON.stringify(serial.status())}; firmata ${JSON.stringify(firmata.status())}`);
    });

    expect(serial.path).toBe(join(dir, 'ttyACM1'));
    expect(serial.status().firmware).toMatch(/^knotmeter /);
    expect(firmata.path).toBe(join(dir, 'ttyACM0'));
    expect(firmata.status().firmware).toMatch(/^StandardFirmata\.ino /);
    const firmataOpensAttached = firmataOpens();
    await until(() => serialSamples.samples.length > 200 && firmataSamples.samples.length > 200, '200 samples from each board', 20_000);

    // The Firmata transport never opened the Knotmeter's port: one open, the firmware never restarted under the serial transport.
    expect(knotmeterOpens()).toBe(1);
    expect(serial.reboots).toBe(0);
    expect(serialEvents.filter((event) => event.type === 'reboot')).toEqual([]);
    // Once attached, nobody opens the Firmata board's port again either.
    expect(firmataOpens()).toBe(firmataOpensAttached);
  }, 90_000);
});

describe('a port named by one transport', () => {
  it('is never probed by another transport auto-detecting, which says who holds it', async () => {
    const named = await PtyPair.start(dir, 'a-named');
    stops.push(() => named.stop());
    // What reaches the device end of the named port: Firmata's queries, never our INFO.
    const deviceEnd = new SerialPort({ path: named.devicePath, baudRate: 57_600 });
    let received = '';
    deviceEnd.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    stops.push(() => new Promise<void>((resolve) => (deviceEnd.isOpen ? deviceEnd.close(() => resolve()) : resolve())));

    const firmata = new FirmataTransport(firmataOptions({ target: { kind: 'path', path: named.hostPath }, readyTimeoutMs: 1000 }));
    const serial = new SerialTransport({ path: null, baudRate: 115_200, deviceId: null, scanPatterns: [join(dir, '*-host')], listPorts: NO_UDEV, probeTimeoutMs: 400 });
    stops.push(() => firmata.stop(), () => serial.stop());
    await firmata.start(new Recorder());
    await serial.start(new Recorder());
    expect(serial.status().state).toBe('disconnected');
    expect(serial.status().lastError).toContain(`in use by other devices of this server: ${named.hostPath} (firmata:${named.hostPath}?`);

    const other = await PtyPair.start(dir, 'b-knotmeter');
    stops.push(() => other.stop());
    const device = new FakeDevice({ deviceId: '0badcafe', firmwareVersion: '1.0.0', sensor: 'fsr', rateHz: 100 });
    await device.open(other.devicePath);
    stops.push(() => device.close());
    await until(() => serial.status().state === 'connected', 'the serial transport on the other port', 5000);
    expect(serial.path).toBe(other.hostPath);
    // The Firmata transport kept asking its port all along (it times out and retries).
    await until(() => received.includes('\xf9'), 'Firmata asking its port for a version', 5000);
    expect(received).not.toContain('INFO');
  });
});
