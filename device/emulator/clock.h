/*
 * clock.h: the harness's two clocks: the wall clock (monotonic ns) and the emulated one
 * (the AVR's cycle count, converted at its frequency). Inline: these run on hot paths.
 *   uint64_t t = emulated_us();  avr_cycle_count_t c = us_to_cycles(60);
 */
#ifndef KNOTMETER_EMU_CLOCK_H
#define KNOTMETER_EMU_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "mcu.h"

static inline uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t cycles_to_us(avr_cycle_count_t cycles)
{
	return (uint64_t)(((unsigned __int128)cycles * 1000000u) / avr->frequency);
}

static inline uint64_t cycles_to_ns(avr_cycle_count_t cycles)
{
	return (uint64_t)(((unsigned __int128)cycles * 1000000000u) / avr->frequency);
}

static inline avr_cycle_count_t us_to_cycles(uint64_t us)
{
	return (avr_cycle_count_t)(((unsigned __int128)us * avr->frequency) / 1000000u);
}

static inline uint64_t emulated_us(void)
{
	return cycles_to_us(avr->cycle);
}

#endif
