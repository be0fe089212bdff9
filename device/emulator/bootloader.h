/*
 * bootloader.h: a bootloader in the boot section (--bootloader FILE.hex), as on an Arduino
 * board: the BOOTRST fuse (every reset starts at the bootloader), the reset cause in MCUSR
 * (power-on at start, external when a host opens the port or on the `reset` command, as a
 * board's DTR pulse through its reset capacitor makes it), and a flash fault a test can
 * inject (the next page writes come out wrong, as a worn flash cell would).
 *   bootloader_load("optiboot_atmega328.hex");   // after avr_init, before the first run
 *   reset_external();                             // a pulse on the RESET pin
 *   flash_fault_arm(1);                           // the next page write keeps a wrong byte
 */
#ifndef KNOTMETER_EMU_BOOTLOADER_H
#define KNOTMETER_EMU_BOOTLOADER_H

/* Loads the bootloader's hex where it says (the boot section, e.g. 0x7E00 for Optiboot),
 * points the reset vector there and sets PORF; exits with a `fatal` event on a bad file. */
void bootloader_load(const char *hex_path);
/* The bootloader's first byte address, or -1 without one. */
long bootloader_address(void);
/* Resets the AVR as its RESET pin does: MCUSR gets EXTRF, which a bootloader such as
 * Optiboot needs to stay for an upload (after power-on or a watchdog reset it starts the
 * application at once). */
void reset_external(void);
/* The next `pages` SPM page writes each store one byte wrong (bits inverted). */
void flash_fault_arm(unsigned pages);
/* Installs the SPM hook (with or without a bootloader). */
void bootloader_setup(void);

#endif
