/*
 * uart.h: UART0 on a pseudo-terminal. The pty is uart_pty's (libsimavrparts); the harness
 * sits between it and simavr's UART to give the link the chip's timing and buffering,
 * notice a host opening the port (and reset the AVR then, as an Uno's DTR does), and drop
 * output nobody reads. README.md ("UART") says what a host sees.
 *   uart_setup((uart_options_t){ .chip_timing = 1, .reset_on_open = 1, .drop_unread_ms = 2000 });
 *   ... each slice: uart_wait_for_bridge(); run; uart_report_config(); uart_report_drops();
 */
#ifndef KNOTMETER_EMU_UART_H
#define KNOTMETER_EMU_UART_H

#include <stdint.h>

typedef struct {
	int chip_timing;         /* --uart chip: the chip's frame length and 3-byte receiver */
	int reset_on_open;       /* reset the AVR when a host opens the pty; silent before */
	uint32_t drop_unread_ms; /* 0: keep unread output */
} uart_options_t;

/* Creates the pty and connects it to UART0. */
void uart_setup(uart_options_t options);
/* The terminal side a host opens (/dev/pts/N). */
const char *uart_pty_path(void);
/* Clears TXEN0 as the chip's reset does (--uart chip); simavr's reset sets it. */
void uart_transmitter_off(void);
/* Lets uart_pty's thread drain the AVR's output before the next slice adds more. */
void uart_wait_for_bridge(void);
/* A `uart` event when the firmware has configured a new speed or frame since the last. */
void uart_report_config(void);
/* `serialDropped` events for bytes lost since the last call. */
void uart_report_drops(void);
/* Drops output nobody has read for drop_unread_ms (call every 100 ms or so). */
void uart_check_unread_output(uint64_t now_ns);
/* A `serialOpened` event when a host has (re)opened the pty; returns 1 when it then reset
 * the AVR (reset_on_open). */
int uart_check_host_open(void);
/* After an AVR reset: the firmware configures the link afresh; host bytes still queued
 * keep arriving. */
void uart_on_reset(void);
/* Closes the harness's own descriptor on the terminal side. */
void uart_close(void);

#endif
