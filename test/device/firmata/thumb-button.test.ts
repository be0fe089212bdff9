// The thumb button on a Firmata board: the host-side debouncer on its own (on vitest's fake
// clock, so each bounce is exactly where the test puts it), then the REAL StandardFirmata in
// the simavr harness, read through johnny-five's firmata-io with D2's pull-up: a press of the
// emulated button, bounces and all, is exactly one mark on the samples' host clock.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Emulator } from '../../../device/emulator/emulator.ts';
import { BUTTON_SETTLE_MS, ThumbButtonDebouncer } from '../../../device/firmata/thumb-button.ts';
import { FirmataTransport, portDeviceId } from '../../../device/transports/firmata.ts';
import { Recorder, until } from '../serial/support/recorder.ts';
import { startFirmataEmulator } from './support.ts';

describe('host-side debouncing of the thumb button', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function debouncer(): { presses: number[]; button: ThumbButtonDebouncer; at: (ms: number, down: boolean) => void } {
    vi.useFakeTimers();
    const startMs = Date.now();
    const presses: number[] = [];
    const button = new ThumbButtonDebouncer({ nowUs: () => (Date.now() - startMs) * 1000, onPress: (atUs) => presses.push(atUs) });
    const at = (ms: number, down: boolean): void => {
      vi.advanceTimersByTime(ms - (Date.now() - startMs));
      button.report(down);
    };
    return { presses, button, at };
  }

  it('makes one press of a bounce train, dated at its first edge, once the pin has settled', () => {
    const { presses, at } = debouncer();
    at(0, false); // the state at attach
    at(100, true);
    for (let ms = 102; ms < 106; ms++) at(ms, ms % 2 === 1); // bounces: up at 102 and 104, down again at 103 and 105
    at(105 + BUTTON_SETTLE_MS - 1, true); // a repeated report changes nothing
    expect(presses).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(presses).toEqual([100_000]);
    at(300, false);
    at(301, true); // release bounce
    at(302, false);
    vi.advanceTimersByTime(100);
    at(500, true);
    vi.advanceTimersByTime(BUTTON_SETTLE_MS);
    expect(presses).toEqual([100_000, 500_000]);
  });

  it('makes no press of a glitch shorter than the settling time, nor of a button held at attach', () => {
    const { presses, button, at } = debouncer();
    at(0, false);
    at(50, true);
    at(50 + BUTTON_SETTLE_MS - 5, false);
    vi.advanceTimersByTime(100);
    expect(presses).toEqual([]);
    button.reset();
    at(200, true); // held as the board attaches
    vi.advanceTimersByTime(100);
    expect(presses).toEqual([]);
    at(400, false);
    vi.advanceTimersByTime(100);
    at(600, true);
    vi.advanceTimersByTime(BUTTON_SETTLE_MS);
    expect(presses).toEqual([600_000]);
  });
});

describe('thumb button on StandardFirmata in the emulator (D2, pull-up)', () => {
  let emulator: Emulator;
  let transport: FirmataTransport;
  const recorder = new Recorder();

  beforeAll(async () => {
    emulator = await startFirmataEmulator();
    transport = new FirmataTransport({ target: { kind: 'path', path: emulator.ptyPath }, baudRate: 57_600, samplingIntervalMs: 20, feedbackMask: 7, readyTimeoutMs: 15_000, deviceId: null, instance: 0 });
    await transport.start(recorder);
    await until(() => recorder.samples.length > 10, 'A0 samples', 15_000);
  }, 30_000);

  afterAll(async () => {
    await transport.stop();
    await emulator.stop();
  });

  it('gives one mark per bounced press, on the samples\' clock, numbered from 0', async () => {
    const before = recorder.samples.at(-1)?.deviceTimeUs ?? 0;
    // Both queued well ahead of the emulated clock (a point already past would apply late).
    const firstUs = await emulator.pressButton({ atUs: (await emulator.emulatedTimeUs()) + 200_000, bounces: 5, holdMs: 150 });
    await emulator.pressButton({ atUs: firstUs + 400_000, bounces: 3, holdMs: 150 });
    await until(() => recorder.marks.length === 2, 'two marks', 10_000);
    // The second press's release (and its bounces) has come and gone without a third mark.
    await until(() => (recorder.samples.at(-1)?.deviceTimeUs ?? 0) > (recorder.marks[1]?.deviceTimeUs ?? Infinity) + 400_000, 'samples well past the second press', 10_000);
    expect(recorder.marks).toHaveLength(2);
    const [first, second] = recorder.marks;
    expect(first).toMatchObject({ deviceId: portDeviceId(emulator.ptyPath), seq: 0, lostBefore: 0 });
    expect(second).toMatchObject({ seq: 1, lostBefore: 0 });
    expect(first?.deviceTimeUs).toBeGreaterThan(before);
    // 400 ms apart on the emulated clock; the host's clock sees them through the link and the
    // emulator's real-time throttle, which a loaded machine makes uneven: in order, well apart.
    expect((second?.deviceTimeUs ?? 0) - (first?.deviceTimeUs ?? 0)).toBeGreaterThan(150_000);
  });
});
