/*
 * pins.c: output pin and PWM observation (see pins.h).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_avr.h"
#include "sim_io.h"
#include "sim_irq.h"
#include "avr_ioport.h"

#include "clock.h"
#include "events.h"
#include "mcu.h"
#include "pins.h"
#include "watch.h"

typedef struct {
	int active;
	double duty;
	double frequency_hz; /* < 0: unknown (external timer clock) */
} pwm_t;

typedef struct {
	const char *name;
	char port;
	int bit;
	int timer; /* 0: none, 1: timer0 OC0A, 2: timer1 OC1A */
	avr_irq_t *irq;
	int reported;
	double level;
	pwm_t pwm;
} watched_pin_t;

static watched_pin_t pins[] = {
	{ .name = "D13", .port = 'B', .bit = 5, .timer = 0 },
	{ .name = "D6", .port = 'D', .bit = 6, .timer = 1 },
	{ .name = "D9", .port = 'B', .bit = 1, .timer = 2 },
};
#define PIN_COUNT (sizeof(pins) / sizeof(pins[0]))

static void report_pin(watched_pin_t *p, double level, pwm_t pwm)
{
	int same_pwm = pwm.active == p->pwm.active && (!pwm.active ||
		(pwm.duty == p->pwm.duty && pwm.frequency_hz == p->pwm.frequency_hz));
	if (p->reported && level == p->level && same_pwm)
		return;
	p->reported = 1;
	p->level = level;
	p->pwm = pwm;
	/* hostUs: when the emulated board showed it, on the host's clock, for what the host
	 * drives (a Firmata host's blink), which a starved emulator's lag shifts in emulated time. */
	fprintf(events, "{\"event\":\"pin\",\"pin\":\"%s\",\"level\":%.17g,\"emulatedUs\":%" PRIu64 ",\"hostUs\":%" PRIu64 ",\"pwm\":",
		p->name, level, emulated_us(), wall_ns() / 1000u);
	if (!pwm.active)
		fputs("null", events);
	else if (pwm.frequency_hz < 0)
		fprintf(events, "{\"dutyRatio\":%.17g,\"frequencyHz\":null}", pwm.duty);
	else
		fprintf(events, "{\"dutyRatio\":%.17g,\"frequencyHz\":%.17g}", pwm.duty, pwm.frequency_hz);
	fputs("}\n", events);
}

static int resetting;

static void pin_hook(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	watched_pin_t *p = param;
	if (resetting && !p->reported)
		return; /* a pin nobody has driven yet does not "change" at a reset */
	if (p->pwm.active)
		return; /* the timer toggles it; the PWM report stands for those edges */
	pwm_t none = { 0 };
	report_pin(p, (value & 0xff) ? 1 : 0, none);
}

/* ------------------------------------------------------------------ PWM */

enum { WAVE_NORMAL, WAVE_CTC, WAVE_FAST, WAVE_PHASE };
static const unsigned prescalers[8] = { 0, 1, 8, 64, 256, 1024, 0, 0 };

/* The waveform of an output-compare pin, from the timer's mode (datasheet, 14.7 / 15.9). */
static pwm_t waveform(int kind, unsigned top, unsigned ocr, int com, int ocr_is_top, int cs)
{
	pwm_t none = { 0 }, r = { .active = 1 };
	double period_clocks;
	if (com == 0 || cs == 0)
		return none;
	if (com == 1) {
		/* toggle on compare match: a square wave where the mode connects it */
		switch (kind) {
		case WAVE_NORMAL:
		case WAVE_CTC: period_clocks = 2.0 * (top + 1.0); break;
		case WAVE_FAST: if (!ocr_is_top) return none; period_clocks = 2.0 * (top + 1.0); break;
		default: if (!ocr_is_top) return none; period_clocks = 4.0 * top; break;
		}
		r.duty = 0.5;
	} else {
		switch (kind) {
		case WAVE_FAST:
			r.duty = ocr >= top ? 1.0 : (ocr + 1.0) / (top + 1.0);
			period_clocks = top + 1.0;
			break;
		case WAVE_PHASE:
			r.duty = top == 0 ? 0.0 : (ocr >= top ? 1.0 : (double)ocr / top);
			period_clocks = 2.0 * top;
			break;
		default:
			return none; /* set/clear on match: a level, reported as pin changes */
		}
		if (com == 3)
			r.duty = 1.0 - r.duty;
	}
	unsigned n = prescalers[cs];
	r.frequency_hz = (n && period_clocks > 0) ? (double)avr->frequency / (n * period_clocks) : -1;
	return r;
}

