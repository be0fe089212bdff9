/*
 * hx711.h: an emulated HX711 load-cell ADC on D2 (DOUT) and D3 (SCK): conversions at 10
 * or 80 Hz, the 24-bit read with gain selection, power-down, unplugging. README.md
 * ("HX711") gives its behaviour in full.
 *   hx711_setup(80, 0);       with --hx711
 *   hx711_set_input(-12345);  the next conversions read that
 */
#ifndef KNOTMETER_EMU_HX711_H
#define KNOTMETER_EMU_HX711_H

#include <stdint.h>

#define HX711_MIN (-8388608)
#define HX711_MAX 8388607

/* Attaches it, powered and connected; `data_events`: an hx711Data event per conversion. */
void hx711_setup(int rate_hz, int data_events);
/* 1 once hx711_setup() has run. */
int hx711_attached(void);
/* Channel A at gain 128, as the 24-bit code. */
void hx711_set_input(int32_t raw);
/* Unplugs it: no conversions, SCK leads nowhere, DOUT held high. No-op if unplugged. */
void hx711_disconnect(void);
/* Plugs it in again (a power-on, unless SCK is high). No-op if plugged in. */
void hx711_connect(void);
/* After an AVR reset: DOUT and the conversions carry on. */
void hx711_on_reset(void);

#endif
