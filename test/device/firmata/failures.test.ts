// The Firmata transport when things go wrong, on real ptys: a port that opens but where
// nothing answers (a socat pair with nobody on the other end), one that answers half a
// handshake, a port that is not there, and the StandardFirmata board (emulated)
// unplugged and plugged back in on the same path. Every failure ends up in the status
// with what to do, the transport keeps trying, and nothing throws.
import { mkdtemp, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../../device/emulator/emulator.ts';
import { FirmataBoardLink } from '../../../device/firmata/board-link.ts';
import { findReportVersion, probeFirmata } from '../../../device/firmata/probe.ts';
import { FirmataTransport, type FirmataTransportOptions } from '../../../device/transports/firmata.ts';
import { PtyPair } from '../serial/support/pty-pair.ts';
import { Recorder, until } from '../serial/support/recorder.ts';
import { startFirmataEmulator } from './support.ts';

let dir: string;
let transport: FirmataTransport | null = null;
let pair: PtyPair | null = null;
let emulator: Emulator | null = null;
let recorder: Recorder;

function options(path: string, more: Partial<FirmataTransportOptions> = {}): FirmataTransportOptions {
  return { target: { kind: 'path', path }, baudRate: 57_600, samplingIntervalMs: 10, feedbackMask: 7, readyTimeoutMs: 1000, deviceId: null, instance: 0, ...more };
}

/** The johnny-five Boards alive in this process (its cache of every Board not discarded). */
async function boardsInCache(): Promise<number> {
  const five = (await import('johnny-five')).default as unknown as { Board: { cache: unknown[] } };
  return five.Board.cache.length;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'knotmeter-firmata-'));
  recorder = new Recorder();
});

afterEach(async () => {
  await transport?.stop();
  await pair?.stop();
  await emulator?.stop();
  transport = null;
  pair = null;
  emulator = null;
  await rm(dir, { recursive: true, force: true });
});

