// The host-side copy of the firmware's feedback rules (device/firmata/local-alarm.ts),
// without a board: hysteresis, the alarm ceiling, the feedback mask, the zone blink and its
// restart after a stall. The emulator tests show the same rules on D13/D6/D9.
import { describe, expect, it } from 'vitest';
import { BUZZER_DUTY, LocalAlarm, MOTOR_DUTY } from '../../../device/firmata/local-alarm.ts';
import { DEFAULT_ALARM_CEILING_RAW } from '../../../device/protocol/device-messages.ts';

describe('LocalAlarm', () => {
  it('switches on at raw >= on and off at raw <= off, never in between', () => {
    const alarm = new LocalAlarm();
    expect(alarm.setLimit(600, 400)).toEqual({ onRaw: 600, offRaw: 400, clamped: false });
    expect([599, 600, 500, 401, 400, 401].map((raw) => (alarm.onSample(raw), alarm.alarmOn))).toEqual([false, true, true, true, false, false]);
    alarm.onSample(700);
    expect(alarm.outputs()).toEqual({ led: true, motorDuty: MOTOR_DUTY, buzzerDuty: BUZZER_DUTY });
  });

  it("keeps the fsr firmware's ceiling: sounds there before any limit, above it, and after 0, 0", () => {
    const alarm = new LocalAlarm();
    expect(alarm.ceilingRaw).toBe(DEFAULT_ALARM_CEILING_RAW.fsr);
    expect(alarm.ceilingRaw).toBe(767);
    // Before any limit: on at the ceiling, off 1/32 of it lower (the firmware's blank EEPROM).
    expect([766, 767, 745, 744].map((raw) => (alarm.onSample(raw), alarm.alarmOn))).toEqual([false, true, true, false]);
    // A limit above the ceiling sounds at the ceiling, with its own hysteresis below it.
    expect(alarm.setLimit(900, 850)).toEqual({ onRaw: 767, offRaw: 717, clamped: true });
    expect([766, 767, 718, 717].map((raw) => (alarm.onSample(raw), alarm.alarmOn))).toEqual([false, true, true, false]);
    // 0, 0 no longer turns it off: back to the ceiling's thresholds, and a ringing alarm rings on.
    alarm.onSample(800);
    expect(alarm.setLimit(0, 0)).toEqual({ onRaw: 767, offRaw: 744, clamped: true });
    alarm.onSample(800);
    expect(alarm.alarmOn).toBe(true);
    expect(new LocalAlarm(100).setLimit(600, 400)).toEqual({ onRaw: 100, offRaw: 0, clamped: true });
    expect(() => new LocalAlarm(0)).toThrow(/alarm ceiling 0/);
  });

  it('drives only the outputs of the mask', () => {
    const alarm = new LocalAlarm();
    alarm.setLimit(600, 400);
    alarm.onSample(700);
    alarm.setFeedbackMask(2 | 4);
    expect(alarm.outputs()).toEqual({ led: false, motorDuty: MOTOR_DUTY, buzzerDuty: BUZZER_DUTY });
    alarm.setFeedbackMask(1);
    expect(alarm.outputs()).toEqual({ led: true, motorDuty: 0, buzzerDuty: 0 });
  });

  it('shows the zone: off, on, 1 Hz and 4 Hz blinks starting lit, a repeated zone not restarting it', () => {
    const alarm = new LocalAlarm();
    expect(alarm.outputs().led).toBe(false);
    alarm.setZone(1, 0);
    expect(alarm.outputs().led).toBe(true);
    expect(alarm.nextBlinkUs).toBeNull();
    alarm.setZone(3, 1_000_000);
    const seen: boolean[] = [];
    for (let nowUs = 1_000_000; nowUs <= 2_000_000; nowUs += 25_000) {
      alarm.tick(nowUs);
      if (nowUs % 125_000 === 0) seen.push(alarm.outputs().led);
      if (nowUs === 1_050_000) alarm.setZone(3, nowUs);
    }
    expect(seen).toEqual([true, false, true, false, true, false, true, false, true]);
    alarm.setZone(2, 3_000_000);
    alarm.tick(3_499_999);
    expect(alarm.outputs().led).toBe(true);
    alarm.tick(3_500_000);
    expect(alarm.outputs().led).toBe(false);
    // After a stall of several periods the rhythm restarts from then, not in a burst.
    alarm.tick(9_000_000);
    expect(alarm.nextBlinkUs).toBe(9_500_000);
  });

  it('keeps the LED on through the blink while the alarm is on', () => {
    const alarm = new LocalAlarm();
    alarm.setLimit(600, 400);
    alarm.setZone(3, 0);
    alarm.onSample(800);
    for (let nowUs = 0; nowUs <= 1_000_000; nowUs += 62_500) {
      alarm.tick(nowUs);
      expect(alarm.outputs().led).toBe(true);
    }
  });
});
