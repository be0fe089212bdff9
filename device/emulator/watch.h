/*
 * watch.h: calls a function after every write the firmware makes to a register, for the
 * parts of the harness that follow a peripheral's configuration (UART, PWM, INT0/1).
 *   watch_register(R_UBRR0L, uart_config_changed);
 */
#ifndef KNOTMETER_EMU_WATCH_H
#define KNOTMETER_EMU_WATCH_H

#include "sim_avr.h"

typedef void (*watch_fn)(void);

/* After the register's own write handler (or the plain store) has run, calls `fn`. */
void watch_register(avr_io_addr_t addr, watch_fn fn);

#endif
