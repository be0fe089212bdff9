/*
 * extint.h: keeps simavr's per-cycle polling of a low-level INT0/INT1 (D2, D3) only while
 * the firmware has that interrupt enabled (the polling slows the whole emulation).
 *   extint_setup();              at start
 *   extint_config_changed();     one cycle after every reset (simavr turns it back on)
 */
#ifndef KNOTMETER_EMU_EXTINT_H
#define KNOTMETER_EMU_EXTINT_H

void extint_setup(void);
void extint_config_changed(void);

#endif
