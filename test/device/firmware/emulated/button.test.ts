/**
 * The thumb button of the real hex in the emulator (firmware 1.2.0): each build boots with
 * the button held (the gesture that unlocks CEILING, which must still work and must not
 * count as a press), then the button is let go and pressed the way a real contact is, with
 * a train of bounces on the emulated clock (the harness's `button` schedule: D2 in the fsr
 * build, D4 in the hx711 build). Each press gives exactly one `MARK,<n>,<t_us>` line, dated
 * at its first edge on the samples' clock, numbered on from 0; a glitch shorter than the
 * firmware's 25 ms debounce gives none. (The codec's side: test/device/serial/codec.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarkMessage } from '../../../../device/protocol/device-messages.ts';
import { frame } from '../../../../device/protocol/framing.ts';
import type { SensorKind } from '../../../../device/transport.ts';
import { EmulatedFirmware, type DeviceLine } from './support/emulated-firmware.ts';

/** The firmware's debounce (Knotmeter::kButtonSettleUs). */
const SETTLE_US = 25_000;
/** How far ahead of the emulated clock presses are queued (the harness applies a point already past at once). */
const LEAD_US = 200_000;
/** From the AVR's reset to t_us = 0: at this first boot ~130 ms of entropy for the id, the button's reads (17 ms), the HELLO. */
const BOOT_TO_CLOCK_US = 250_000;

function markOf(line: DeviceLine): MarkMessage | null {
  return line.message?.type === 'MARK' ? line.message : null;
}

describe.each<SensorKind>(['fsr', 'hx711'])('%s build, booted with the thumb button held', (sensor) => {
  let device: EmulatedFirmware;
  const marksFrom = (from: number): MarkMessage[] => device.lines.slice(from).flatMap((line) => markOf(line) ?? []);

  /** Waits until the firmware has sampled past emulated time `emulatedUs` (so anything it made by then has been sent). */
  async function sampledPast(emulatedUs: number): Promise<void> {
    await device.sampleAtOrAfter(emulatedUs - device.openResetUs + 20_000, device.cursor() > 200 ? device.cursor() - 200 : 0);
  }

  beforeAll(async () => {
    device = await EmulatedFirmware.start({ sensor, thumbButtonHeld: true });
  });

  afterAll(async () => {
    await device.close();
  });

  it('still unlocks CEILING, and the held button is no press (nor is its release)', async () => {
    expect((await device.command('CEILING,700')).text).toBe(frame('ACK,CEILING'));
    const releasedUs = await device.emulator.setButton(false);
    await sampledPast(releasedUs + 2 * SETTLE_US);
    expect(marksFrom(0)).toEqual([]);
  });

  it('gives exactly one MARK for a bounced press, dated at its first edge; the next press is numbered on', async () => {
    const from = device.cursor();
    // Both queued well ahead of the emulated clock, so a loaded host cannot make either late.
    const firstUs = await device.emulator.pressButton({ atUs: (await device.emulator.emulatedTimeUs()) + LEAD_US, bounces: 6, holdMs: 120 });
    const secondUs = await device.emulator.pressButton({ atUs: firstUs + 400_000, bounces: 3, holdMs: 80 });
    const first = markOf(await device.nextLine((line) => markOf(line) !== null, { from, what: 'a MARK line' }));
    const second = markOf(await device.nextLine((line) => markOf(line)?.seq === 1, { from, what: 'the second MARK line' }));
    // The second release's bounces are over (3 x 1 ms after 80 ms): a late extra MARK would be out by now.
    await sampledPast(secondUs + 90_000 + 2 * SETTLE_US);

    expect(marksFrom(from)).toHaveLength(2);
    expect(first?.seq).toBe(0);
    expect(second?.seq).toBe(1);
    // On the samples' clock, the first edge: the emulated time less the boot's head start.
    const deviceClockAt = (emulatedUs: number): number => emulatedUs - device.openResetUs;
    expect(first?.tUs).toBeLessThanOrEqual(deviceClockAt(firstUs) + 1000);
    expect(first?.tUs).toBeGreaterThanOrEqual(deviceClockAt(firstUs) - BOOT_TO_CLOCK_US);
    // Two presses 400 ms apart are 400 ms apart in t_us, to the main loop's polling: a bounce
    // (0.5 ms here) shorter than a pass can fall between two reads, dating the press at the next.
    expect(Math.abs((second?.tUs ?? 0) - (first?.tUs ?? 0) - 400_000)).toBeLessThan(3000);
    expect(device.malformedLines()).toEqual([]);
  });

  it('gives no MARK for a glitch shorter than the debounce', async () => {
    const from = device.cursor();
    const glitchUs = await device.emulator.pressButton({ atUs: (await device.emulator.emulatedTimeUs()) + LEAD_US, bounces: 0, holdMs: 10 });
    const pressUs = await device.emulator.pressButton({ atUs: glitchUs + 100_000, bounces: 2, holdMs: 60 });
    const mark = markOf(await device.nextLine((line) => markOf(line) !== null, { from, what: 'a MARK line' }));
    await sampledPast(pressUs + 60_000 + 2 * SETTLE_US);
    expect(marksFrom(from)).toHaveLength(1);
    expect(mark?.seq).toBe(2);
    expect(Math.abs((mark?.tUs ?? 0) - (pressUs - device.openResetUs))).toBeLessThan(BOOT_TO_CLOCK_US);
  });
});

describe('fsr build driven by the ppt scenario (flat out)', () => {
  let device: EmulatedFirmware;

  beforeAll(async () => {
    device = await EmulatedFirmware.start({ sensor: 'fsr', realtime: false });
  });

  afterAll(async () => {
    await device.close();
  });

  it('presses the emulated button at the top of each ramp: a MARK at the peak, then the release', async () => {
    const from = device.cursor();
    const drive = await device.emulator.driveForce({ kind: 'scenario', scenario: 'ppt', seed: 3, durationMs: 25_000 });
    await drive.done;
    const endUs = (await device.emulator.emulatedTimeUs()) - device.openResetUs;
    await device.sampleAtOrAfter(endUs, from, 60_000);
    const marks = device.lines.slice(from).flatMap((line) => markOf(line) ?? []);
    expect(marks.length).toBeGreaterThanOrEqual(1);
    const samples = device.samplesBetween(from);
    const rawAt = (tUs: number): number => samples.find((sample) => sample.tUs >= tUs)?.raw ?? -1;
    for (const mark of marks) {
      const around = samples.filter((sample) => Math.abs(sample.tUs - mark.tUs) < 1_000_000).map((sample) => sample.raw);
      // At the threshold the ramp has reached its top (tremor aside), and 1.5 s later the hand has let go.
      expect(rawAt(mark.tUs)).toBeGreaterThan(0.9 * Math.max(...around));
      expect(rawAt(mark.tUs + 1_500_000)).toBeLessThan(0.2 * rawAt(mark.tUs));
    }
    expect(marks.map((mark) => mark.seq)).toEqual([...marks.keys()]);
  });
});
