/*
 * hx711.c: the emulated HX711 (see hx711.h), driven by SCK edges and cycle timers.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_avr.h"
#include "sim_io.h"
#include "sim_irq.h"
#include "sim_cycle_timers.h"
#include "avr_ioport.h"

#include "clock.h"
#include "events.h"
#include "hx711.h"
#include "inputs.h"
#include "mcu.h"

#define HX711_POWER_DOWN_US 60

static struct {
	int attached;           /* --hx711 */
	int rate_hz;
	int data_events;
	avr_irq_t *portd_irqs;
	int32_t input;          /* channel A at gain 128, as the 24-bit code */
	int connected;          /* 0: unplugged, DOUT held high by the board's pull-up */
	int powered;
	int dout;
	int ready;              /* a conversion waits to be read (DOUT low) */
	int reading_valid;      /* the current read started on ready data */
	uint32_t word;          /* the 24 bits being shifted out */
	int pulses;             /* SCK pulses in the current read */
	int gain_pulses;        /* 25: A/128, 26: B/32, 27: A/64 */
	int sck;
	avr_cycle_count_t next_conversion;
	avr_cycle_count_t power_down_at; /* 0: no pending SCK-high timeout */
	int warned_not_ready;
} hx;

static avr_cycle_count_t hx711_period(void)
{
	return avr->frequency / (uint32_t)hx.rate_hz;
}

static void hx711_set_dout(int level)
{
	hx.dout = level;
	/* Keep D2 at this level whatever the firmware does to PORTD/DDRD (and after a reset,
	 * which clears the PIN registers without raising the pin's IRQ). */
	input_portd_pull(1 << 2, (uint8_t)(level << 2));
	avr_raise_irq(hx.portd_irqs + 2, level);
	if (level)
		avr->data[R_PIND] |= 1 << 2;
	else
		avr->data[R_PIND] &= ~(1 << 2);
}

static void emit_hx711(const char *state)
{
	const char *channel = hx.gain_pulses == 26 ? "B" : "A";
	int gain = hx.gain_pulses == 26 ? 32 : hx.gain_pulses == 27 ? 64 : 128;
	fprintf(events, "{\"event\":\"hx711\",\"state\":\"%s\",\"channel\":\"%s\",\"gain\":%d,\"emulatedUs\":%" PRIu64 "}\n",
		state, channel, gain, emulated_us());
}

/* ------------------------------------------------------------------ conversions */

static avr_cycle_count_t hx711_convert(avr_t *c_avr, avr_cycle_count_t when, void *param)
{
	(void)c_avr;
	(void)param;
	if (!hx.powered)
		return 0;
	hx.next_conversion = when + hx711_period();
	if (hx.pulses > 0 && hx.pulses < 25)
		return hx.next_conversion; /* a read is under way: its data stays put */
	if (hx.pulses >= 25) {
		int selected = hx.pulses > 27 ? 27 : hx.pulses;
		if (selected != hx.gain_pulses) {
			hx.gain_pulses = selected;
			emit_hx711("gain");
		}
		hx.pulses = 0;
	}
	int32_t value = 0;
	if (hx.gain_pulses == 25)
		value = hx.input;
	else if (hx.gain_pulses == 27)
		value = hx.input / 2; /* channel A at gain 64 */
	/* channel B (gain 32) has nothing connected: it reads 0 */
	hx.word = (uint32_t)value & 0xffffff;
	hx.ready = 1;
	hx711_set_dout(0);
	if (hx.data_events)
		fprintf(events, "{\"event\":\"hx711Data\",\"raw\":%" PRId32 ",\"emulatedUs\":%" PRIu64 "}\n",
			value, cycles_to_us(when));
	return hx.next_conversion;
}

/* ------------------------------------------------------------------ power */

static avr_cycle_count_t hx711_power_down(avr_t *p_avr, avr_cycle_count_t when, void *param)
{
	(void)p_avr;
	(void)when;
	(void)param;
	hx.power_down_at = 0;
	if (!hx.powered || !hx.sck)
		return 0;
	hx.powered = 0;
	hx.ready = 0;
	hx.pulses = 0;
	avr_cycle_timer_cancel(avr, hx711_convert, NULL);
	hx711_set_dout(1);
	emit_hx711("powerDown");
	return 0;
}

