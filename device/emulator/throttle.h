/*
 * throttle.h: keeps the emulated clock on the wall clock (realtime) or lets it run flat
 * out (--fast). The AVR runs in slices; after each, the main loop waits out the time
 * throttle_wait_ns() gives. Falling too far behind is reported (`lag`), not caught up.
 * README.md ("Time") explains the model.
 *   throttle_t clock = throttle_start(realtime);
 *   run throttle_slice_cycles(&clock) cycles; throttle_after_slice(&clock, wall_ns(), halted);
 *   wait up to throttle_wait_ns(&clock, halted), listening to stdin
 */
#ifndef KNOTMETER_EMU_THROTTLE_H
#define KNOTMETER_EMU_THROTTLE_H

#include <stdint.h>

#include "sim_avr.h"

typedef struct {
	int realtime;
	uint64_t anchor_wall_ns;        /* at this wall time ... */
	avr_cycle_count_t anchor_cycle; /* ... the AVR was due at this cycle */
	uint64_t lag_lost_us;           /* given up since the last `lag` event */
	uint64_t lag_reported_wall_ns;
} throttle_t;

/* Anchors the emulated clock at the current wall time. */
throttle_t throttle_start(int realtime);
/* The cycles in a slice: 1 ms of emulated time in real time, 5 ms flat out. */
avr_cycle_count_t throttle_slice_cycles(const throttle_t *t);
/* After a slice: re-anchors while halted or after a lag, and reports lag (once a second). */
void throttle_after_slice(throttle_t *t, uint64_t now_ns, int halted);
/* Emulated time given up to lag since the harness started (the `time` reply carries it). */
uint64_t throttle_lag_lost_total_us(void);
/* How long to wait before the next slice: until the wall clock catches up (realtime), 0
 * (flat out), 50 ms while halted. */
int64_t throttle_wait_ns(const throttle_t *t, int halted);

#endif
