/*
 * firmware.c: the program and the EEPROM (see firmware.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_avr.h"
#include "sim_hex.h"
#include "sim_io.h"
#include "avr_eeprom.h"

#include "events.h"
#include "firmware.h"
#include "mcu.h"

static const char *eeprom_path; /* NULL: no file (or saving it failed) */
static uint8_t *eeprom_live;
static uint8_t eeprom_saved[EEPROM_BYTES];

static void eeprom_attach(const uint8_t *hex_image, size_t hex_len)
{
	avr_eeprom_desc_t desc = { .ee = NULL, .offset = 0, .size = EEPROM_BYTES };
	avr_ioctl(avr, AVR_IOCTL_EEPROM_GET, &desc);
	eeprom_live = desc.ee;
	if (!eeprom_live)
		fatal("internal: EEPROM not found in the simavr core");
	int loaded = 0;
	if (eeprom_path) {
		int fd = open(eeprom_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			uint8_t buffer[EEPROM_BYTES + 1];
			ssize_t n = read(fd, buffer, sizeof(buffer));
			close(fd);
			if (n != EEPROM_BYTES)
				fatal("%s: an EEPROM file must hold exactly %u bytes", eeprom_path, EEPROM_BYTES);
			memcpy(eeprom_live, buffer, EEPROM_BYTES);
			loaded = 1;
		} else if (errno != ENOENT) {
			fatal("%s: %s", eeprom_path, strerror(errno));
		}
	}
	if (!loaded && hex_image)
		memcpy(eeprom_live, hex_image, hex_len);
	memcpy(eeprom_saved, eeprom_live, EEPROM_BYTES);
}

void eeprom_save_if_changed(void)
{
	if (!eeprom_path || !memcmp(eeprom_saved, eeprom_live, EEPROM_BYTES))
		return;
	char temporary[4096];
	snprintf(temporary, sizeof(temporary), "%s.%d.tmp", eeprom_path, (int)getpid());
	int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, eeprom_live, EEPROM_BYTES) != (ssize_t)EEPROM_BYTES || fsync(fd) != 0 ||
			close(fd) != 0 || rename(temporary, eeprom_path) != 0) {
		char message[4200];
		snprintf(message, sizeof(message), "cannot save the EEPROM to %s: %s", eeprom_path, strerror(errno));
		emit_message("error", NULL, message);
		if (fd >= 0)
			unlink(temporary);
		eeprom_path = NULL;
		return;
	}
	memcpy(eeprom_saved, eeprom_live, EEPROM_BYTES);
}

void firmware_load(const char *hex_path, const char *eeprom_file)
{
	eeprom_path = eeprom_file;
	if (!hex_path) { /* a bootloader alone: the flash is erased, the EEPROM as usual */
		eeprom_attach(NULL, 0);
		return;
	}
	ihex_chunk_p chunks = NULL;
	int count = read_ihex_chunks(hex_path, &chunks);
	if (count <= 0)
		fatal("%s: not a readable Intel hex file", hex_path);
	uint8_t *eeprom_image = NULL;
	size_t eeprom_len = 0, flash_bytes = 0;
	for (int i = 0; i < count; i++) {
		ihex_chunk_t *c = &chunks[i];
		if (c->baseaddr < FLASH_BYTES) {
			if (c->baseaddr + c->size > FLASH_BYTES)
				fatal("%s: %u bytes at 0x%x do not fit the 32 KiB flash", hex_path, c->size, c->baseaddr);
			avr_loadcode(avr, c->data, c->size, c->baseaddr);
			flash_bytes += c->size;
		} else if (c->baseaddr >= EEPROM_HEX_BASE && c->baseaddr + c->size <= EEPROM_HEX_BASE + EEPROM_BYTES) {
			if (!eeprom_image) {
				eeprom_image = malloc(EEPROM_BYTES);
				memset(eeprom_image, 0xff, EEPROM_BYTES);
			}
			memcpy(eeprom_image + (c->baseaddr - EEPROM_HEX_BASE), c->data, c->size);
			eeprom_len = EEPROM_BYTES;
		} else {
			fatal("%s: a segment at 0x%x is neither flash nor EEPROM of an ATmega328P", hex_path, c->baseaddr);
		}
	}
	free_ihex_chunks(chunks);
	if (!flash_bytes)
		fatal("%s: no program in it", hex_path);
	avr->codeend = avr->flashend;
	eeprom_attach(eeprom_image, eeprom_len);
	free(eeprom_image);
}