static pwm_t timer0_oc0a(void)
{
	pwm_t none = { 0 };
	uint8_t a = avr->data[R_TCCR0A], b = avr->data[R_TCCR0B];
	if (!(avr->data[R_DDRD] & (1 << 6)))
		return none;
	int wgm = (a & 3) | ((b & 0x08) >> 1), com = (a >> 6) & 3, cs = b & 7;
	unsigned ocr = avr->data[R_OCR0A];
	switch (wgm) {
	case 0: return waveform(WAVE_NORMAL, 0xff, ocr, com, 0, cs);
	case 1: return waveform(WAVE_PHASE, 0xff, ocr, com, 0, cs);
	case 2: return waveform(WAVE_CTC, ocr, ocr, com, 1, cs);
	case 3: return waveform(WAVE_FAST, 0xff, ocr, com, 0, cs);
	case 5: return waveform(WAVE_PHASE, ocr, ocr, com, 1, cs);
	case 7: return waveform(WAVE_FAST, ocr, ocr, com, 1, cs);
	default: return none;
	}
}

static pwm_t timer1_oc1a(void)
{
	pwm_t none = { 0 };
	uint8_t a = avr->data[R_TCCR1A], b = avr->data[R_TCCR1B];
	if (!(avr->data[R_DDRB] & (1 << 1)))
		return none;
	int wgm = (a & 3) | ((b & 0x18) >> 1), com = (a >> 6) & 3, cs = b & 7;
	unsigned ocr = avr->data[R_OCR1AL] | (avr->data[R_OCR1AH] << 8);
	unsigned icr = avr->data[R_ICR1L] | (avr->data[R_ICR1H] << 8);
	switch (wgm) {
	case 0: return waveform(WAVE_NORMAL, 0xffff, ocr, com, 0, cs);
	case 1: return waveform(WAVE_PHASE, 0xff, ocr, com, 0, cs);
	case 2: return waveform(WAVE_PHASE, 0x1ff, ocr, com, 0, cs);
	case 3: return waveform(WAVE_PHASE, 0x3ff, ocr, com, 0, cs);
	case 4: return waveform(WAVE_CTC, ocr, ocr, com, 1, cs);
	case 5: return waveform(WAVE_FAST, 0xff, ocr, com, 0, cs);
	case 6: return waveform(WAVE_FAST, 0x1ff, ocr, com, 0, cs);
	case 7: return waveform(WAVE_FAST, 0x3ff, ocr, com, 0, cs);
	case 8: return waveform(WAVE_PHASE, icr, ocr, com, 0, cs);
	case 9: return waveform(WAVE_PHASE, ocr, ocr, com, 1, cs);
	case 10: return waveform(WAVE_PHASE, icr, ocr, com, 0, cs);
	case 11: return waveform(WAVE_PHASE, ocr, ocr, com, 1, cs);
	case 12: return waveform(WAVE_CTC, icr, ocr, com, 0, cs);
	case 14: return waveform(WAVE_FAST, icr, ocr, com, 0, cs);
	case 15: return waveform(WAVE_FAST, ocr, ocr, com, 1, cs);
	default: return none;
	}
}

/* After a write to a timer or direction register: has a pin's PWM started, changed or stopped? */
static void pwm_config_changed(void)
{
	for (size_t i = 0; i < PIN_COUNT; i++) {
		watched_pin_t *p = &pins[i];
		if (!p->timer)
			continue;
		pwm_t now = p->timer == 1 ? timer0_oc0a() : timer1_oc1a();
		if (now.active) {
			report_pin(p, now.duty, now);
		} else if (p->pwm.active) {
			/* the timer let go: the PORT bit drives the pin again */
			uint8_t port = avr->data[p->port == 'B' ? R_PORTB : R_PORTD];
			report_pin(p, (port >> p->bit) & 1, now);
		}
	}
}

/* ------------------------------------------------------------------ setup and reset */

void pins_setup(void)
{
	avr_irq_t *portb_irqs = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('B'), 0);
	avr_irq_t *portd_irqs = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 0);
	if (!portb_irqs || !portd_irqs)
		fatal("internal: ports B/D not found in the simavr core");
	for (size_t i = 0; i < PIN_COUNT; i++) {
		watched_pin_t *p = &pins[i];
		p->irq = (p->port == 'B' ? portb_irqs : portd_irqs) + p->bit;
		avr_irq_register_notify(p->irq, pin_hook, p);
	}
	static const avr_io_addr_t pwm_registers[] = {
		R_TCCR0A, R_TCCR0B, R_OCR0A, R_TCCR1A, R_TCCR1B, R_OCR1AL, R_OCR1AH, R_ICR1L, R_ICR1H,
		R_DDRB, R_DDRD,
	};
	for (size_t i = 0; i < sizeof(pwm_registers) / sizeof(pwm_registers[0]); i++)
		watch_register(pwm_registers[i], pwm_config_changed);
}

void pins_on_reset(void)
{
	pwm_t none = { 0 };
	resetting = 1;
	for (size_t i = 0; i < PIN_COUNT; i++) {
		/* every pin is an input again: not driven */
		if (pins[i].reported)
			report_pin(&pins[i], 0, none);
		avr_raise_irq(pins[i].irq, 0);
	}
	resetting = 0;
}
