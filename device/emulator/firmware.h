/*
 * firmware.h: loads the program (an Intel hex: flash, and an optional .eeprom section at
 * 0x810000) and keeps the EEPROM in a file (--eeprom), saved atomically when it changes.
 *   firmware_load("knotmeter-fsr.hex", "eeprom.bin");   eeprom_path may be NULL
 *   eeprom_save_if_changed();                           every 100 ms and at exit
 */
#ifndef KNOTMETER_EMU_FIRMWARE_H
#define KNOTMETER_EMU_FIRMWARE_H

/* Loads the hex (a `fatal` event if it is unusable) and fills the EEPROM: from the file if
 * it exists, else from the hex's .eeprom section, else erased. */
void firmware_load(const char *hex_path, const char *eeprom_path);
/* Writes the EEPROM file if the EEPROM changed; on failure an `error` event, and no more
 * saving. */
void eeprom_save_if_changed(void);

#endif
