/**
 * What the emulator reports and how it keeps time: output pins D13/D6/D9 with plausible
 * emulated times (and PWM duty from the timer registers), real-time throttling against the
 * wall clock, the unthrottled mode, resets (command, watchdog, EEPROM kept across runs),
 * and a clean end: stop(), SIGTERM and a closed stdin all leave no process behind.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEmulator, Emulator } from '../../../device/emulator/emulator.ts';
import { buildFixture, processExists, SerialLink, type Fixture } from './fixture.ts';

let fixture: Fixture;

beforeAll(async () => {
  fixture = await buildFixture();
});

afterAll(async () => {
  await fixture.remove();
});

async function open(options: { realtime?: boolean; eepromPath?: string } = {}): Promise<{ emulator: Emulator; link: SerialLink; close: () => Promise<void> }> {
  const emulator = await Emulator.start({ hexPath: fixture.hexPath, ...options });
  const link = await SerialLink.open(emulator.ptyPath, 115_200);
  await link.waitForLine(/^READY/);
  return {
    emulator,
    link,
    close: async () => {
      await link.close();
      await emulator.stop();
    },
  };
}

describe('output pins', () => {
  let emulator: Emulator;
  let link: SerialLink;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ emulator, link, close } = await open());
  });

  afterAll(async () => {
    await close();
  });

  it('reports each change of D13, D6 and D9 at the emulated time it happened', async () => {
    for (const [pin, level] of [['D13', 1], ['D6', 1], ['D9', 1], ['D13', 0], ['D6', 0], ['D9', 0]] as const) {
      const change = emulator.waitForEvent('pin', (event) => event.pin === pin && event.level === level);
      const beforeUs = await emulator.emulatedTimeUs();
      await link.request(`P${pin.slice(1)},${level}`, /^P,ok$/);
      const afterUs = await emulator.emulatedTimeUs();
      const event = await change;
      expect(event.pwm).toBeNull();
      expect(event.emulatedUs).toBeGreaterThanOrEqual(beforeUs);
      expect(event.emulatedUs).toBeLessThanOrEqual(afterUs);
      expect(emulator.pinLevel(pin)?.level).toBe(level);
    }
  });

  it('follows the firmware within its own sampling period (A0 -> D13)', async () => {
    await emulator.setAnalogMillivolts(0);
    await link.request('S5', /^S,ok$/); // D13 = A0 >= 512, every 5 ms
    await link.waitForLine(/^S,\d+,0$/);
    const rise = emulator.waitForEvent('pin', (event) => event.pin === 'D13' && event.level === 1);
    const crossedUs = await emulator.setAnalogMillivolts(4000);
    const latencyUs = (await rise).emulatedUs - crossedUs;
    expect(latencyUs).toBeGreaterThanOrEqual(0);
    expect(latencyUs).toBeLessThanOrEqual(5_000 + 1_500); // one period, plus one sample line on the UART
    await link.request('S0', /^S,ok$/);
  });

  it('derives the PWM duty and frequency from the timer registers (D6: timer0, D9: timer1)', async () => {
    const d6 = emulator.waitForEvent('pin', (event) => event.pin === 'D6' && event.pwm !== null);
    await link.request('W128', /^W,ok$/);
    expect(await d6).toMatchObject({ level: 129 / 256, pwm: { dutyRatio: 129 / 256, frequencyHz: 976.5625 } });

    const d9 = emulator.waitForEvent('pin', (event) => event.pin === 'D9' && event.pwm !== null);
    await link.request('V64', /^V,ok$/);
    const d9Event = await d9;
    expect(d9Event).toMatchObject({ pwm: { dutyRatio: 64 / 255 } });
    expect(d9Event.pwm?.frequencyHz).toBeCloseTo(16e6 / 64 / 510, 6);

    const d6Off = emulator.waitForEvent('pin', (event) => event.pin === 'D6' && event.pwm === null);
    await link.request('W-', /^W,ok$/);
    expect(await d6Off).toMatchObject({ level: 0, pwm: null });
    const d9Off = emulator.waitForEvent('pin', (event) => event.pin === 'D9' && event.pwm === null);
    await link.request('V-', /^V,ok$/);
    expect(await d9Off).toMatchObject({ level: 0, pwm: null });
  });
});

describe('time', () => {
  /**
   * Emulated milliseconds per wall millisecond over a stretch of `emulatedMs` on the board's
   * clock: polled until the emulated clock has gone that far (a condition, not a timer), so
   * the ratio is the thing measured and the bounds on it are what can fail. Both clocks as
   * the harness read them together, so a reply slow to arrive on a busy machine is not in
   * it; time the harness said it gave up (`lag`: starved longer than it catches up) counts
   * as kept.
   */
  async function clockRatio(emulator: Emulator, emulatedMs: number): Promise<number> {
    const start = await emulator.clocks();
    let end = start;
    await expect
      .poll(async () => (end = await emulator.clocks()).emulatedUs, { timeout: 20_000, interval: 10, message: `the emulated clock to advance ${emulatedMs} ms` })
      .toBeGreaterThanOrEqual(start.emulatedUs + emulatedMs * 1000);
    return (end.emulatedUs - start.emulatedUs + end.lagLostUs - start.lagLostUs) / (end.hostUs - start.hostUs);
  }

  it('keeps emulated time with the wall clock (throttled)', async () => {
    const { emulator, link, close } = await open();
    try {
      await link.request('S10', /^S,ok$/); // some UART traffic while we measure
      const ratio = await clockRatio(emulator, 2000);
      expect(ratio).toBeGreaterThan(0.9);
      expect(ratio).toBeLessThan(1.1);
    } finally {
      await close();
    }
  });

  it('runs ahead of the wall clock when not throttled', async () => {
    const { emulator, close } = await open({ realtime: false });
    try {
      expect(emulator.realtime).toBe(false);
      // Ahead by half a second of the host's clock: a throttled harness never gets there,
      // however long it runs (a condition, so a busy machine only makes it take longer).
      const start = await emulator.clocks();
      await expect
        .poll(async () => {
          const now = await emulator.clocks();
          return now.emulatedUs - start.emulatedUs - (now.hostUs - start.hostUs);
        }, { timeout: 30_000, interval: 10, message: 'the emulated clock to run 500 ms ahead of the host clock' })
        .toBeGreaterThanOrEqual(500_000);
    } finally {
      await close();
    }
  });

  it("agrees with the firmware's own clock", async () => {
    const { emulator, link, close } = await open();
    try {
      /** The fixture's millisecond clock, bracketed by emulated times read before and after. */
      const stamp = async (): Promise<{ beforeUs: number; ms: number; afterUs: number }> => {
        const beforeUs = await emulator.emulatedTimeUs();
        const ms = Number((await link.request('T', /^T,/)).split(',')[1]);
        return { beforeUs, ms, afterUs: await emulator.emulatedTimeUs() };
      };
      const start = await stamp();
      // Half a second on the emulated clock (a condition on it, not a wall-clock timer).
      await expect.poll(() => emulator.emulatedTimeUs(), { timeout: 10_000, interval: 10 }).toBeGreaterThanOrEqual(start.afterUs + 500_000);
      const end = await stamp();
      const firmwareMs = end.ms - start.ms;
      expect(firmwareMs).toBeGreaterThanOrEqual((end.beforeUs - start.afterUs) / 1000 - 1);
      expect(firmwareMs).toBeLessThanOrEqual((end.afterUs - start.beforeUs) / 1000 + 1);
      expect(firmwareMs).toBeGreaterThan(400);
    } finally {
      await close();
    }
  });
});

