/*
 * throttle.c: the emulated clock against the wall clock (see throttle.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "clock.h"
#include "events.h"
#include "mcu.h"
#include "throttle.h"

/* Further behind than this, the harness stops trying to catch up. */
#define LAG_LIMIT_NS 100000000u

static uint64_t lag_lost_total_us;

uint64_t throttle_lag_lost_total_us(void)
{
	return lag_lost_total_us;
}

throttle_t throttle_start(int realtime)
{
	throttle_t t = { .realtime = realtime, .anchor_wall_ns = wall_ns(), .anchor_cycle = avr->cycle };
	return t;
}

avr_cycle_count_t throttle_slice_cycles(const throttle_t *t)
{
	return avr->frequency / (t->realtime ? 1000u : 200u);
}

void throttle_after_slice(throttle_t *t, uint64_t now_ns, int halted)
{
	if (halted) {
		t->anchor_wall_ns = now_ns;
		t->anchor_cycle = avr->cycle;
		return;
	}
	if (!t->realtime)
		return;
	uint64_t due_ns = t->anchor_wall_ns + cycles_to_ns(avr->cycle - t->anchor_cycle);
	if (now_ns > due_ns + LAG_LIMIT_NS) {
		/* Too far behind to catch up unnoticed: start afresh from here, and say so. */
		t->lag_lost_us += (now_ns - due_ns) / 1000u;
		lag_lost_total_us += (now_ns - due_ns) / 1000u;
		t->anchor_wall_ns = now_ns;
		t->anchor_cycle = avr->cycle;
	}
	if (t->lag_lost_us && now_ns - t->lag_reported_wall_ns > 1000000000u) {
		fprintf(events, "{\"event\":\"lag\",\"lostUs\":%" PRIu64 ",\"emulatedUs\":%" PRIu64 "}\n",
			t->lag_lost_us, emulated_us());
		t->lag_lost_us = 0;
		t->lag_reported_wall_ns = now_ns;
	}
}

int64_t throttle_wait_ns(const throttle_t *t, int halted)
{
	if (halted)
		return 50000000;
	if (!t->realtime)
		return 0;
	uint64_t due_ns = t->anchor_wall_ns + cycles_to_ns(avr->cycle - t->anchor_cycle);
	uint64_t at = wall_ns();
	return due_ns > at ? (int64_t)(due_ns - at) : 0;
}
