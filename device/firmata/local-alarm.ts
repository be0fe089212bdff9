/**
 * The feedback our firmware gives on the device itself, computed on the host for a
 * Firmata board (which has no logic of its own): the local over-pressure alarm from each
 * raw sample against the thresholds of `LIMIT`, the status LED's pattern for the host's
 * `ZONE`, and which outputs the alarm drives (`FEEDBACK` mask). A pure state machine with
 * the host clock passed in: the Firmata transport feeds it every sample as it arrives and
 * writes the outputs it returns to D13, D6 and D9.
 *
 * It mirrors device/firmware/src/core/knotmeter.cpp (updateAlarm, setZone, tickBlink,
 * applyOutputs) rule for rule, so a Firmata board and our firmware light, buzz and
 * vibrate alike (shared/protocol.md):
 * - the alarm switches on at raw >= on and off at raw <= off (hysteresis); on = off = 0 disables it;
 * - LED: zone 0 off, 1 on, 2 blinks at 1 Hz, 3 at 4 Hz (each new zone starts its blink
 *   lit); while the alarm is on and the mask has bit 1, the LED is on whatever the zone;
 * - the motor (mask bit 2) and the buzzer (bit 4) run while the alarm is on.
 *
 * Why the alarm is computed here from raw samples, not inferred from the engine's zone:
 * the firmware's alarm reacts to the sample that crosses the limit, before the engine's
 * debounce and before any host round trip; computing it where each sample arrives keeps
 * that (one sample, plus the link both ways), and `setOverLimit` from the pipeline gives
 * it the same thresholds the firmware would get.
 */
import { FEEDBACK_ALL, FEEDBACK_BUZZER, FEEDBACK_LED, FEEDBACK_VIBRATION } from '../protocol/host-commands.ts';
import type { DeviceZone } from '../transport.ts';

/** The motor's PWM duty while it runs: the firmware's KNOTMETER_MOTOR_DUTY (device/firmware/src/avr/board.cpp). */
export const MOTOR_DUTY = 192;
/**
 * The buzzer's PWM duty: a 50 % square wave. StandardFirmata has no tone(); PWM on D9
 * (Timer1 on an Uno) sounds a piezo at about 490 Hz where our firmware plays 2 kHz.
 */
export const BUZZER_DUTY = 128;
/** Half a blink period per zone, µs (knotmeter.cpp kBlinkHalfPeriodUs): zone 2 blinks at 1 Hz, zone 3 at 4 Hz. */
const BLINK_HALF_PERIOD_US: Record<DeviceZone, number> = { 0: 0, 1: 0, 2: 500_000, 3: 125_000 };

export interface LocalOutputs {
  readonly led: boolean;
  readonly motorDuty: number;
  readonly buzzerDuty: number;
}

export class LocalAlarm {
  #limitOnRaw = 0;
  #limitOffRaw = 0;
  #feedbackMask: number = FEEDBACK_ALL;
  #alarmOn = false;
  #zone: DeviceZone = 0;
  #blinkOn = false;
  #nextBlinkUs = 0;

  get alarmOn(): boolean {
    return this.#alarmOn;
  }

  get zone(): DeviceZone {
    return this.#zone;
  }

  get feedbackMask(): number {
    return this.#feedbackMask;
  }

  /** When the LED next changes by itself (a blink), host µs; null while it does not blink. */
  get nextBlinkUs(): number | null {
    return BLINK_HALF_PERIOD_US[this.#zone] === 0 ? null : this.#nextBlinkUs;
  }

  /** The thresholds in raw counts (already validated); 0, 0 turns the alarm off at once. */
  setLimit(onRaw: number, offRaw: number): void {
    this.#limitOnRaw = onRaw;
    this.#limitOffRaw = offRaw;
    if (onRaw === 0 && offRaw === 0) this.#alarmOn = false;
  }

  setFeedbackMask(mask: number): void {
    this.#feedbackMask = mask;
  }

  /** A repeated zone does not restart the blink (as the firmware). */
  setZone(zone: DeviceZone, nowUs: number): void {
    if (zone === this.#zone) return;
    this.#zone = zone;
    this.#blinkOn = true;
    this.#nextBlinkUs = nowUs + BLINK_HALF_PERIOD_US[zone];
  }

  /** One sample: returns true when it switched the alarm. */
  onSample(raw: number): boolean {
    let on = this.#alarmOn;
    if (this.#limitOnRaw === 0 && this.#limitOffRaw === 0) on = false;
    else if (!this.#alarmOn && raw >= this.#limitOnRaw) on = true;
    else if (this.#alarmOn && raw <= this.#limitOffRaw) on = false;
    if (on === this.#alarmOn) return false;
    this.#alarmOn = on;
    return true;
  }

  /** Advances the blink to `nowUs`. */
  tick(nowUs: number): void {
    const halfPeriodUs = BLINK_HALF_PERIOD_US[this.#zone];
    if (halfPeriodUs === 0 || nowUs < this.#nextBlinkUs) return;
    this.#blinkOn = !this.#blinkOn;
    this.#nextBlinkUs += halfPeriodUs;
    // After a stall longer than half a period, the rhythm restarts from now.
    if (nowUs >= this.#nextBlinkUs) this.#nextBlinkUs = nowUs + halfPeriodUs;
  }

  outputs(): LocalOutputs {
    const zoneLed = this.#zone === 1 || (this.#zone >= 2 && this.#blinkOn);
    const alarm = this.#alarmOn;
    return {
      led: (alarm && (this.#feedbackMask & FEEDBACK_LED) !== 0) || zoneLed,
      motorDuty: alarm && (this.#feedbackMask & FEEDBACK_VIBRATION) !== 0 ? MOTOR_DUTY : 0,
      buzzerDuty: alarm && (this.#feedbackMask & FEEDBACK_BUZZER) !== 0 ? BUZZER_DUTY : 0,
    };
  }
}
