/*
 * extint.c: INT0/INT1 level-trigger polling (see extint.h).
 *
 * simavr 1.6 emulates a low-level INT0/INT1 (the reset default, ISC = 00) by polling the
 * pin on every single cycle while it is low, whether or not the interrupt is enabled; D2
 * and D3 are INT0 and INT1, so an idle HX711 (DOUT low) or a low SCK would slow the whole
 * emulation by a quarter. Keep that polling only where the firmware asks for it: interrupt
 * enabled in EIMSK and set to low level in EICRA. simavr re-enables it on every reset.
 */
#include <stdint.h>

#include "sim_avr.h"
#include "avr_extint.h"

#include "extint.h"
#include "mcu.h"
#include "watch.h"

void extint_config_changed(void)
{
	for (uint8_t n = 0; n < 2; n++) {
		int enabled = (avr->data[R_EIMSK] >> n) & 1;
		int low_level = ((avr->data[R_EICRA] >> (2 * n)) & 3) == 0;
		avr_extint_set_strict_lvl_trig(avr, n, enabled && low_level);
	}
}

void extint_setup(void)
{
	watch_register(R_EIMSK, extint_config_changed);
	watch_register(R_EICRA, extint_config_changed);
	extint_config_changed();
}
