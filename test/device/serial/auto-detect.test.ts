// Finding Knotmeters: the serial transport's auto-detect (`serial`, `serial?id=...`) and
// `npm run ports`, on real pty pairs named like device nodes in a temporary directory,
// on a machine whose SerialPort.list() fails as it does without udev.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDeviceSpec } from '../../../device/device-spec.ts';
import { parsePortsArgs, runPorts as runPortsCommand } from '../../../server/cli/ports.ts';
import { createTransport } from '../../../device/registry.ts';
import { parseSerialSpec, SerialTransport } from '../../../device/transports/serial.ts';
import { collectOutput, REPO_ROOT } from '../../support/cli.ts';
import { FakeDevice } from './support/fake-device.ts';
import { PtyPair } from './support/pty-pair.ts';
import { Recorder, until } from './support/recorder.ts';

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const NO_UDEV = (): Promise<never> => Promise.reject(new Error('spawn udevadm ENOENT'));

let dir: string;
const pairs: PtyPair[] = [];
const devices: FakeDevice[] = [];
const transports: SerialTransport[] = [];

async function plugIn(name: string, deviceId: string | null): Promise<{ pair: PtyPair; device: FakeDevice | null }> {
  const pair = await PtyPair.start(dir, name);
  pairs.push(pair);
  if (deviceId === null) return { pair, device: null }; // a port with nothing that speaks the protocol
  const device = new FakeDevice({ deviceId, firmwareVersion: '1.0.0', sensor: 'fsr', rateHz: 100 });
  await device.open(pair.devicePath);
  devices.push(device);
  return { pair, device };
}

function autoDetect(deviceId: string | null = null): SerialTransport {
  const transport = new SerialTransport({ path: null, baudRate: 115_200, deviceId, scanPatterns: [join(dir, '*-host')], listPorts: NO_UDEV, probeTimeoutMs: 400 });
  transports.push(transport);
  return transport;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'knotmeter-ports-'));
});

