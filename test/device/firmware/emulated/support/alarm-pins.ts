/**
 * Reading the local alarm's outputs off the emulator's pin reports: when each output
 * switched on after an input crossed the on threshold, and when it was quiet again after
 * the input fell to the off threshold, in emulated microseconds. The outputs, as
 * device/PROTOCOL.md builds them: D13 (LED) steady high, D6 (motor) Timer0 PWM (one report
 * with the duty ratio), D9 (buzzer) a square wave toggled edge by edge.
 */
import { AVCC_MILLIVOLTS, millivoltsToAdc, type OutputPin, type PinChange } from '../../../../../device/emulator/emulator.ts';

export const ALARM_PINS: readonly OutputPin[] = ['D13', 'D6', 'D9'];
/** FEEDBACK bit of each output (device/PROTOCOL.md). */
export const FEEDBACK_BIT: Record<OutputPin, number> = { D13: 1, D6: 2, D9: 4 };
/** The motor's duty while the alarm is on: OCR0A = MOTOR_DUTY 192 in fast PWM, (192 + 1) / 256 by the datasheet. */
export const MOTOR_DUTY_RATIO = 193 / 256;

/** The lowest whole millivolts that simavr's ADC reads as exactly `raw` (floor(mV * 1023 / 5000)). */
export function millivoltsForRaw(raw: number): number {
  const millivolts = Math.ceil((raw * AVCC_MILLIVOLTS) / 1023);
  if (millivoltsToAdc(millivolts) !== raw) throw new Error(`no whole millivolt value reads as ${raw}`);
  return millivolts;
}

function isActive(change: PinChange): boolean {
  return change.level > 0;
}

/** The first change of `pin` within [fromUs, toUs) that turns it on (high, PWM, or the buzzer's first edge). */
export function switchedOnUs(changes: readonly PinChange[], pin: OutputPin, fromUs: number, toUs: number): number | null {
  return changes.find((change) => change.pin === pin && change.emulatedUs >= fromUs && change.emulatedUs < toUs && isActive(change))?.emulatedUs ?? null;
}

/**
 * When `pin` went quiet after `fromUs` (before `toUs`): the time of its last change in that
 * window if that change left it at 0, `fromUs` itself if it did not change at all and was
 * at 0 already, null if it was still on at `toUs`. For the buzzer, whose square wave may
 * stop on a low half without a last edge, this is the last edge: the bound it proves is
 * "nothing on the pin after this".
 */
export function quietFromUs(changes: readonly PinChange[], pin: OutputPin, fromUs: number, toUs: number): number | null {
  const before = changes.filter((change) => change.pin === pin && change.emulatedUs < toUs);
  const last = before.at(-1);
  if (!last) return fromUs;
  if (last.level !== 0) return null;
  return Math.max(last.emulatedUs, fromUs);
}
