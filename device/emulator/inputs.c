/*
 * inputs.c: ADC inputs, the HX711's input and their schedules (see inputs.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_avr.h"
#include "sim_io.h"
#include "sim_irq.h"
#include "sim_cycle_timers.h"
#include "avr_adc.h"
#include "avr_ioport.h"

#include "events.h"
#include "hx711.h"
#include "inputs.h"
#include "mcu.h"

typedef struct {
	avr_cycle_count_t cycle;
	int32_t value;
} point_t;

static struct schedule {
	int target;
	point_t *points;
	size_t head, len, cap;
	int32_t current;
} schedules[INPUT_COUNT];

static avr_irq_t *adc_irqs;

void input_set(int target, int32_t value)
{
	schedules[target].current = value;
	if (target == INPUT_BUTTON)
		input_set_button(value != 0);
	else if (target == INPUT_HX711)
		hx711_set_input(value);
	else
		avr_raise_irq(adc_irqs + ADC_IRQ_ADC0 + target, (uint32_t)value);
}

static avr_cycle_count_t schedule_timer(avr_t *s_avr, avr_cycle_count_t when, void *param)
{
	(void)s_avr;
	struct schedule *s = param;
	while (s->len && s->points[s->head].cycle <= when) {
		input_set(s->target, s->points[s->head].value);
		s->head++;
		s->len--;
	}
	if (!s->len) {
		s->head = 0;
		return 0;
	}
	return s->points[s->head].cycle;
}

static void schedule_clear(struct schedule *s)
{
	avr_cycle_timer_cancel(avr, schedule_timer, s);
	s->head = s->len = 0;
}

static void schedule_arm(struct schedule *s)
{
	while (s->len && s->points[s->head].cycle <= avr->cycle) {
		input_set(s->target, s->points[s->head].value);
		s->head++;
		s->len--;
	}
	if (!s->len) {
		s->head = 0;
		avr_cycle_timer_cancel(avr, schedule_timer, s);
		return;
	}
	avr_cycle_timer_register(avr, s->points[s->head].cycle - avr->cycle, schedule_timer, s);
}

void input_schedule_clear(int target)
{
	schedule_clear(&schedules[target]);
}

avr_cycle_count_t input_schedule_last_cycle(int target)
{
	struct schedule *s = &schedules[target];
	return s->len ? s->points[s->head + s->len - 1].cycle : 0;
}

void input_schedule_reserve(int target, size_t count)
{
	struct schedule *s = &schedules[target];
	if (s->head + s->len + count > s->cap) {
		if (s->head) {
			memmove(s->points, s->points + s->head, s->len * sizeof(point_t));
			s->head = 0;
		}
		if (s->len + count > s->cap) {
			s->cap = (s->len + count) * 2;
			s->points = realloc(s->points, s->cap * sizeof(point_t));
		}
	}
}

void input_schedule_push(int target, avr_cycle_count_t cycle, int32_t value)
{
	struct schedule *s = &schedules[target];
	point_t *p = &s->points[s->head + s->len++];
	p->cycle = cycle;
	p->value = value;
}

size_t input_schedule_arm(int target)
{
	schedule_arm(&schedules[target]);
	return schedules[target].len;
}

static int button_held;
static uint8_t portd_pull_mask, portd_pull_value;

void input_portd_pull(uint8_t bits, uint8_t levels)
{
	portd_pull_mask |= bits;
	portd_pull_value = (uint8_t)((portd_pull_value & ~bits) | (levels & bits));
	avr_ioport_external_t pull = { .name = 'D', .mask = portd_pull_mask, .value = portd_pull_value };
	avr_ioctl(avr, AVR_IOCTL_IOPORT_SET_EXTERNAL('D'), &pull);
}

/* D4 always; D2 only without an HX711, whose DOUT it is (an external pull there would
 * overwrite the emulated DOUT at every PORTD write). */
static uint8_t button_mask(void)
{
	return (uint8_t)(hx711_attached() ? (1u << 4) : ((1u << 2) | (1u << 4)));
}

/* Through the port's external pull, which simavr re-applies at every PORTD write, and on
 * the pins themselves for reads before the next write. */
static void button_apply(void)
{
	const uint8_t mask = button_mask();
	input_portd_pull(mask, button_held ? 0 : mask);
	avr_irq_t *pins = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 0);
	/* The pin IRQs are filtered (a repeated value is dropped) and keep their value across a
	 * reset, which zeroes PIND: raise the other level first so the PIND bit follows. */
	for (int bit = 0; pins && bit < 8; bit++)
		if (mask & (1u << bit)) {
			avr_raise_irq(pins + bit, button_held ? 1 : 0);
			avr_raise_irq(pins + bit, button_held ? 0 : 1);
		}
}

void input_set_button(int held)
{
	button_held = held;
	button_apply();
}

void inputs_on_reset(void)
{
	for (int i = 0; i < INPUT_COUNT; i++)
		if (schedules[i].len)
			schedule_arm(&schedules[i]);
	button_apply();
}

int input_parse_target(const char *name)
{
	if (!strcmp(name, "hx711"))
		return INPUT_HX711;
	if (!strcmp(name, "button"))
		return INPUT_BUTTON;
	if (!strncmp(name, "adc", 3) && name[3] >= '0' && name[3] <= '7' && name[4] == 0)
		return name[3] - '0';
	return -1;
}

const char *input_check_value(int target, double value)
{
	if (value != floor(value))
		return "values must be integers";
	if (target == INPUT_BUTTON)
		return value == 0 || value == 1 ? NULL : "a button value is 1 (held) or 0 (released)";
	if (target == INPUT_HX711)
		return value >= HX711_MIN && value <= HX711_MAX ? NULL : "an HX711 value is a signed 24-bit integer (-8388608..8388607)";
	return value >= 0 && value <= VCC_MILLIVOLTS ? NULL : "ADC input must be 0..5000 millivolts (AVCC)";
}

void inputs_setup(void)
{
	avr->vcc = avr->avcc = avr->aref = VCC_MILLIVOLTS;
	adc_irqs = avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, 0);
	if (!adc_irqs)
		fatal("internal: ADC not found in the simavr core");
	for (int i = 0; i < INPUT_COUNT; i++)
		schedules[i].target = i;
	/* The button is left as it is: released, pulled up below. */
	for (int i = 0; i < INPUT_BUTTON; i++)
		input_set(i, 0);
	/* Before the HX711 is set up only D4 is safe to pull: D2 follows at the first reset
	 * (a host's open resets the AVR). */
	const uint8_t released = 1u << 4;
	avr_ioport_external_t pull = { .name = 'D', .mask = released, .value = released };
	avr_ioctl(avr, AVR_IOCTL_IOPORT_SET_EXTERNAL('D'), &pull);
}