describe('Firmata transport failures', () => {
  it('says a port where nothing answers timed out, keeps trying, and leaves no Board behind', async () => {
    pair = await PtyPair.start(dir, 'silent');
    transport = new FirmataTransport(options(pair.hostPath));
    await transport.start(recorder);
    expect(transport.status().state).toBe('disconnected');
    expect(transport.status().lastError).toMatch(/is open but no Firmata board answered within 1000 ms at 57600 baud: is StandardFirmata on the board/);
    const attempts = (): number => recorder.statuses.filter((status) => /no Firmata board answered/.test(status.lastError ?? '')).length;
    await until(() => attempts() >= 3, 'three timed-out attempts', 20_000);
    expect(await boardsInCache()).toBe(0);
    expect(recorder.samples).toEqual([]);
    await transport.stop();
    expect(transport.status().state).toBe('stopped');
  });

  it('times out a board that announces a version but never completes the handshake', async () => {
    pair = await PtyPair.start(dir, 'half');
    const { SerialPort } = await import('serialport');
    const device = new SerialPort({ path: pair.devicePath, baudRate: 57_600 });
    // REPORT_VERSION 2.5 and nothing more: no firmware name, no capabilities.
    device.on('data', () => device.write(Buffer.of(0xf9, 2, 5)));
    transport = new FirmataTransport(options(pair.hostPath, { readyTimeoutMs: 1500 }));
    await transport.start(recorder);
    expect(transport.status()).toMatchObject({ state: 'disconnected', firmware: '' });
    expect(transport.status().lastError).toMatch(/no Firmata board answered within 1500 ms/);
    await new Promise<void>((resolve) => device.close(() => resolve()));
  });

  it('says a missing port is missing, then attaches once a board appears there', async () => {
    const path = join(dir, 'board');
    transport = new FirmataTransport(options(path, { readyTimeoutMs: 15_000 }));
    await transport.start(recorder);
    expect(transport.status().state).toBe('disconnected');
    expect(transport.status().lastError).toMatch(/cannot open .*board at 57600 baud: .*no such port/);
    emulator = await startFirmataEmulator();
    await symlink(emulator.ptyPath, path);
    await until(() => transport?.status().state === 'connected', 'attached to the emulated board', 30_000);
    await until(() => recorder.samples.length > 10, 'samples', 10_000);
  });

  it('recovers from an unplug: disconnected with the reason, then samples again from the board plugged back in', async () => {
    const path = join(dir, 'board');
    emulator = await startFirmataEmulator();
    await symlink(emulator.ptyPath, path);
    transport = new FirmataTransport(options(path, { readyTimeoutMs: 15_000 }));
    await transport.start(recorder);
    expect(transport.status().state).toBe('connected');
    await until(() => recorder.samples.length > 10, 'samples', 10_000);

    // Unplug: the board (its pty) goes away.
    await emulator.stop();
    await unlink(path);
    await until(() => transport?.status().state === 'disconnected', 'the unplug noticed', 10_000);
    expect(transport.status().lastError).toMatch(/reconnecting|cannot open/);

    // Plug back in on the same path.
    emulator = await startFirmataEmulator();
    await symlink(emulator.ptyPath, path);
    const before = recorder.samples.length;
    const lastTimeUs = recorder.samples.at(-1)?.deviceTimeUs ?? 0;
    await until(() => transport?.status().state === 'connected', 'reattached', 30_000);
    await until(() => recorder.samples.length > before + 10, 'samples again', 10_000);
    expect(recorder.samples.slice(before).every((sample) => sample.deviceTimeUs > lastTimeUs)).toBe(true);
    expect(await boardsInCache()).toBe(1);
  });

  it('says so when the board samples slower than asked (StandardFirmata 2.4 never goes under 10 ms)', async () => {
    emulator = await startFirmataEmulator();
    transport = new FirmataTransport(options(emulator.ptyPath, { samplingIntervalMs: 5, readyTimeoutMs: 15_000 }));
    await transport.start(recorder);
    expect(transport.status().nominalRateHz).toBe(200);
    await until(() => /sends A0 about \d+ times a second where 200 were asked/.test(transport?.status().lastError ?? ''), 'the shortfall reported', 15_000);
    expect(transport.status().lastError).toMatch(/StandardFirmata 2\.4: 10 ms, so 100 Hz at most\); ask for rate=100 or less/);
    expect(transport.status().state).toBe('connected');
  });

  it('auto-detects: skips a port where nothing answers Firmata and takes the one where StandardFirmata does', async () => {
    pair = await PtyPair.start(dir, 'silent');
    emulator = await startFirmataEmulator();
    await symlink(pair.hostPath, join(dir, 'ttyACM0'));
    await symlink(emulator.ptyPath, join(dir, 'ttyACM1'));
    transport = new FirmataTransport({
      ...options('unused', { readyTimeoutMs: 15_000 }),
      target: { kind: 'auto' },
      scanPatterns: [join(dir, 'ttyACM*')],
      listPorts: () => Promise.resolve([]),
      probeTimeoutMs: 4000,
    });
    await transport.start(recorder);
    expect(transport.status()).toMatchObject({ state: 'connected', deviceIdSource: 'port' });
    expect(transport.path).toBe(join(dir, 'ttyACM1'));
    expect(transport.spec).toBe('firmata?baud=57600&rate=100&feedback=7');
    await until(() => recorder.samples.length > 10, 'samples', 10_000);
  });

  it('completes the handshake on the port the probe kept open (an Uno is reset once per attach, not twice)', async () => {
    emulator = await startFirmataEmulator();
    const probe = await probeFirmata(emulator.ptyPath, { baudRate: 57_600, timeoutMs: 10_000, keepOpen: true });
    expect(probe).toMatchObject({ protocolVersion: expect.stringMatching(/^2\./) as unknown, error: null });
    const port = probe.port;
    if (port === null) throw new Error('the probe kept no port open');
    // Asked once more, the booted board answers with its version alone, no firmware name after it.
    port.write(Buffer.of(0xf9));
    const samples: number[] = [];
    const link = await FirmataBoardLink.open(
      { path: emulator.ptyPath, baudRate: 57_600, samplingIntervalMs: 10, readyTimeoutMs: 5000, port },
      { onAnalog: (raw) => samples.push(raw), onReboot: () => undefined, onLost: () => undefined },
    );
    expect(link.info.firmwareName).toMatch(/^StandardFirmata/);
    await until(() => samples.length > 10, 'A0 reports on the handed-over port', 5000);
    await link.close();
  });

  it('finds REPORT_VERSION in a byte stream, split or among other bytes, and nothing in text', () => {
    expect(findReportVersion(Buffer.of(0x00, 0xf9, 2, 4))).toBe('2.4');
    expect(findReportVersion(Buffer.of(0xf9, 2))).toBeNull();
    expect(findReportVersion(Buffer.of(0xf9, 9, 4))).toBeNull();
    expect(findReportVersion(Buffer.from('$HELLO,1,1.0.0,1a2b3c4d,fsr,100,0,0*3A\n'))).toBeNull();
  });
});
