/*
 * pins.h: observes the output pins D13 (PB5), D6 (PD6, OC0A) and D9 (PB1, OC1A): a `pin`
 * event on every change of a pin's driven level, or of the PWM a timer drives it with
 * (duty and frequency from the timer's registers). README.md ("Pins") says more.
 *   pins_setup();        after the MCU is made
 *   pins_on_reset();     from the reset hook: every pin is an input again
 */
#ifndef KNOTMETER_EMU_PINS_H
#define KNOTMETER_EMU_PINS_H

void pins_setup(void);
void pins_on_reset(void);

#endif
