/**
 * Test helpers for the Firmata transport against the real StandardFirmata hex (the one
 * avrgirl-arduino ships) in the simavr emulator: starting the emulated board, putting
 * exact ADC codes on A0 (one code per emulated millisecond encodes when a sample was
 * taken), and recording D13/D6/D9 as the emulator reports them.
 */
import { Emulator, type OutputPin, type PinChange } from '../../../device/emulator/emulator.ts';
import { standardFirmataHexPath } from '../../../device/transports/firmata.ts';

export async function startFirmataEmulator(): Promise<Emulator> {
  return Emulator.start({ hexPath: standardFirmataHexPath(), sensor: 'fsr' });
}

/** The smallest whole millivolt input that simavr's ADC reads as `code` (floor(mV * 1023 / 5000)). */
export function millivoltsForCode(code: number): number {
  return Math.ceil((code * 5000) / 1023);
}

/**
 * A sawtooth on A0 from `fromUs` on: code (t_ms mod 1024) for `durationMs`, one step per
 * emulated millisecond, so the code a sample carries says at which millisecond it was taken.
 */
export async function driveSawtooth(emulator: Emulator, fromUs: number, durationMs: number): Promise<void> {
  const points: [number, number][] = [];
  for (let ms = 0; ms < durationMs; ms++) points.push([fromUs + ms * 1000, millivoltsForCode(ms % 1024)]);
  await emulator.schedule('adc0', points, { replace: true });
}

/** Every pin report after it is created. */
export class PinLog {
  readonly changes: PinChange[] = [];
  readonly #unsubscribe: () => void;

  constructor(emulator: Emulator) {
    this.#unsubscribe = emulator.onPinChange((change) => this.changes.push(change));
  }

  /** The pin's last reported level (0 before any report). */
  level(pin: OutputPin): number {
    return this.changes.filter((change) => change.pin === pin).at(-1)?.level ?? 0;
  }

  /** Reports of `pin` at or after `fromUs`. */
  of(pin: OutputPin, fromUs = 0): PinChange[] {
    return this.changes.filter((change) => change.pin === pin && change.emulatedUs >= fromUs);
  }

  stop(): void {
    this.#unsubscribe();
  }
}
