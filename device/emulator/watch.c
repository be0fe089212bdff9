/*
 * watch.c: register watches (see watch.h).
 *
 * simavr 1.6 can share a register's write between callbacks, but only on 4 registers in
 * all (it aborts past that), so a watch wraps the register's own handler instead: it calls
 * it (or stores the value, where there is none), then looks.
 */
#include "sim_io.h"

#include "events.h"
#include "mcu.h"
#include "watch.h"

#define MAX_WATCHES 24
static struct watch {
	avr_io_write_t original;
	void *original_param;
	watch_fn fn;
} watches[MAX_WATCHES];
static int watch_count;

static void watch_write(avr_t *w_avr, avr_io_addr_t addr, uint8_t v, void *param)
{
	struct watch *w = param;
	if (w->original)
		w->original(w_avr, addr, v, w->original_param);
	else
		w_avr->data[addr] = v;
	w->fn();
}

void watch_register(avr_io_addr_t addr, watch_fn fn)
{
	if (watch_count == MAX_WATCHES)
		fatal("internal: too many register watches");
	struct watch *w = &watches[watch_count++];
	avr_io_addr_t io = AVR_DATA_TO_IO(addr);
	w->original = avr->io[io].w.c;
	w->original_param = avr->io[io].w.param;
	w->fn = fn;
	avr->io[io].w.c = watch_write;
	avr->io[io].w.param = w;
}
