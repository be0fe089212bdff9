/*
 * mcu.h: the one emulated ATmega328P (`avr`, made in main.c, used by every part of the
 * harness) and the data-space addresses, bits and sizes of it that the harness reads and
 * writes (datasheet, avr-libc iom328p.h).
 */
#ifndef KNOTMETER_EMU_MCU_H
#define KNOTMETER_EMU_MCU_H

#include "sim_avr.h"

extern avr_t *avr;

enum {
	R_PINB = 0x23, R_DDRB = 0x24, R_PORTB = 0x25,
	R_PIND = 0x29, R_DDRD = 0x2A, R_PORTD = 0x2B,
	R_EIMSK = 0x3D, R_EICRA = 0x69,
	R_TCCR0A = 0x44, R_TCCR0B = 0x45, R_OCR0A = 0x47,
	R_TCCR1A = 0x80, R_TCCR1B = 0x81, R_ICR1L = 0x86, R_ICR1H = 0x87,
	R_OCR1AL = 0x88, R_OCR1AH = 0x89,
	R_UCSR0A = 0xC0, R_UCSR0B = 0xC1, R_UCSR0C = 0xC2, R_UBRR0L = 0xC4, R_UBRR0H = 0xC5,
};
#define BIT_U2X0 1
#define BIT_DOR0 3
#define BIT_UCSZ02 2
#define BIT_TXEN0 3
#define BIT_RXEN0 4
#define BIT_USBS0 3

#define FREQUENCY_HZ 16000000u
#define VCC_MILLIVOLTS 5000u
#define FLASH_BYTES 0x8000u
#define EEPROM_HEX_BASE 0x810000u
#define EEPROM_BYTES 1024u

#endif
