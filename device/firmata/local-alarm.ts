/**
 * The feedback our firmware gives on the device itself, computed on the host for a
 * Firmata board (which has no logic of its own): the local over-pressure alarm from each
 * raw sample against the thresholds of `LIMIT`, the status LED's pattern for the host's
 * `ZONE`, and which outputs the alarm drives (`FEEDBACK` mask). A pure state machine with
 * the host clock passed in: the Firmata transport feeds it every sample as it arrives and
 * writes the outputs it returns to D13, D6 and D9.
 *
 *   const alarm = new LocalAlarm();
 *   alarm.setLimit(onRaw, offRaw);  alarm.setZone(2, nowUs);
 *   if (alarm.onSample(raw)) write(alarm.outputs());  // and alarm.tick(nowUs) for the blink
 *
 * It mirrors the firmware rule for rule; the rules, and why the host computes the alarm
 * from raw samples: docs/design/firmata.md.
 */
import { DEFAULT_ALARM_CEILING_RAW } from '../protocol/device-messages.ts';
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

/** The thresholds the alarm uses: `clamped` when the ones asked for were above its ceiling (or off). */
export interface AppliedLimit {
  readonly onRaw: number;
  readonly offRaw: number;
  readonly clamped: boolean;
}

export interface LocalOutputs {
  readonly led: boolean;
  readonly motorDuty: number;
  readonly buzzerDuty: number;
}

export class LocalAlarm {
  /** A Firmata board reads an FSR on A0: the fsr build's ceiling. */
  readonly ceilingRaw: number;
  #limitOnRaw: number;
  #limitOffRaw: number;
  #feedbackMask: number = FEEDBACK_ALL;
  #alarmOn = false;
  #zone: DeviceZone = 0;
  #blinkOn = false;
  #nextBlinkUs = 0;

  constructor(ceilingRaw: number = DEFAULT_ALARM_CEILING_RAW.fsr) {
    if (!Number.isInteger(ceilingRaw) || ceilingRaw < 1) throw new RangeError(`alarm ceiling ${ceilingRaw}: must be a whole number of counts, 1 or more`);
    this.ceilingRaw = ceilingRaw;
    this.#limitOnRaw = ceilingRaw;
    this.#limitOffRaw = ceilingRaw - ceilingGapRaw(ceilingRaw);
  }

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

  /**
   * The thresholds in raw counts (already validated: 0 <= off < on). Above the ceiling, the
   * ceiling with the same hysteresis below it; 0, 0 (which once turned the alarm off) the
   * thresholds at the ceiling, as the firmware's defaults. Applies from the next sample.
   */
  setLimit(onRaw: number, offRaw: number): AppliedLimit {
    const ceiling = this.ceilingRaw;
    if (onRaw === 0 && offRaw === 0) {
      this.#limitOnRaw = ceiling;
      this.#limitOffRaw = ceiling - ceilingGapRaw(ceiling);
      return { onRaw: this.#limitOnRaw, offRaw: this.#limitOffRaw, clamped: true };
    }
    const clamped = onRaw > ceiling;
    this.#limitOnRaw = clamped ? ceiling : onRaw;
    this.#limitOffRaw = clamped ? Math.max(0, Math.min(offRaw, ceiling - (onRaw - offRaw))) : offRaw;
    return { onRaw: this.#limitOnRaw, offRaw: this.#limitOffRaw, clamped };
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
    if (!this.#alarmOn && raw >= this.#limitOnRaw) on = true;
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

/** The firmware's default hysteresis at the ceiling (settings.cpp defaultLimits): 1/32 of it, at least 1 count. */
function ceilingGapRaw(ceilingRaw: number): number {
  return Math.max(1, Math.floor(ceilingRaw / 32));
}