static void hx711_power_up(void)
{
	/* Power-on reset: channel A, gain 128; the first data after the settling time
	 * (datasheet: 400 ms at 10 Hz, 50 ms at 80 Hz, i.e. four conversion periods). */
	hx.powered = 1;
	hx.ready = 0;
	hx.pulses = 0;
	hx.gain_pulses = 25;
	hx711_set_dout(1);
	hx.next_conversion = avr->cycle + 4 * hx711_period();
	avr_cycle_timer_register(avr, 4 * hx711_period(), hx711_convert, NULL);
}

/* ------------------------------------------------------------------ the serial read */

/* SCK rising: the next bit on DOUT (a read starts at the first pulse). */
static void hx711_sck_rise(void)
{
	hx.power_down_at = avr->cycle + us_to_cycles(HX711_POWER_DOWN_US);
	avr_cycle_timer_register(avr, us_to_cycles(HX711_POWER_DOWN_US), hx711_power_down, NULL);
	if (!hx.powered)
		return;
	if (hx.pulses == 0) {
		hx.reading_valid = hx.ready;
		hx.ready = 0;
	}
	hx.pulses++;
	if (hx.pulses <= 24)
		hx711_set_dout(hx.reading_valid ? (int)((hx.word >> (24 - hx.pulses)) & 1) : 1);
	else
		hx711_set_dout(1); /* from the 25th pulse on, DOUT stays high until the next conversion */
}

/* SCK falling: no power-down; powered down, it powers up. */
static void hx711_sck_fall(void)
{
	hx.power_down_at = 0;
	avr_cycle_timer_cancel(avr, hx711_power_down, NULL);
	/* Warned at the fall, not the rise: a rise that powers it down (a firmware resetting
	 * the HX711 at boot) is no read. */
	if (hx.powered && hx.pulses > 0 && !hx.reading_valid && !hx.warned_not_ready) {
		hx.warned_not_ready = 1;
		emit_log("warning", "HX711 clocked while DOUT was high (no conversion ready): it shifts out ones");
	}
	if (!hx.powered) {
		hx711_power_up();
		emit_hx711("powerUp");
	}
}

static void hx711_sck_hook(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	(void)param;
	int level = (value & 0xff) ? 1 : 0;
	if (level == hx.sck)
		return;
	hx.sck = level;
	if (!hx.connected)
		return; /* SCK leads nowhere */
	if (level)
		hx711_sck_rise();
	else
		hx711_sck_fall();
}

/* ------------------------------------------------------------------ the public side */

void hx711_set_input(int32_t raw)
{
	hx.input = raw;
}

/* Unplugged: DOUT is held high as by a pull-up on D2, the wiring device/PROTOCOL.md asks
 * for, so the firmware sees an HX711 that is never ready. */
void hx711_disconnect(void)
{
	if (!hx.connected)
		return;
	hx.connected = 0;
	hx.powered = 0;
	hx.ready = 0;
	hx.pulses = 0;
	hx.power_down_at = 0;
	avr_cycle_timer_cancel(avr, hx711_convert, NULL);
	avr_cycle_timer_cancel(avr, hx711_power_down, NULL);
	hx711_set_dout(1);
}

/* Plugged in again: it powers on (channel A, gain 128, first data after the settling time),
 * or, while SCK is high, stays powered down until SCK falls. */
void hx711_connect(void)
{
	if (hx.connected)
		return;
	hx.connected = 1;
	if (!hx.sck)
		hx711_power_up();
}

void hx711_on_reset(void)
{
	if (!hx.attached)
		return;
	avr_raise_irq(hx.portd_irqs + 3, 0);
	hx711_set_dout(hx.dout);
	if (hx.powered) {
		avr_cycle_count_t next = hx.next_conversion > avr->cycle ? hx.next_conversion - avr->cycle : 1;
		avr_cycle_timer_register(avr, next, hx711_convert, NULL);
	}
}

int hx711_attached(void)
{
	return hx.attached;
}

void hx711_setup(int rate_hz, int data_events)
{
	hx.attached = 1;
	hx.rate_hz = rate_hz;
	hx.data_events = data_events;
	hx.portd_irqs = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 0);
	hx.input = 0;
	hx.sck = 0;
	hx.connected = 1;
	hx711_power_up();
	avr_irq_register_notify(hx.portd_irqs + 3, hx711_sck_hook, NULL);
}
