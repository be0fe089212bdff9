/*
 * options.c: parses the command line (see options.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "options.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: knotmeter-emu [options] FIRMWARE.hex\n"
		"       knotmeter-emu --bootloader BOOT.hex [options] [FIRMWARE.hex]\n"
		"  --fast               run as fast as possible (default: throttled to the wall clock)\n"
		"  --hx711              attach an emulated HX711 (DOUT on D2, SCK on D3)\n"
		"  --hx711-rate HZ      HX711 output data rate, 10 or 80 (default 80)\n"
		"  --hx711-data-events  report every conversion the HX711 makes ready (hx711Data events)\n"
		"  --eeprom FILE        keep the EEPROM in FILE (1024 bytes): read at start if it exists,\n"
		"                       written whenever the EEPROM changes\n"
		"  --uart MODE          chip (default): 10-bit 8N1 frames and a 2-byte receive buffer\n"
		"                       as on the ATmega328P; simavr: simavr 1.6's own timing (11-bit\n"
		"                       frames, 64-byte receive FIFO)\n"
		"  --drop-unread MS     discard UART output nobody has read for MS ms (default 2000, 0 = keep)\n"
		"  --no-reset-on-open   by default the AVR is reset when a host opens the pty (and sets\n"
		"                       its speed), as an Uno resets through DTR, and no UART output\n"
		"                       leaves before that first open; this keeps both off\n"
		"  --bootloader FILE    a bootloader in the boot section (Optiboot: 0x7E00), started by every\n"
		"                       reset as with the BOOTRST fuse; a host opening the port resets the\n"
		"                       AVR with EXTRF set, as a board's DTR does. FIRMWARE.hex is then\n"
		"                       optional (the application already in flash; default: erased)\n"
		"Control: JSON lines on stdin; events: JSON lines on stdout (see README.md).\n");
}

options_t options_parse(int argc, char **argv)
{
	options_t opt = { .realtime = 1, .hx711_rate_hz = 80, .uart_chip = 1, .drop_unread_ms = 2000, .reset_on_open = 1 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--fast")) {
			opt.realtime = 0;
		} else if (!strcmp(a, "--hx711")) {
			opt.hx711 = 1;
		} else if (!strcmp(a, "--hx711-rate") && i + 1 < argc) {
			opt.hx711_rate_hz = atoi(argv[++i]);
			if (opt.hx711_rate_hz != 10 && opt.hx711_rate_hz != 80)
				fatal("--hx711-rate must be 10 or 80");
		} else if (!strcmp(a, "--hx711-data-events")) {
			opt.hx711_data_events = 1;
		} else if (!strcmp(a, "--eeprom") && i + 1 < argc) {
			opt.eeprom_path = argv[++i];
		} else if (!strcmp(a, "--uart") && i + 1 < argc) {
			const char *mode = argv[++i];
			if (!strcmp(mode, "chip")) opt.uart_chip = 1;
			else if (!strcmp(mode, "simavr")) opt.uart_chip = 0;
			else fatal("--uart must be chip or simavr");
		} else if (!strcmp(a, "--drop-unread") && i + 1 < argc) {
			char *end;
			unsigned long ms = strtoul(argv[++i], &end, 10);
			if (*end || ms > 3600000ul)
				fatal("--drop-unread takes milliseconds (0..3600000)");
			opt.drop_unread_ms = (uint32_t)ms;
		} else if (!strcmp(a, "--bootloader") && i + 1 < argc) {
			opt.bootloader_path = argv[++i];
		} else if (!strcmp(a, "--no-reset-on-open")) {
			opt.reset_on_open = 0;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stderr);
			exit(0);
		} else if (a[0] == '-' || opt.hex_path) {
			usage(stderr);
			fatal("bad argument: %s", a);
		} else {
			opt.hex_path = a;
		}
	}
	if (!opt.hex_path && !opt.bootloader_path) {
		usage(stderr);
		fatal("no firmware hex given");
	}
	return opt;
}