afterEach(async () => {
  for (const transport of transports.splice(0)) await transport.stop();
  for (const device of devices.splice(0)) await device.close();
  for (const pair of pairs.splice(0)) await pair.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('device specs', () => {
  it('parses serial, serial:PATH and serial:PATH?baud=N into a canonical spec', () => {
    expect(parseSerialSpec(parseDeviceSpec('serial'))).toEqual({ path: null, baudRate: 115_200, deviceId: null });
    expect(parseSerialSpec(parseDeviceSpec('serial:/dev/ttyACM0'))).toEqual({ path: '/dev/ttyACM0', baudRate: 115_200, deviceId: null });
    expect(parseSerialSpec(parseDeviceSpec('serial:/dev/ttyUSB1?baud=250000'))).toEqual({ path: '/dev/ttyUSB1', baudRate: 250_000, deviceId: null });
    expect(parseSerialSpec(parseDeviceSpec('serial?id=1a2b3c4d'))).toEqual({ path: null, baudRate: 115_200, deviceId: '1a2b3c4d' });
    expect(createTransport('serial:/dev/ttyACM0?baud=250000', { instance: 0, seed: undefined }).transport.spec).toBe('serial:/dev/ttyACM0?baud=250000');
    expect(createTransport('serial', { instance: 0, seed: undefined }).transport.spec).toBe('serial?baud=115200');
  });

  it.each([
    ['serial?baud=fast', /baud=fast is not a number/],
    ['serial?baud=115200.5', /not a whole number/],
    ['serial?parity=even', /unknown option "parity" \(known: baud, id\)/],
    ['serial?id=XYZ', /not a device id/],
    ['serial:/dev/ttyACM0?id=1a2b3c4d', /id= picks a device during auto-detect/],
  ])('refuses %s', (spec, message) => {
    expect(() => createTransport(spec, { instance: 0, seed: undefined })).toThrow(message);
  });

  it('creating a serial transport opens nothing (the CLI validates specs before starting)', () => {
    const created = createTransport('serial:/dev/does-not-exist', { instance: 0, seed: undefined });
    expect(created.transport.status().state).toBe('stopped');
    expect(created.transport.feedback).toBeDefined();
    expect(created.calibration).toBeNull();
  });
});

describe('auto-detect', () => {
  it('finds the Knotmeter among the ports without udev, passing over a port that does not answer', async () => {
    await plugIn('a-silent', null);
    await plugIn('b-knotmeter', '0badcafe');
    const transport = autoDetect();
    const recorder = new Recorder();
    await transport.start(recorder);
    expect(transport.status()).toMatchObject({ state: 'connected', deviceId: '0badcafe' });
    expect(transport.path).toBe(join(dir, 'b-knotmeter-host'));
    expect(transport.spec).toBe('serial?baud=115200');
  });

  it('says where it looked when there is no Knotmeter, and keeps looking', async () => {
    await plugIn('a-silent', null);
    const transport = autoDetect();
    await transport.start(new Recorder());
    expect(transport.status().state).toBe('disconnected');
    expect(transport.status().lastError).toMatch(/no free Knotmeter answered INFO at 115200 baud \(.*a-silent-host: no HELLO\)/);
    await plugIn('b-knotmeter', '0badcafe');
    await until(() => transport.status().state === 'connected', 'the late Knotmeter', 4000).catch((error: unknown) => {
      throw new Error(`${String(error)}; status ${JSON.stringify(transport.status())}`);
    });
  });

  it('two auto-detecting transports take two different devices; id= takes the one named', async () => {
    await plugIn('a', '11111111');
    await plugIn('b', '22222222');
    await plugIn('c', '33333333');
    const named = autoDetect('22222222');
    await named.start(new Recorder());
    const first = autoDetect();
    await first.start(new Recorder());
    const second = autoDetect();
    await second.start(new Recorder());
    expect(named.status().deviceId).toBe('22222222');
    expect([first.status().deviceId, second.status().deviceId].sort()).toEqual(['11111111', '33333333']);
  });

  it('after an unplug, finds the same device again on another port name, within 2 s of the replug', async () => {
    const { pair, device } = await plugIn('a-knotmeter', 'abcdef01');
    await plugIn('b-other', '99999999');
    const transport = autoDetect();
    const recorder = new Recorder();
    await transport.start(recorder);
    const firstId = transport.status().deviceId;
    expect(['abcdef01', '99999999']).toContain(firstId);
    // unplug whichever it took, replug that device under another name
    const taken = firstId === 'abcdef01' ? { pair, device } : { pair: pairs[1], device: devices[1] };
    await taken.device?.close();
    await taken.pair?.stop();
    await until(() => transport.status().state === 'disconnected', 'the unplug', 2000);
    // Replug only once a search has come back empty-handed: the reattach is the retry loop's.
    await until(() => !(transport.status().lastError ?? '').endsWith('; reconnecting'), 'a search after the unplug that finds nothing', 4000);
    const replugged = await PtyPair.start(dir, 'c-replugged');
    pairs.push(replugged);
    const replugAt = performance.now();
    await taken.device?.open(replugged.devicePath);
    await until(() => transport.status().state === 'connected', 'the reattach', 2000);
    expect(performance.now() - replugAt).toBeLessThan(2000);
    expect(transport.status().deviceId).toBe(firstId);
    expect(transport.path).toBe(join(dir, 'c-replugged-host'));
    await taken.device?.sendSamples(10);
    await until(() => recorder.samples.length === 10, '10 samples after the replug');
  });
});

function runPorts(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return collectOutput(spawn(process.execPath, ['--import', 'tsx', 'server/cli/ports.ts', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

async function portsInProcess(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runPortsCommand(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

describe('npm run ports', () => {
  it('lists the ports and says which are Knotmeters, with the spec to use, without udev; notes go to stderr', async () => {
    await plugIn('a-silent', null);
    await plugIn('b-knotmeter', '0badcafe');
    const withoutUdev = { ...process.env, PATH: '/nonexistent' };
    const result = await runPorts(['--scan', join(dir, '*-host'), '--timeout', '400'], withoutUdev);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('knotmeter ports: note: SerialPort.list() failed (spawn udevadm ENOENT)');
    expect(result.stdout).not.toContain('note:');
    expect(result.stdout).toContain(`${join(dir, 'a-silent-host')}  (found by name)\n  not a Knotmeter: no answer to INFO at 115200 baud`);
    expect(result.stdout).toContain('Knotmeter 0badcafe: firmware 1.0.0, fsr, 100 Hz, alarm off');
    expect(result.stdout).toContain(`use it with: npm start -- --device serial:${join(dir, 'b-knotmeter-host')}`);
    expect(result.stdout).toMatch(/1 Knotmeter on \d+ ports\.\n$/);

    const json = await runPorts(['--scan', join(dir, '*-host'), '--timeout', '400', '--json'], withoutUdev);
    expect(json.stderr).toContain('note: SerialPort.list() failed');
    const parsed = JSON.parse(json.stdout) as { listError: string | null; ports: { path: string; knotmeter: { deviceId: string } | null }[] };
    expect(parsed.listError).toBe('spawn udevadm ENOENT');
    expect(parsed.ports.find((port) => port.path.endsWith('b-knotmeter-host'))?.knotmeter?.deviceId).toBe('0badcafe');
  });

  it('through npm run -s, stdout is the JSON alone (a relative --scan is where the command was typed)', { timeout: 30_000 }, async () => {
    await plugIn('b-knotmeter', '0badcafe');
    const child = spawn('npm', ['--prefix', REPO_ROOT, 'run', '-s', 'ports', '--', '--json', '--timeout', '400', '--scan', './*-host'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await collectOutput(child);
    expect(result.code, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout) as { ports: { path: string; knotmeter: { deviceId: string } | null }[] };
    expect(parsed.ports.find((port) => port.path === join(dir, 'b-knotmeter-host'))?.knotmeter?.deviceId).toBe('0badcafe');
  });

  it('exits 2 naming the flag, what it takes and what it got', async () => {
    const cases: [string[], string][] = [
      [['--timeout', 'soon'], 'knotmeter ports: --timeout needs a whole number of milliseconds from 50 to 60000 (got --timeout "soon")'],
      [['--baud', 'fast'], 'knotmeter ports: --baud needs a whole number of baud from 300 to 4000000 (got --baud "fast")'],
      [['--baud', '115200.5'], 'knotmeter ports: --baud needs a whole number of baud from 300 to 4000000 (got --baud "115200.5")'],
      [['--scan', '/dev/*/ttyX'], 'knotmeter ports: --scan takes a * in the last part of the name only, e.g. /dev/rfcomm* (got --scan "/dev/*/ttyX")'],
      [['--colour'], 'knotmeter ports: unknown flag --colour (see --help for the flags)'],
      [['--baud'], 'knotmeter ports: --baud needs a value'],
      [['/dev/ttyACM0'], 'knotmeter ports: unexpected argument "/dev/ttyACM0"'],
      [['--baud', '9600', '--baud', '115200'], 'knotmeter ports: --baud is given 2 times ("9600", "115200"): give it once'],
    ];
    for (const [args, message] of cases) {
      const result = await portsInProcess(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.startsWith(message), result.stderr).toBe(true);
    }
  });

  it('takes --scan more than once', () => {
    expect(parsePortsArgs(['--scan', '/dev/rfcomm*', '--scan', '/dev/ttyGS*']).patterns.slice(-2)).toEqual(['/dev/rfcomm*', '/dev/ttyGS*']);
  });

  it('as a process, exits 2 on a bad flag', async () => {
    const result = await runPorts(['--timeout', 'soon']);
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'knotmeter ports: --timeout needs a whole number of milliseconds from 50 to 60000 (got --timeout "soon")\n' });
  });

  it('prints its version and its usage', async () => {
    const version = await runPorts(['--version']);
    expect(version).toEqual({ code: 0, stdout: `knotmeter ${PACKAGE_VERSION}\n`, stderr: '' });
    const help = await runPorts(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run ports -- /);
  });
});
