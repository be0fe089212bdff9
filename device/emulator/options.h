/*
 * options.h: the command line (`knotmeter-emu --help` prints it; README.md explains it).
 *   options_t opt = options_parse(argc, argv);
 */
#ifndef KNOTMETER_EMU_OPTIONS_H
#define KNOTMETER_EMU_OPTIONS_H

#include <stdint.h>

typedef struct {
	const char *hex_path;
	int realtime;          /* 0 with --fast */
	int hx711;             /* --hx711 */
	int hx711_rate_hz;     /* 10 or 80 */
	int hx711_data_events;
	const char *eeprom_path; /* NULL: no --eeprom */
	int uart_chip;         /* --uart chip (1) or simavr (0) */
	uint32_t drop_unread_ms;
	int reset_on_open;
	const char *bootloader_path; /* NULL: no --bootloader; then hex_path is set */
} options_t;

/* The options, from the defaults and argv; prints the usage and exits on --help, and on a
 * bad argument (a `fatal` event). */
options_t options_parse(int argc, char **argv);

#endif