describe('resets and EEPROM', () => {
  it('resets on command and on the watchdog, and reports both', async () => {
    const { emulator, link, close } = await open();
    try {
      // Only resets from now on: the one the port's opening caused (as an Uno's DTR does) may
      // reach here after the READY that followed it, which comes by another pipe.
      const resetFrom = (fromUs: number): Promise<{ emulatedUs: number }> => emulator.waitForEvent('reset', (event) => event.emulatedUs >= fromUs);
      let resets = resetFrom(await emulator.emulatedTimeUs());
      const resetUs = await emulator.reset();
      expect((await resets).emulatedUs).toBe(resetUs);
      await link.waitForLine(/^READY/);

      resets = resetFrom(await emulator.emulatedTimeUs());
      await link.write('R\n'); // the fixture enables a 15 ms watchdog and spins
      await resets;
      await link.waitForLine(/^READY/);
      expect(await link.request('Estill here', /^E/)).toBe('Estill here');
    } finally {
      await close();
    }
  });

  it('keeps the EEPROM across resets and, with eepromPath, across runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'knotmeter-emu-eeprom-'));
    const eepromPath = join(dir, 'eeprom.bin');
    try {
      let { emulator, link, close } = await open({ eepromPath });
      expect(await link.request('N17', /^N,/)).toBe('N,255'); // erased
      await link.request('M17,42', /^M,ok$/);
      await emulator.reset();
      await link.waitForLine(/^READY/);
      expect(await link.request('N17', /^N,/)).toBe('N,42');
      await close();

      const saved = await readFile(eepromPath);
      expect(saved.length).toBe(1024);
      expect(saved[17]).toBe(42);

      ({ emulator, link, close } = await open({ eepromPath }));
      expect(await link.request('N17', /^N,/)).toBe('N,42');
      await close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ending', () => {
  it('stop() leaves no process behind', async () => {
    const emulator = await Emulator.start({ hexPath: fixture.hexPath });
    expect(processExists(emulator.pid)).toBe(true);
    const exit = emulator.waitForEvent('exit');
    await emulator.stop();
    expect((await exit).event).toBe('exit');
    expect(await emulator.exited).toEqual({ code: 0, signal: null });
    expect(processExists(emulator.pid)).toBe(false);
    await expect(emulator.emulatedTimeUs()).rejects.toThrow(/stopped/);
  });

  it('exits cleanly on SIGTERM', async () => {
    const emulator = await Emulator.start({ hexPath: fixture.hexPath });
    const exit = emulator.waitForEvent('exit');
    process.kill(emulator.pid, 'SIGTERM');
    expect((await exit).reason).toBe('signal');
    expect(await emulator.exited).toEqual({ code: 0, signal: null });
    expect(processExists(emulator.pid)).toBe(false);
    await emulator.stop();
  });

  it('exits when its stdin closes (the process that started it is gone)', async () => {
    const harness = await buildEmulator();
    const child = spawn(harness, [fixture.hexPath], { stdio: ['pipe', 'pipe', 'ignore'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    while (!output.includes('"ready"')) await once(child.stdout, 'data');
    child.stdin.end();
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(output).toContain('"reason":"stdin-closed"');
  });

  it('says why it cannot start', async () => {
    await expect(Emulator.start({ hexPath: '/nonexistent/firmware.hex' })).rejects.toThrow(/no firmware hex/);
    const dir = await mkdtemp(join(tmpdir(), 'knotmeter-emu-bad-'));
    try {
      const bad = join(dir, 'bad.hex');
      await writeFile(bad, 'this is not intel hex\n');
      await expect(Emulator.start({ hexPath: bad })).rejects.toThrow(/not a readable Intel hex|no program/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
