// The port lifecycle the serial and firmata transports share (device/lifecycle/): the
// process-wide registry of claimed ports, the auto-detect policy (on real files named
// like device nodes, a probe supplied by the test), and the reconnect loop's backoff.
import { mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimNamedPort, claimPort, portHolder } from '../../../device/lifecycle/port-claims.ts';
import { PortFinder, type ProbeAnswer } from '../../../device/lifecycle/port-finder.ts';
import { ReconnectLoop } from '../../../device/lifecycle/reconnect-loop.ts';
import { until } from './support/recorder.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'knotmeter-lifecycle-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function plug(name: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, '');
  return path;
}

describe('claimed ports', () => {
  it('one port under two names is one claim, free again once released', async () => {
    const node = await plug('ttyACM0');
    const alias = join(dir, 'usb-Arduino_Uno-if00');
    await symlink(node, alias);
    const claim = claimPort(node, 'serial?baud=115200');
    expect(claim).not.toBeNull();
    expect(claimPort(alias, 'firmata?baud=57600')).toBeNull();
    expect(portHolder(alias)).toBe('serial?baud=115200');
    expect(() => claimNamedPort(alias, 'firmata:x')).toThrow(`${alias} is in use by another device of this server (serial?baud=115200): give each --device its own port`);
    claim?.release();
    claim?.release(); // idempotent: must not free a later holder's claim
    const again = claimPort(alias, 'firmata?baud=57600');
    claim?.release();
    expect(portHolder(node)).toBe('firmata?baud=57600');
    again?.release();
    expect(portHolder(node)).toBeNull();
  });
});

describe('auto-detect policy', () => {
  function finder(answers: Record<string, ProbeAnswer<string>>, asked: string[]): PortFinder<string> {
    return new PortFinder<string>({
      holder: 'test',
      patterns: [join(dir, 'tty*')],
      listPorts: () => Promise.reject(new Error('spawn udevadm ENOENT')),
      probe: (port) => {
        asked.push(port.path);
        return Promise.resolve(answers[port.path] ?? { kind: 'silent', note: 'no answer' });
      },
      discard: () => Promise.resolve(),
      whenNoPort: () => 'plug it in',
      noAnswer: (notes) => `nothing answered (${notes})`,
    });
  }

  it('asks every free port, keeps the first that answers claimed and releases the others', async () => {
    const silent = await plug('ttyA');
    const board = await plug('ttyB');
    const asked: string[] = [];
    const found = await finder({ [board]: { kind: 'found', found: 'the board' } }, asked).find();
    expect(found.found).toBe('the board');
    expect(found.port.path).toBe(board);
    expect(portHolder(board)).toBe('test');
    expect(portHolder(silent)).toBeNull();
    expect(asked.sort()).toEqual([silent, board]);
    found.claim.release();
  });

  it('leaves out ports held in this process and says who holds them; asks a silent port again only once it was replugged', async () => {
    const held = await plug('ttyA');
    const silent = await plug('ttyB');
    const other = claimPort(held, 'firmata:ttyA');
    const asked: string[] = [];
    const policy = finder({}, asked);
    await expect(policy.find()).rejects.toThrow(`nothing answered (${silent}: no answer)`);
    await expect(policy.find()).rejects.toThrow(
      `no serial port to try (looked at SerialPort.list() (failed: spawn udevadm ENOENT) and ${join(dir, 'tty*')}; in use by other devices of this server: ${held} (firmata:ttyA)): plug it in`,
    );
    expect(asked).toEqual([silent]);
    await unlink(silent);
    await expect(policy.find()).rejects.toThrow(/no serial port to try/);
    await plug('ttyB');
    await expect(policy.find()).rejects.toThrow(/nothing answered/);
    expect(asked).toEqual([silent, silent]);
    other?.release();
  });
});

describe('reconnect loop', () => {
  it('retries from 50 ms doubling up to its ceiling, and from 50 ms again after a loss', async () => {
    const attemptsAtMs: number[] = [];
    let attach = false;
    const loop = new ReconnectLoop({
      maxDelayMs: 200,
      attempt: () => {
        attemptsAtMs.push(performance.now());
        return Promise.resolve(attach);
      },
    });
    await loop.start();
    await until(() => attemptsAtMs.length >= 5, 'five attempts', 5000);
    attach = true;
    const gaps = attemptsAtMs.slice(1, 5).map((atMs, index) => atMs - (attemptsAtMs[index] ?? 0));
    // Timers never fire early (1 ms of rounding aside); a loaded machine may make them late.
    expect(gaps.map((gapMs, index) => gapMs >= ([50, 100, 200, 200][index] ?? 0) - 1)).toEqual([true, true, true, true]);
    await until(() => attemptsAtMs.length >= 6, 'the attempt that attaches', 5000);
    const lostAtMs = performance.now();
    loop.lost();
    await until(() => attemptsAtMs.length >= 7, 'the attempt after the loss', 5000);
    expect((attemptsAtMs[6] ?? 0) - lostAtMs).toBeGreaterThanOrEqual(49);
    loop.stop();
    expect(() => new ReconnectLoop({ maxDelayMs: 10, attempt: () => Promise.resolve(true) })).toThrow(TypeError);
  });
});
