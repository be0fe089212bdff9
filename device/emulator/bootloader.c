/*
 * bootloader.c: the boot section, the reset cause and injected flash faults (see
 * bootloader.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sim_avr.h"
#include "sim_hex.h"
#include "sim_io.h"
#include "avr_flash.h"

#include "bootloader.h"
#include "events.h"
#include "mcu.h"

#define R_MCUSR 0x54
#define BIT_PORF 0
#define BIT_EXTRF 1
#define R_SPMCSR 0x57
#define BIT_PGWRT 2
#define SPM_PAGE_BYTES 128u
/* The smallest boot section of the ATmega328P (BOOTSZ = 11: 256 words) starts here, the
 * largest (BOOTSZ = 00: 2048 words) at 0x7000. */
#define BOOT_SECTION_MIN 0x7000u

static long boot_address = -1;
static unsigned faults_armed;
static avr_io_t *flash_io;

void bootloader_load(const char *hex_path)
{
	ihex_chunk_p chunks = NULL;
	int count = read_ihex_chunks(hex_path, &chunks);
	if (count <= 0)
		fatal("%s: not a readable Intel hex file", hex_path);
	uint32_t lowest = FLASH_BYTES;
	for (int i = 0; i < count; i++) {
		ihex_chunk_t *c = &chunks[i];
		if (c->baseaddr < BOOT_SECTION_MIN || c->baseaddr + c->size > FLASH_BYTES)
			fatal("%s: %u bytes at 0x%x are outside the ATmega328P's boot sections (0x7000..0x7fff);"
				" Debian's optiboot_atmega328.hex is such a file (too large for its section):"
				" make -C device/emulator optiboot builds one that fits",
				hex_path, c->size, c->baseaddr);
		avr_loadcode(avr, c->data, c->size, c->baseaddr);
		if (c->baseaddr < lowest)
			lowest = c->baseaddr;
	}
	free_ihex_chunks(chunks);
	if (lowest == FLASH_BYTES)
		fatal("%s: no program in it", hex_path);
	/* the BOOTRST fuse programmed, BOOTSZ matching the bootloader's size */
	boot_address = lowest;
	avr->reset_pc = lowest;
	avr->pc = lowest;
	avr->codeend = avr->flashend;
	avr->data[R_MCUSR] = 1 << BIT_PORF;
}

long bootloader_address(void)
{
	return boot_address;
}

void reset_external(void)
{
	avr_reset(avr);
	/* MCUSR keeps its flags across resets until the program clears them; the chip adds
	 * the cause of this one. simavr's reset clears every I/O register, MCUSR included. */
	avr->data[R_MCUSR] |= 1 << BIT_EXTRF;
}

void flash_fault_arm(unsigned pages)
{
	faults_armed = pages;
}

/* SPM reaches the flash through avr_ioctl(AVR_IOCTL_FLASH_SPM), which asks each I/O module
 * in turn: this one, registered last, is asked first, lets simavr's flash module do the
 * work, then spoils one byte of a page just written when a fault is armed. */
static int spm_hook(avr_io_t *io, uint32_t ctl, void *param)
{
	(void)io;
	if (ctl != AVR_IOCTL_FLASH_SPM || !flash_io || !flash_io->ioctl)
		return -1;
	int page_write = (avr->data[R_SPMCSR] & (1 << BIT_PGWRT)) != 0;
	uint32_t z = avr->data[R_ZL] | ((uint32_t)avr->data[R_ZH] << 8);
	int result = flash_io->ioctl(flash_io, ctl, param);
	if (page_write && faults_armed) {
		uint32_t page = z & ~(SPM_PAGE_BYTES - 1);
		uint32_t victim = page + (SPM_PAGE_BYTES / 2);
		avr->flash[victim] ^= 0xff;
		faults_armed--;
		char message[120];
		snprintf(message, sizeof(message), "flash fault injected: byte 0x%04x of the page at 0x%04x written wrong", victim, page);
		emit_log("warning", message);
	}
	return result;
}

static avr_io_t spm_io = { .kind = "knotmeter-spm", .ioctl = spm_hook };

void bootloader_setup(void)
{
	for (avr_io_t *io = avr->io_port; io; io = io->next)
		if (!strcmp(io->kind, "flash"))
			flash_io = io;
	if (!flash_io)
		fatal("internal: the flash (SPM) module is not in the simavr core");
	avr_register_io(avr, &spm_io);
}
