/*
 * inputs.h: the values the harness feeds the firmware: ADC0..7 in millivolts and the
 * HX711's input, each set at once or queued along a schedule in emulated time (each point
 * applied at exactly its cycle, held until the next).
 *   input_schedule_clear(0); input_set(0, 2500);          A0 at 2.5 V now
 *   input_schedule_push(INPUT_HX711, us_to_cycles(t), raw); input_schedule_arm(INPUT_HX711);
 */
#ifndef KNOTMETER_EMU_INPUTS_H
#define KNOTMETER_EMU_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "sim_avr.h"

#define INPUT_COUNT 10 /* adc0..adc7, hx711, button */
#define INPUT_HX711 8
#define INPUT_BUTTON 9 /* the thumb button: 1 held, 0 released (a schedule draws a bounce train) */

/* AVCC = AREF = 5000 mV, every input at 0. */
void inputs_setup(void);
/* "adc0".."adc7", "hx711" or "button" -> 0..9; -1 for anything else. */
int input_parse_target(const char *name);
/* NULL when `value` suits the input, else why not (an error message). */
const char *input_check_value(int target, double value);
/* Sets an input now (its schedule, if any, carries on). */
void input_set(int target, int32_t value);

/* Drops what is queued for an input. */
void input_schedule_clear(int target);
/* The cycle of the last queued point, 0 when none is queued. */
avr_cycle_count_t input_schedule_last_cycle(int target);
/* Makes room for `count` more points. */
void input_schedule_reserve(int target, size_t count);
/* Queues a point (after input_schedule_reserve); times must not decrease. */
void input_schedule_push(int target, avr_cycle_count_t cycle, int32_t value);
/* Applies the points already due and sets a timer for the next; returns how many remain. */
size_t input_schedule_arm(int target);

/* After an AVR reset (which clears every cycle timer): schedules go on, and the thumb
 * button keeps its state. */
void inputs_on_reset(void);

/* The Knotmeter's thumb button, to ground (D2 without --hx711, D4 always): released it
 * reads high, as the board's pull-up makes it (simavr 1.6 reads an input with only the
 * internal pull-up as low); held, low. Takes effect at once and lasts across resets. */
void input_set_button(int held);

/* Holds port D's input pins in `bits` at `levels` whatever the firmware does to PORTD (an
 * external pull, which simavr re-applies at every PORTD write). simavr keeps one such pull
 * per port and each SET_EXTERNAL replaces it whole: the button (D2/D4) and the HX711's DOUT
 * (D2) set theirs through here, which keeps the other's. */
void input_portd_pull(uint8_t bits, uint8_t levels);

#endif
