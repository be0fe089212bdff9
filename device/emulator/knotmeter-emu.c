/*
 * knotmeter-emu: runs an ATmega328P program (an Intel hex, Arduino Uno wiring, 16 MHz) in
 * simavr 1.6 and wires it to the host:
 *   - UART0 on a pseudo-terminal (uart_pty from libsimavrparts), corrected to the chip's
 *     real frame length and 2-byte receive buffer;
 *   - A0 (and the other ADC inputs) in millivolts, and an emulated HX711 load-cell ADC on
 *     D2 (DOUT) / D3 (SCK), both settable at once or along a schedule in emulated time;
 *   - every change of D13, D6 and D9 (with the PWM duty when a timer drives the pin),
 *     stamped with the emulated time in microseconds;
 *   - throttled to the wall clock (or flat out with --fast).
 * Control: JSON lines on stdin; events: JSON lines on stdout. README.md documents both.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sim_avr.h"
#include "sim_hex.h"
#include "sim_io.h"
#include "sim_irq.h"
#include "sim_cycle_timers.h"
#include "avr_adc.h"
#include "avr_eeprom.h"
#include "avr_extint.h"
#include "avr_ioport.h"
#include "avr_uart.h"
#include "uart_pty.h"

#include "json.h"

/* The accessors for the two FIFO types whose contents this harness inspects. */
DEFINE_FIFO(uint16_t, uart_fifo);
DEFINE_FIFO(uint8_t, uart_pty_fifo);

/* ATmega328P data-space addresses and bits (datasheet, avr-libc iom328p.h). */
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
#define HX711_MIN (-8388608)
#define HX711_MAX 8388607
#define HX711_POWER_DOWN_US 60
#define MAX_LINE_BYTES (8u << 20)
#define RXQ_BYTES 65536u
#define RXQ_HIGH 64u
#define RXQ_LOW 16u
#define PTY_TX_HIGH 384u
#define PTY_TX_LOW 64u

/* ------------------------------------------------------------------ options */

static struct {
	const char *hex_path;
	int realtime;
	int hx711;
	int hx711_rate_hz;
	int hx711_data_events;
	const char *eeprom_path;
	int uart_chip;
	uint32_t drop_unread_ms;
	int reset_on_open;
} opt = { .realtime = 1, .hx711_rate_hz = 80, .uart_chip = 1, .drop_unread_ms = 2000, .reset_on_open = 1 };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: knotmeter-emu [options] FIRMWARE.hex\n"
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
		"Control: JSON lines on stdin; events: JSON lines on stdout (see README.md).\n");
}

/* ------------------------------------------------------------------ globals */

static avr_t *avr;
static uart_pty_t pty;
static avr_uart_t *uart;
static avr_irq_t *uart_irqs;
static avr_irq_t *adc_irqs;
static avr_irq_t *portb_irqs;
static avr_irq_t *portd_irqs;
static FILE *events;
static int slave_fd = -1;
static volatile sig_atomic_t signal_quit;
static int quit_requested;
static const char *quit_reason = "quit";
static int halted_reported;

static void park_terminal_speed(void);

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cycles_to_us(avr_cycle_count_t cycles)
{
	return (uint64_t)(((unsigned __int128)cycles * 1000000u) / avr->frequency);
}

static uint64_t cycles_to_ns(avr_cycle_count_t cycles)
{
	return (uint64_t)(((unsigned __int128)cycles * 1000000000u) / avr->frequency);
}

static avr_cycle_count_t us_to_cycles(uint64_t us)
{
	return (avr_cycle_count_t)(((unsigned __int128)us * avr->frequency) / 1000000u);
}

static uint64_t emulated_us(void)
{
	return cycles_to_us(avr->cycle);
}

/* ------------------------------------------------------------------ events */

/* Writes `s` as a JSON string literal. */
static void put_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		switch (*c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*c < 0x20 || *c == 0x7f)
				fprintf(f, "\\u%04x", *c);
			else
				fputc(*c, f);
		}
	}
	fputc('"', f);
}

/* An event with a message field: {"event":name,[id,]"message":...}. */
static void emit_message(const char *name, const char *id, const char *message)
{
	fprintf(events, "{\"event\":\"%s\"", name);
	if (id)
		fprintf(events, ",\"id\":%s", id);
	fputs(",\"message\":", events);
	put_json_string(events, message);
	if (avr)
		fprintf(events, ",\"emulatedUs\":%" PRIu64, emulated_us());
	fputs("}\n", events);
}

static void emit_log(const char *level, const char *message)
{
	fprintf(events, "{\"event\":\"log\",\"level\":\"%s\",\"message\":", level);
	put_json_string(events, message);
	if (avr)
		fprintf(events, ",\"emulatedUs\":%" PRIu64, emulated_us());
	fputs("}\n", events);
}

static void fatal(const char *fmt, ...)
{
	char message[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	emit_message("fatal", NULL, message);
	fflush(events);
	exit(2);
}

/* simavr's own log lines (warnings and errors) become `log` events; trace is dropped. */
static unsigned log_budget = 50;
static uint64_t log_budget_wall_ns;
static unsigned log_suppressed;

static void simavr_logger(avr_t *logging_avr, const int level, const char *format, va_list ap)
{
	(void)logging_avr;
	if (level != LOG_ERROR && level != LOG_WARNING)
		return;
	uint64_t now = wall_ns();
	if (now - log_budget_wall_ns > 1000000000u) {
		log_budget_wall_ns = now;
		log_budget = 50;
	}
	if (log_budget == 0) {
		log_suppressed++;
		return;
	}
	log_budget--;
	char message[512];
	vsnprintf(message, sizeof(message), format, ap);
	/* simavr warns whenever an OCR register is written before its timer has a mode (a
	 * normal thing for a firmware to do at start-up): not worth an event */
	if (strstr(message, "avr_timer_write_ocr") && strstr(message, "mode 0 UNSUPPORTED"))
		return;
	size_t len = strlen(message);
	while (len && (message[len - 1] == '\n' || message[len - 1] == '\r' || message[len - 1] == ' '))
		message[--len] = 0;
	emit_log(level == LOG_ERROR ? "error" : "warning", message);
}

/* ------------------------------------------------------------------ register watches */

/*
 * Observing register writes. simavr 1.6 can share a register's write between callbacks,
 * but only on 4 registers in all (it aborts past that), so the watch wraps the register's
 * own handler instead: it calls it (or stores the value, where there is none), then looks.
 */
typedef void (*watch_fn)(void);
#define MAX_WATCHES 24
static struct watch {
	avr_io_write_t original;
	void *original_param;
	watch_fn fn;
} watches[MAX_WATCHES];
static int watch_count;

static void watch_write(avr_t *w_avr, avr_io_addr_t addr, uint8_t v, void *param)
{
	struct watch *w = param;
	if (w->original)
		w->original(w_avr, addr, v, w->original_param);
	else
		w_avr->data[addr] = v;
	w->fn();
}

static void watch_register(avr_io_addr_t addr, watch_fn fn)
{
	if (watch_count == MAX_WATCHES)
		fatal("internal: too many register watches");
	struct watch *w = &watches[watch_count++];
	avr_io_addr_t io = AVR_DATA_TO_IO(addr);
	w->original = avr->io[io].w.c;
	w->original_param = avr->io[io].w.param;
	w->fn = fn;
	avr->io[io].w.c = watch_write;
	avr->io[io].w.param = w;
}

/* ------------------------------------------------------------------ UART */

static struct {
	uint32_t cycles_per_bit, reported_cycles_per_bit;
	int frame_bits, reported_frame_bits;
	uint64_t changed_us;
	uint64_t avr_sent; /* bytes the AVR has sent towards the pty */
	uint64_t dropped_overrun, dropped_pty_full, dropped_unread, dropped_reported_overrun,
		dropped_reported_pty_full, dropped_reported_unread;
} link_state;

/*
 * simavr 1.6 counts a parity bit in every frame (11 bits for 8N1) and recomputes the
 * speed only when UBRR0L is written. Recompute it on every write that matters, with the
 * frame the registers actually describe. The change is reported once the firmware is
 * done configuring (at the end of the current slice), not after each register.
 */
static void uart_config_changed(void)
{
	uint8_t a = avr->data[R_UCSR0A], b = avr->data[R_UCSR0B], c = avr->data[R_UCSR0C];
	uint32_t ubrr = avr->data[R_UBRR0L] | ((uint32_t)(avr->data[R_UBRR0H] & 0x0f) << 8);
	uint32_t cycles_per_bit = (ubrr + 1) * ((a & (1 << BIT_U2X0)) ? 8u : 16u);
	int size = ((c >> 1) & 3) | ((b & (1 << BIT_UCSZ02)) ? 4 : 0);
	static const int data_bits[8] = { 5, 6, 7, 8, 8, 8, 8, 9 };
	int parity = ((c >> 4) & 3) ? 1 : 0;
	int stop = (c & (1 << BIT_USBS0)) ? 2 : 1;
	int frame_bits = 1 + data_bits[size] + parity + stop;
	uart->cycles_per_byte = (avr_cycle_count_t)cycles_per_bit * (avr_cycle_count_t)frame_bits;
	if (cycles_per_bit != link_state.cycles_per_bit || frame_bits != link_state.frame_bits) {
		link_state.cycles_per_bit = cycles_per_bit;
		link_state.frame_bits = frame_bits;
		link_state.changed_us = emulated_us();
	}
}

static void report_uart_config(void)
{
	if (!opt.uart_chip || (link_state.cycles_per_bit == link_state.reported_cycles_per_bit &&
			link_state.frame_bits == link_state.reported_frame_bits))
		return;
	link_state.reported_cycles_per_bit = link_state.cycles_per_bit;
	link_state.reported_frame_bits = link_state.frame_bits;
	fprintf(events, "{\"event\":\"uart\",\"baud\":%.1f,\"frameBits\":%d,\"emulatedUs\":%" PRIu64 "}\n",
		(double)avr->frequency / link_state.cycles_per_bit, link_state.frame_bits, link_state.changed_us);
}

/* Host -> AVR: bytes from the pty, delivered one per frame time. */
static uint8_t rxq[RXQ_BYTES];
static uint32_t rxq_head, rxq_len;
/* Our own flag: while rx_pacer runs, simavr has taken its timer off the list, so
 * avr_cycle_timer_status() would say it is not scheduled and a second one would start. */
static int pacer_armed;

static void uart_pty_pause(void)
{
	/* uart_pty stops on any change of the XOFF signal (it ignores the value). */
	avr_irq_t *xoff = uart_irqs + UART_IRQ_OUT_XOFF;
	avr_raise_irq(xoff, xoff->value ? 0 : 1);
}

static avr_cycle_count_t rx_pacer(avr_t *p_avr, avr_cycle_count_t when, void *param)
{
	(void)p_avr;
	(void)param;
	if (!rxq_len) {
		pacer_armed = 0;
		return 0;
	}
	uint8_t byte = rxq[rxq_head];
	rxq_head = (rxq_head + 1) % RXQ_BYTES;
	rxq_len--;
	if (avr->data[R_UCSR0B] & (1 << BIT_RXEN0)) {
		/* The chip holds two received bytes plus one in the shift register. */
		if (uart_fifo_get_read_size(&uart->input) >= 3) {
			link_state.dropped_overrun++;
			avr->data[R_UCSR0A] |= 1 << BIT_DOR0;
		} else {
			avr_raise_irq(uart_irqs + UART_IRQ_INPUT, byte);
		}
	}
	if (rxq_len <= RXQ_LOW)
		avr_raise_irq(uart_irqs + UART_IRQ_OUT_XON, 1); /* may call host_byte_hook */
	pacer_armed = rxq_len != 0;
	return pacer_armed ? when + uart->cycles_per_byte : 0;
}

static void host_byte_hook(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	(void)param;
	if (rxq_len == RXQ_BYTES) {
		link_state.dropped_overrun++;
		uart_pty_pause();
		return;
	}
	rxq[(rxq_head + rxq_len) % RXQ_BYTES] = (uint8_t)value;
	rxq_len++;
	if (rxq_len >= RXQ_HIGH)
		uart_pty_pause();
	if (!pacer_armed) {
		pacer_armed = 1;
		avr_cycle_timer_register(avr, uart->cycles_per_byte, rx_pacer, NULL);
	}
}

/*
 * AVR -> host, through uart_pty's 512-byte buffer (a full one drops the byte: counted).
 * With reset-on-open, nothing goes out before a host has opened the port: like an Uno's
 * USB bridge with no host listening; the reset at the open repeats the boot output anyway.
 */
static int output_open;

static void avr_byte_hook(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	(void)param;
	if (!output_open)
		return;
	link_state.avr_sent++;
	if (uart_pty_fifo_isfull(&pty.pty.in))
		link_state.dropped_pty_full++;
	else
		avr_raise_irq(pty.irq + IRQ_UART_PTY_BYTE_IN, value);
}

static void setup_uart(void)
{
	/* uart_pty opens a second "tap" pty (which rewrites \n and \r) and spawns an xterm when
	 * these are set; the harness only wants the plain, binary-clean pty. */
	unsetenv("SIMAVR_UART_TAP");
	unsetenv("SIMAVR_UART_XTERM");

	/* The pty thread must never take a signal: on EINTR it leaves its loop for good. */
	sigset_t all, previous;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &previous);
	uart_pty_init(avr, &pty);
	pthread_sigmask(SIG_SETMASK, &previous, NULL);
	if (!pty.pty.s)
		fatal("could not create a pseudo-terminal");
	uart_pty_connect(&pty, '0');

	/* uart_pty_connect points /tmp/simavr-uart0 at the pty; instances running side by side
	 * would fight over it, so remove it when it is ours. */
	char target[sizeof(pty.pty.slavename)];
	ssize_t n = readlink("/tmp/simavr-uart0", target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = 0;
		if (!strcmp(target, pty.pty.slavename))
			unlink("/tmp/simavr-uart0");
	}

	for (avr_io_t *io = avr->io_port; io; io = io->next)
		if (!strcmp(io->kind, "uart") && ((avr_uart_t *)io)->name == '0')
			uart = (avr_uart_t *)io;
	uart_irqs = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), 0);
	if (!uart || !uart_irqs)
		fatal("internal: UART0 not found in the simavr core");

	/* No usleep() on status polls (AVR_UART_FLAG_POLL_SLEEP) and no stdout echo: this
	 * harness does its own pacing, and a firmware spinning on UDRE would otherwise run
	 * many times slower than the chip. */
	uint32_t flags = 0;
	avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);

	avr_unconnect_irq(uart_irqs + UART_IRQ_OUTPUT, pty.irq + IRQ_UART_PTY_BYTE_IN);
	avr_irq_register_notify(uart_irqs + UART_IRQ_OUTPUT, avr_byte_hook, NULL);
	output_open = !opt.reset_on_open;
	if (opt.uart_chip) {
		avr_unconnect_irq(pty.irq + IRQ_UART_PTY_BYTE_OUT, uart_irqs + UART_IRQ_INPUT);
		avr_irq_register_notify(pty.irq + IRQ_UART_PTY_BYTE_OUT, host_byte_hook, NULL);
		watch_register(R_UBRR0L, uart_config_changed);
		watch_register(R_UBRR0H, uart_config_changed);
		watch_register(R_UCSR0A, uart_config_changed);
		watch_register(R_UCSR0B, uart_config_changed);
		watch_register(R_UCSR0C, uart_config_changed);
	}

	/* A descriptor of our own on the pty's terminal side, to see whether anyone reads it. */
	slave_fd = open(pty.pty.slavename, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (slave_fd < 0)
		fatal("cannot open %s: %s", pty.pty.slavename, strerror(errno));
	park_terminal_speed();
}

/* ------------------------------------------------------------------ pins */

typedef struct {
	int active;
	double duty;
	double frequency_hz; /* < 0: unknown (external timer clock) */
} pwm_t;

typedef struct {
	const char *name;
	char port;
	int bit;
	int timer; /* 0: none, 1: timer0 OC0A, 2: timer1 OC1A */
	avr_irq_t *irq;
	int reported;
	double level;
	pwm_t pwm;
} watched_pin_t;

static watched_pin_t pins[] = {
	{ .name = "D13", .port = 'B', .bit = 5, .timer = 0 },
	{ .name = "D6", .port = 'D', .bit = 6, .timer = 1 },
	{ .name = "D9", .port = 'B', .bit = 1, .timer = 2 },
};
#define PIN_COUNT (sizeof(pins) / sizeof(pins[0]))

static void report_pin(watched_pin_t *p, double level, pwm_t pwm)
{
	int same_pwm = pwm.active == p->pwm.active && (!pwm.active ||
		(pwm.duty == p->pwm.duty && pwm.frequency_hz == p->pwm.frequency_hz));
	if (p->reported && level == p->level && same_pwm)
		return;
	p->reported = 1;
	p->level = level;
	p->pwm = pwm;
	fprintf(events, "{\"event\":\"pin\",\"pin\":\"%s\",\"level\":%.17g,\"emulatedUs\":%" PRIu64 ",\"pwm\":",
		p->name, level, emulated_us());
	if (!pwm.active)
		fputs("null", events);
	else if (pwm.frequency_hz < 0)
		fprintf(events, "{\"dutyRatio\":%.17g,\"frequencyHz\":null}", pwm.duty);
	else
		fprintf(events, "{\"dutyRatio\":%.17g,\"frequencyHz\":%.17g}", pwm.duty, pwm.frequency_hz);
	fputs("}\n", events);
}

static int resetting;

static void pin_hook(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	watched_pin_t *p = param;
	if (resetting && !p->reported)
		return; /* a pin nobody has driven yet does not "change" at a reset */
	if (p->pwm.active)
		return; /* the timer toggles it; the PWM report stands for those edges */
	pwm_t none = { 0 };
	report_pin(p, (value & 0xff) ? 1 : 0, none);
}

enum { WAVE_NORMAL, WAVE_CTC, WAVE_FAST, WAVE_PHASE };
static const unsigned prescalers[8] = { 0, 1, 8, 64, 256, 1024, 0, 0 };

/* The waveform of an output-compare pin, from the timer's mode (datasheet, 14.7 / 15.9). */
static pwm_t waveform(int kind, unsigned top, unsigned ocr, int com, int ocr_is_top, int cs)
{
	pwm_t none = { 0 }, r = { .active = 1 };
	double period_clocks;
	if (com == 0 || cs == 0)
		return none;
	if (com == 1) {
		/* toggle on compare match: a square wave where the mode connects it */
		switch (kind) {
		case WAVE_NORMAL:
		case WAVE_CTC: period_clocks = 2.0 * (top + 1.0); break;
		case WAVE_FAST: if (!ocr_is_top) return none; period_clocks = 2.0 * (top + 1.0); break;
		default: if (!ocr_is_top) return none; period_clocks = 4.0 * top; break;
		}
		r.duty = 0.5;
	} else {
		switch (kind) {
		case WAVE_FAST:
			r.duty = ocr >= top ? 1.0 : (ocr + 1.0) / (top + 1.0);
			period_clocks = top + 1.0;
			break;
		case WAVE_PHASE:
			r.duty = top == 0 ? 0.0 : (ocr >= top ? 1.0 : (double)ocr / top);
			period_clocks = 2.0 * top;
			break;
		default:
			return none; /* set/clear on match: a level, reported as pin changes */
		}
		if (com == 3)
			r.duty = 1.0 - r.duty;
	}
	unsigned n = prescalers[cs];
	r.frequency_hz = (n && period_clocks > 0) ? (double)avr->frequency / (n * period_clocks) : -1;
	return r;
}

static pwm_t timer0_oc0a(void)
{
	pwm_t none = { 0 };
	uint8_t a = avr->data[R_TCCR0A], b = avr->data[R_TCCR0B];
	if (!(avr->data[R_DDRD] & (1 << 6)))
		return none;
	int wgm = (a & 3) | ((b & 0x08) >> 1), com = (a >> 6) & 3, cs = b & 7;
	unsigned ocr = avr->data[R_OCR0A];
	switch (wgm) {
	case 0: return waveform(WAVE_NORMAL, 0xff, ocr, com, 0, cs);
	case 1: return waveform(WAVE_PHASE, 0xff, ocr, com, 0, cs);
	case 2: return waveform(WAVE_CTC, ocr, ocr, com, 1, cs);
	case 3: return waveform(WAVE_FAST, 0xff, ocr, com, 0, cs);
	case 5: return waveform(WAVE_PHASE, ocr, ocr, com, 1, cs);
	case 7: return waveform(WAVE_FAST, ocr, ocr, com, 1, cs);
	default: return none;
	}
}

static pwm_t timer1_oc1a(void)
{
	pwm_t none = { 0 };
	uint8_t a = avr->data[R_TCCR1A], b = avr->data[R_TCCR1B];
	if (!(avr->data[R_DDRB] & (1 << 1)))
		return none;
	int wgm = (a & 3) | ((b & 0x18) >> 1), com = (a >> 6) & 3, cs = b & 7;
	unsigned ocr = avr->data[R_OCR1AL] | (avr->data[R_OCR1AH] << 8);
	unsigned icr = avr->data[R_ICR1L] | (avr->data[R_ICR1H] << 8);
	switch (wgm) {
	case 0: return waveform(WAVE_NORMAL, 0xffff, ocr, com, 0, cs);
	case 1: return waveform(WAVE_PHASE, 0xff, ocr, com, 0, cs);
	case 2: return waveform(WAVE_PHASE, 0x1ff, ocr, com, 0, cs);
	case 3: return waveform(WAVE_PHASE, 0x3ff, ocr, com, 0, cs);
	case 4: return waveform(WAVE_CTC, ocr, ocr, com, 1, cs);
	case 5: return waveform(WAVE_FAST, 0xff, ocr, com, 0, cs);
	case 6: return waveform(WAVE_FAST, 0x1ff, ocr, com, 0, cs);
	case 7: return waveform(WAVE_FAST, 0x3ff, ocr, com, 0, cs);
	case 8: return waveform(WAVE_PHASE, icr, ocr, com, 0, cs);
	case 9: return waveform(WAVE_PHASE, ocr, ocr, com, 1, cs);
	case 10: return waveform(WAVE_PHASE, icr, ocr, com, 0, cs);
	case 11: return waveform(WAVE_PHASE, ocr, ocr, com, 1, cs);
	case 12: return waveform(WAVE_CTC, icr, ocr, com, 0, cs);
	case 14: return waveform(WAVE_FAST, icr, ocr, com, 0, cs);
	case 15: return waveform(WAVE_FAST, ocr, ocr, com, 1, cs);
	default: return none;
	}
}

/* After a write to a timer or direction register: has a pin's PWM started, changed or stopped? */
static void pwm_config_changed(void)
{
	for (size_t i = 0; i < PIN_COUNT; i++) {
		watched_pin_t *p = &pins[i];
		if (!p->timer)
			continue;
		pwm_t now = p->timer == 1 ? timer0_oc0a() : timer1_oc1a();
		if (now.active) {
			report_pin(p, now.duty, now);
		} else if (p->pwm.active) {
			/* the timer let go: the PORT bit drives the pin again */
			uint8_t port = avr->data[p->port == 'B' ? R_PORTB : R_PORTD];
			report_pin(p, (port >> p->bit) & 1, now);
		}
	}
}

static void setup_pins(void)
{
	portb_irqs = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('B'), 0);
	portd_irqs = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 0);
	if (!portb_irqs || !portd_irqs)
		fatal("internal: ports B/D not found in the simavr core");
	for (size_t i = 0; i < PIN_COUNT; i++) {
		watched_pin_t *p = &pins[i];
		p->irq = (p->port == 'B' ? portb_irqs : portd_irqs) + p->bit;
		avr_irq_register_notify(p->irq, pin_hook, p);
	}
	static const avr_io_addr_t pwm_registers[] = {
		R_TCCR0A, R_TCCR0B, R_OCR0A, R_TCCR1A, R_TCCR1B, R_OCR1AL, R_OCR1AH, R_ICR1L, R_ICR1H,
		R_DDRB, R_DDRD,
	};
	for (size_t i = 0; i < sizeof(pwm_registers) / sizeof(pwm_registers[0]); i++)
		watch_register(pwm_registers[i], pwm_config_changed);
}

/* ------------------------------------------------------------------ HX711 */

static struct {
	int32_t input;          /* channel A at gain 128, as the 24-bit code */
	int connected;          /* 0: unplugged, DOUT held high by the board's pull-up */
	int powered;
	int dout;
	int ready;              /* a conversion waits to be read (DOUT low) */
	int reading_valid;      /* the current read started on ready data */
	uint32_t word;          /* the 24 bits being shifted out */
	int pulses;             /* SCK pulses in the current read */
	int gain_pulses;        /* 25: A/128, 26: B/32, 27: A/64 */
	int sck;
	avr_cycle_count_t next_conversion;
	avr_cycle_count_t power_down_at; /* 0: no pending SCK-high timeout */
	int warned_not_ready;
} hx;

static avr_cycle_count_t hx711_period(void)
{
	return avr->frequency / (uint32_t)opt.hx711_rate_hz;
}

static void hx711_set_dout(int level)
{
	hx.dout = level;
	/* Keep D2 at this level whatever the firmware does to PORTD/DDRD (and after a reset,
	 * which clears the PIN registers without raising the pin's IRQ). */
	avr_ioport_external_t external = { .name = 'D', .mask = 1 << 2, .value = (unsigned)(level << 2) };
	avr_ioctl(avr, AVR_IOCTL_IOPORT_SET_EXTERNAL('D'), &external);
	avr_raise_irq(portd_irqs + 2, level);
	if (level)
		avr->data[R_PIND] |= 1 << 2;
	else
		avr->data[R_PIND] &= ~(1 << 2);
}

static void emit_hx711(const char *state)
{
	const char *channel = hx.gain_pulses == 26 ? "B" : "A";
	int gain = hx.gain_pulses == 26 ? 32 : hx.gain_pulses == 27 ? 64 : 128;
	fprintf(events, "{\"event\":\"hx711\",\"state\":\"%s\",\"channel\":\"%s\",\"gain\":%d,\"emulatedUs\":%" PRIu64 "}\n",
		state, channel, gain, emulated_us());
}

static avr_cycle_count_t hx711_convert(avr_t *c_avr, avr_cycle_count_t when, void *param)
{
	(void)c_avr;
	(void)param;
	if (!hx.powered)
		return 0;
	hx.next_conversion = when + hx711_period();
	if (hx.pulses > 0 && hx.pulses < 25)
		return hx.next_conversion; /* a read is under way: its data stays put */
	if (hx.pulses >= 25) {
		int selected = hx.pulses > 27 ? 27 : hx.pulses;
		if (selected != hx.gain_pulses) {
			hx.gain_pulses = selected;
			emit_hx711("gain");
		}
		hx.pulses = 0;
	}
	int32_t value = 0;
	if (hx.gain_pulses == 25)
		value = hx.input;
	else if (hx.gain_pulses == 27)
		value = hx.input / 2; /* channel A at gain 64 */
	/* channel B (gain 32) has nothing connected: it reads 0 */
	hx.word = (uint32_t)value & 0xffffff;
	hx.ready = 1;
	hx711_set_dout(0);
	if (opt.hx711_data_events)
		fprintf(events, "{\"event\":\"hx711Data\",\"raw\":%" PRId32 ",\"emulatedUs\":%" PRIu64 "}\n",
			value, cycles_to_us(when));
	return hx.next_conversion;
}

static avr_cycle_count_t hx711_power_down(avr_t *p_avr, avr_cycle_count_t when, void *param)
{
	(void)p_avr;
	(void)when;
	(void)param;
	hx.power_down_at = 0;
	if (!hx.powered || !hx.sck)
		return 0;
	hx.powered = 0;
	hx.ready = 0;
	hx.pulses = 0;
	avr_cycle_timer_cancel(avr, hx711_convert, NULL);
	hx711_set_dout(1);
	emit_hx711("powerDown");
	return 0;
}

static void hx711_power_up(void)
{
	/* Power-on reset: channel A, gain 128; the first data after the settling time
	 * (datasheet: 400 ms at 10 Hz, 50 ms at 80 Hz, i.e. four conversion periods). */
	hx.powered = 1;
	hx.ready = 0;
	hx.pulses = 0;
	hx.gain_pulses = 25;
	hx711_set_dout(1);
	hx.next_conversion = avr->cycle + 4 * hx711_period();
	avr_cycle_timer_register(avr, 4 * hx711_period(), hx711_convert, NULL);
}

static void hx711_sck_hook(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	(void)param;
	int level = (value & 0xff) ? 1 : 0;
	if (level == hx.sck)
		return;
	hx.sck = level;
	if (!hx.connected)
		return; /* SCK leads nowhere */
	if (level) {
		hx.power_down_at = avr->cycle + us_to_cycles(HX711_POWER_DOWN_US);
		avr_cycle_timer_register(avr, us_to_cycles(HX711_POWER_DOWN_US), hx711_power_down, NULL);
		if (!hx.powered)
			return;
		if (hx.pulses == 0) {
			hx.reading_valid = hx.ready;
			hx.ready = 0;
			if (!hx.reading_valid && !hx.warned_not_ready) {
				hx.warned_not_ready = 1;
				emit_log("warning", "HX711 clocked while DOUT was high (no conversion ready): it shifts out ones");
			}
		}
		hx.pulses++;
		if (hx.pulses <= 24)
			hx711_set_dout(hx.reading_valid ? (int)((hx.word >> (24 - hx.pulses)) & 1) : 1);
		else
			hx711_set_dout(1); /* from the 25th pulse on, DOUT stays high until the next conversion */
	} else {
		hx.power_down_at = 0;
		avr_cycle_timer_cancel(avr, hx711_power_down, NULL);
		if (!hx.powered) {
			hx711_power_up();
			emit_hx711("powerUp");
		}
	}
}

/* Unplugged: no conversions, SCK leads nowhere, DOUT held high (as by a pull-up on D2, the
 * wiring device/PROTOCOL.md asks for, so the firmware sees an HX711 that is never ready). */
static void hx711_disconnect(void)
{
	if (!hx.connected)
		return;
	hx.connected = 0;
	hx.powered = 0;
	hx.ready = 0;
	hx.pulses = 0;
	hx.power_down_at = 0;
	avr_cycle_timer_cancel(avr, hx711_convert, NULL);
	avr_cycle_timer_cancel(avr, hx711_power_down, NULL);
	hx711_set_dout(1);
}

/* Plugged in again: it powers on (channel A, gain 128, first data after the settling time),
 * or, while SCK is high, stays powered down until SCK falls. */
static void hx711_connect(void)
{
	if (hx.connected)
		return;
	hx.connected = 1;
	if (!hx.sck)
		hx711_power_up();
}

static void setup_hx711(void)
{
	hx.input = 0;
	hx.sck = 0;
	hx.connected = 1;
	hx711_power_up();
	avr_irq_register_notify(portd_irqs + 3, hx711_sck_hook, NULL);
}

/* ------------------------------------------------------------------ inputs and schedules */

#define TARGET_COUNT 9 /* adc0..adc7, hx711 */
#define TARGET_HX711 8

typedef struct {
	avr_cycle_count_t cycle;
	int32_t value;
} point_t;

static struct schedule {
	int target;
	point_t *points;
	size_t head, len, cap;
	int32_t current;
} schedules[TARGET_COUNT];

static void apply_value(int target, int32_t value)
{
	schedules[target].current = value;
	if (target == TARGET_HX711)
		hx.input = value;
	else
		avr_raise_irq(adc_irqs + ADC_IRQ_ADC0 + target, (uint32_t)value);
}

static avr_cycle_count_t schedule_timer(avr_t *s_avr, avr_cycle_count_t when, void *param)
{
	(void)s_avr;
	struct schedule *s = param;
	while (s->len && s->points[s->head].cycle <= when) {
		apply_value(s->target, s->points[s->head].value);
		s->head++;
		s->len--;
	}
	if (!s->len) {
		s->head = 0;
		return 0;
	}
	return s->points[s->head].cycle;
}

static void schedule_clear(struct schedule *s)
{
	avr_cycle_timer_cancel(avr, schedule_timer, s);
	s->head = s->len = 0;
}

static void schedule_arm(struct schedule *s)
{
	while (s->len && s->points[s->head].cycle <= avr->cycle) {
		apply_value(s->target, s->points[s->head].value);
		s->head++;
		s->len--;
	}
	if (!s->len) {
		s->head = 0;
		avr_cycle_timer_cancel(avr, schedule_timer, s);
		return;
	}
	avr_cycle_timer_register(avr, s->points[s->head].cycle - avr->cycle, schedule_timer, s);
}

static void setup_inputs(void)
{
	avr->vcc = avr->avcc = avr->aref = VCC_MILLIVOLTS;
	adc_irqs = avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, 0);
	if (!adc_irqs)
		fatal("internal: ADC not found in the simavr core");
	for (int i = 0; i < TARGET_COUNT; i++) {
		schedules[i].target = i;
		apply_value(i, 0);
	}
}

/* ------------------------------------------------------------------ external interrupts */

/*
 * simavr 1.6 emulates a low-level INT0/INT1 (the reset default, ISC = 00) by polling the
 * pin on every single cycle while it is low, whether or not the interrupt is enabled; D2
 * and D3 are INT0 and INT1, so an idle HX711 (DOUT low) or a low SCK would slow the whole
 * emulation by a quarter. Keep that polling only where the firmware asks for it: interrupt
 * enabled in EIMSK and set to low level in EICRA. simavr re-enables it on every reset.
 */
static void extint_config_changed(void)
{
	for (uint8_t n = 0; n < 2; n++) {
		int enabled = (avr->data[R_EIMSK] >> n) & 1;
		int low_level = ((avr->data[R_EICRA] >> (2 * n)) & 3) == 0;
		avr_extint_set_strict_lvl_trig(avr, n, enabled && low_level);
	}
}

/* simavr's UART reset sets TXEN0 ("to allow printf without fiddling"); the chip clears it,
 * and a firmware that forgets to enable its transmitter must stay silent. */
static void uart_transmitter_off(void)
{
	if (opt.uart_chip)
		avr->data[R_UCSR0B] &= ~(1 << BIT_TXEN0);
}

/* One cycle after a reset, once every peripheral has run its own reset. */
static avr_cycle_count_t after_reset(avr_t *e_avr, avr_cycle_count_t when, void *param)
{
	(void)e_avr;
	(void)when;
	(void)param;
	extint_config_changed();
	uart_transmitter_off();
	return 0;
}

static void setup_extint(void)
{
	watch_register(R_EIMSK, extint_config_changed);
	watch_register(R_EICRA, extint_config_changed);
	extint_config_changed();
}

/* ------------------------------------------------------------------ reset hook */

static uint64_t resets;

/* Runs on every AVR reset (watchdog, or the `reset` command), after simavr has cleared
 * the I/O registers and every cycle timer. */
static void on_avr_reset(avr_io_t *io)
{
	(void)io;
	resets++;
	pwm_t none = { 0 };
	resetting = 1;
	for (size_t i = 0; i < PIN_COUNT; i++) {
		/* every pin is an input again: not driven */
		if (pins[i].reported)
			report_pin(&pins[i], 0, none);
		avr_raise_irq(pins[i].irq, 0);
	}
	resetting = 0;
	link_state.cycles_per_bit = link_state.reported_cycles_per_bit = 0;
	link_state.frame_bits = link_state.reported_frame_bits = 0;
	avr_cycle_timer_register(avr, 1, after_reset, NULL);
	pacer_armed = rxq_len != 0;
	if (pacer_armed)
		avr_cycle_timer_register(avr, uart->cycles_per_byte, rx_pacer, NULL);
	for (int i = 0; i < TARGET_COUNT; i++)
		if (schedules[i].len)
			schedule_arm(&schedules[i]);
	if (opt.hx711) {
		avr_raise_irq(portd_irqs + 3, 0);
		hx711_set_dout(hx.dout);
		if (hx.powered) {
			avr_cycle_count_t next = hx.next_conversion > avr->cycle ? hx.next_conversion - avr->cycle : 1;
			avr_cycle_timer_register(avr, next, hx711_convert, NULL);
		}
	}
	fprintf(events, "{\"event\":\"reset\",\"emulatedUs\":%" PRIu64 "}\n", emulated_us());
}

static avr_io_t reset_io = { .kind = "knotmeter-reset", .reset = on_avr_reset };

/* ------------------------------------------------------------------ EEPROM */

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
	if (opt.eeprom_path) {
		int fd = open(opt.eeprom_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			uint8_t buffer[EEPROM_BYTES + 1];
			ssize_t n = read(fd, buffer, sizeof(buffer));
			close(fd);
			if (n != EEPROM_BYTES)
				fatal("%s: an EEPROM file must hold exactly %u bytes", opt.eeprom_path, EEPROM_BYTES);
			memcpy(eeprom_live, buffer, EEPROM_BYTES);
			loaded = 1;
		} else if (errno != ENOENT) {
			fatal("%s: %s", opt.eeprom_path, strerror(errno));
		}
	}
	if (!loaded && hex_image)
		memcpy(eeprom_live, hex_image, hex_len);
	memcpy(eeprom_saved, eeprom_live, EEPROM_BYTES);
}

static void eeprom_save_if_changed(void)
{
	if (!opt.eeprom_path || !memcmp(eeprom_saved, eeprom_live, EEPROM_BYTES))
		return;
	char temporary[4096];
	snprintf(temporary, sizeof(temporary), "%s.%d.tmp", opt.eeprom_path, (int)getpid());
	int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, eeprom_live, EEPROM_BYTES) != (ssize_t)EEPROM_BYTES || fsync(fd) != 0 ||
			close(fd) != 0 || rename(temporary, opt.eeprom_path) != 0) {
		char message[4200];
		snprintf(message, sizeof(message), "cannot save the EEPROM to %s: %s", opt.eeprom_path, strerror(errno));
		emit_message("error", NULL, message);
		if (fd >= 0)
			unlink(temporary);
		opt.eeprom_path = NULL;
		return;
	}
	memcpy(eeprom_saved, eeprom_live, EEPROM_BYTES);
}

/* ------------------------------------------------------------------ firmware */

static void load_firmware(void)
{
	ihex_chunk_p chunks = NULL;
	int count = read_ihex_chunks(opt.hex_path, &chunks);
	if (count <= 0)
		fatal("%s: not a readable Intel hex file", opt.hex_path);
	uint8_t *eeprom_image = NULL;
	size_t eeprom_len = 0, flash_bytes = 0;
	for (int i = 0; i < count; i++) {
		ihex_chunk_t *c = &chunks[i];
		if (c->baseaddr < FLASH_BYTES) {
			if (c->baseaddr + c->size > FLASH_BYTES)
				fatal("%s: %u bytes at 0x%x do not fit the 32 KiB flash", opt.hex_path, c->size, c->baseaddr);
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
			fatal("%s: a segment at 0x%x is neither flash nor EEPROM of an ATmega328P", opt.hex_path, c->baseaddr);
		}
	}
	free_ihex_chunks(chunks);
	if (!flash_bytes)
		fatal("%s: no program in it", opt.hex_path);
	avr->codeend = avr->flashend;
	eeprom_attach(eeprom_image, eeprom_len);
	free(eeprom_image);
}

/* ------------------------------------------------------------------ commands */

static void reply_ok(const char *id, const char *cmd)
{
	fprintf(events, "{\"event\":\"ok\",\"id\":%s,\"cmd\":\"%s\",\"emulatedUs\":%" PRIu64 "}\n",
		id, cmd, emulated_us());
}

static int parse_target(const char *name)
{
	if (!strcmp(name, "hx711"))
		return TARGET_HX711;
	if (!strncmp(name, "adc", 3) && name[3] >= '0' && name[3] <= '7' && name[4] == 0)
		return name[3] - '0';
	return -1;
}

static const char *check_value(int target, double value)
{
	if (value != floor(value))
		return "values must be integers";
	if (target == TARGET_HX711)
		return value >= HX711_MIN && value <= HX711_MAX ? NULL : "an HX711 value is a signed 24-bit integer (-8388608..8388607)";
	return value >= 0 && value <= VCC_MILLIVOLTS ? NULL : "ADC input must be 0..5000 millivolts (AVCC)";
}

static void command_schedule(jparser_t *j, jnode_t *root, const char *id)
{
	jnode_t *target_node = jmember(j, root, "target");
	jnode_t *points = jmember(j, root, "points");
	jnode_t *replace = jmember(j, root, "replace");
	int target = target_node && target_node->type == JT_STRING ? parse_target(target_node->string) : -1;
	if (target < 0) {
		emit_message("error", id, "schedule: target must be \"adc0\"..\"adc7\" or \"hx711\"");
		return;
	}
	if (target == TARGET_HX711 && !opt.hx711) {
		emit_message("error", id, "schedule: no HX711 attached (start with --hx711)");
		return;
	}
	if (!points || points->type != JT_ARRAY) {
		emit_message("error", id, "schedule: points must be an array of [emulatedUs, value] pairs");
		return;
	}
	if (replace && replace->type != JT_TRUE && replace->type != JT_FALSE) {
		emit_message("error", id, "schedule: replace must be true or false");
		return;
	}
	struct schedule *s = &schedules[target];
	int replacing = replace && replace->type == JT_TRUE;
	avr_cycle_count_t previous = (!replacing && s->len) ? s->points[s->head + s->len - 1].cycle : 0;
	size_t count = 0;
	for (int c = points->child; c >= 0; c = j->nodes[c].next) {
		jnode_t *pair = &j->nodes[c];
		jnode_t *t = pair->type == JT_ARRAY && pair->child >= 0 ? &j->nodes[pair->child] : NULL;
		jnode_t *v = t && t->next >= 0 ? &j->nodes[t->next] : NULL;
		if (!t || !v || v->next >= 0 || !is_integer(t, 0, 9.0e15) || v->type != JT_NUMBER) {
			emit_message("error", id, "schedule: each point is [emulatedUs, value] with an integer time");
			return;
		}
		const char *problem = check_value(target, v->number);
		if (problem) {
			emit_message("error", id, problem);
			return;
		}
		avr_cycle_count_t cycle = us_to_cycles((uint64_t)t->number);
		if (cycle < previous) {
			emit_message("error", id, "schedule: times must not decrease (nor go before the points already queued)");
			return;
		}
		previous = cycle;
		count++;
	}
	if (replacing)
		schedule_clear(s);
	if (s->head + s->len + count > s->cap) {
		if (s->head) {
			memmove(s->points, s->points + s->head, s->len * sizeof(point_t));
			s->head = 0;
		}
		if (s->len + count > s->cap) {
			s->cap = (s->len + count) * 2;
			s->points = realloc(s->points, s->cap * sizeof(point_t));
		}
	}
	for (int c = points->child; c >= 0; c = j->nodes[c].next) {
		jnode_t *t = &j->nodes[j->nodes[c].child];
		jnode_t *v = &j->nodes[t->next];
		point_t *p = &s->points[s->head + s->len++];
		p->cycle = us_to_cycles((uint64_t)t->number);
		p->value = (int32_t)v->number;
	}
	schedule_arm(s);
	fprintf(events, "{\"event\":\"ok\",\"id\":%s,\"cmd\":\"schedule\",\"queued\":%zu,\"emulatedUs\":%" PRIu64 "}\n",
		id, s->len, emulated_us());
}

static int only_members(jparser_t *j, jnode_t *root, const char *const *allowed, const char *id)
{
	for (int c = root->child; c >= 0; c = j->nodes[c].next) {
		const char *key = j->nodes[c].key;
		int known = !strcmp(key, "cmd") || !strcmp(key, "id");
		for (const char *const *a = allowed; *a && !known; a++)
			known = !strcmp(key, *a);
		if (!known) {
			char message[300];
			snprintf(message, sizeof(message), "unknown member \"%.200s\"", key);
			emit_message("error", id, message);
			return 0;
		}
	}
	return 1;
}

static void handle_line(const char *line, size_t len)
{
	jparser_t j = { .p = line, .end = line + len };
	int root_index = jparse_document(&j);
	if (root_index < 0 || j.nodes[root_index].type != JT_OBJECT) {
		char message[200];
		snprintf(message, sizeof(message), "not a JSON object: %s", j.error ? j.error : "expected {...}");
		emit_message("error", NULL, message);
		jfree(&j);
		return;
	}
	jnode_t *root = &j.nodes[root_index];
	char id[128] = "null";
	jnode_t *id_node = jmember(&j, root, "id");
	if (id_node) {
		if ((id_node->type != JT_NUMBER && id_node->type != JT_STRING) || id_node->raw_len >= sizeof(id)) {
			emit_message("error", NULL, "id must be a number or a string of under 120 characters");
			jfree(&j);
			return;
		}
		memcpy(id, id_node->raw, id_node->raw_len);
		id[id_node->raw_len] = 0;
	}
	jnode_t *cmd_node = jmember(&j, root, "cmd");
	const char *cmd = cmd_node && cmd_node->type == JT_STRING ? cmd_node->string : "";

	if (!strcmp(cmd, "adc")) {
		static const char *const allowed[] = { "channel", "millivolts", NULL };
		if (only_members(&j, root, allowed, id)) {
			jnode_t *channel = jmember(&j, root, "channel");
			jnode_t *mv = jmember(&j, root, "millivolts");
			if (channel && !is_integer(channel, 0, 7))
				emit_message("error", id, "adc: channel must be 0..7");
			else if (!mv || mv->type != JT_NUMBER || check_value(0, mv->number))
				emit_message("error", id, "adc: millivolts must be an integer 0..5000");
			else {
				int target = channel ? (int)channel->number : 0;
				schedule_clear(&schedules[target]);
				apply_value(target, (int32_t)mv->number);
				reply_ok(id, "adc");
			}
		}
	} else if (!strcmp(cmd, "hx711")) {
		static const char *const allowed[] = { "raw", "connected", NULL };
		if (only_members(&j, root, allowed, id)) {
			jnode_t *raw = jmember(&j, root, "raw");
			jnode_t *connected = jmember(&j, root, "connected");
			if (!opt.hx711)
				emit_message("error", id, "hx711: no HX711 attached (start with --hx711)");
			else if (!raw && !connected)
				emit_message("error", id, "hx711: give raw, connected, or both");
			else if (raw && (raw->type != JT_NUMBER || check_value(TARGET_HX711, raw->number)))
				emit_message("error", id, "hx711: raw must be a signed 24-bit integer (-8388608..8388607)");
			else if (connected && connected->type != JT_TRUE && connected->type != JT_FALSE)
				emit_message("error", id, "hx711: connected must be true or false");
			else {
				if (raw) {
					schedule_clear(&schedules[TARGET_HX711]);
					apply_value(TARGET_HX711, (int32_t)raw->number);
				}
				if (connected && connected->type == JT_TRUE)
					hx711_connect();
				else if (connected)
					hx711_disconnect();
				reply_ok(id, "hx711");
			}
		}
	} else if (!strcmp(cmd, "schedule")) {
		static const char *const allowed[] = { "target", "points", "replace", NULL };
		if (only_members(&j, root, allowed, id))
			command_schedule(&j, root, id);
	} else if (!strcmp(cmd, "time")) {
		static const char *const allowed[] = { NULL };
		if (only_members(&j, root, allowed, id))
			fprintf(events, "{\"event\":\"time\",\"id\":%s,\"emulatedUs\":%" PRIu64 "}\n", id, emulated_us());
	} else if (!strcmp(cmd, "reset")) {
		static const char *const allowed[] = { NULL };
		if (only_members(&j, root, allowed, id)) {
			avr_reset(avr);
			halted_reported = 0;
			reply_ok(id, "reset");
		}
	} else if (!strcmp(cmd, "quit")) {
		static const char *const allowed[] = { NULL };
		if (only_members(&j, root, allowed, id)) {
			reply_ok(id, "quit");
			quit_requested = 1;
			quit_reason = "quit";
		}
	} else {
		emit_message("error", id, "unknown cmd (adc, hx711, schedule, time, reset, quit)");
	}
	jfree(&j);
}

static char *line_buffer;
static size_t line_len, line_cap;
static int line_discarding;

/* Reads what stdin has (it is readable), and handles each complete line. */
static void read_control(void)
{
	char chunk[65536];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		quit_requested = 1;
		quit_reason = "stdin-error";
		return;
	}
	if (n == 0) {
		quit_requested = 1;
		quit_reason = "stdin-closed";
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		char c = chunk[i];
		if (c == '\n') {
			if (line_discarding)
				emit_message("error", NULL, "control line longer than 8 MiB: ignored");
			else if (line_len)
				handle_line(line_buffer, line_len);
			line_len = 0;
			line_discarding = 0;
			continue;
		}
		if (line_discarding)
			continue;
		if (line_len == MAX_LINE_BYTES) {
			line_discarding = 1;
			continue;
		}
		if (line_len == line_cap) {
			line_cap = line_cap ? line_cap * 2 : 4096;
			line_buffer = realloc(line_buffer, line_cap);
		}
		line_buffer[line_len++] = c;
	}
}

/* ------------------------------------------------------------------ housekeeping */

static void report_drops(void)
{
	uint64_t *totals[3] = { &link_state.dropped_overrun, &link_state.dropped_pty_full, &link_state.dropped_unread };
	uint64_t *reported[3] = { &link_state.dropped_reported_overrun, &link_state.dropped_reported_pty_full,
		&link_state.dropped_reported_unread };
	static const char *const reasons[3] = { "overrun", "ptyFull", "unread" };
	for (int i = 0; i < 3; i++) {
		if (*totals[i] == *reported[i])
			continue;
		fprintf(events, "{\"event\":\"serialDropped\",\"reason\":\"%s\",\"bytes\":%" PRIu64 ",\"emulatedUs\":%" PRIu64 "}\n",
			reasons[i], *totals[i] - *reported[i], emulated_us());
		*reported[i] = *totals[i];
	}
}

/* UART output that nobody reads piles up in the pty (and, past ~64 KiB, blocks uart_pty's
 * thread and with it the other direction). Output unread for opt.drop_unread_ms is
 * dropped, as on a serial line with nobody listening. */
static struct {
	uint64_t progress_ns, progress_sent;
	int progress_pending, last_pending;
} unread = { .last_pending = -1 };

/* A host has just opened the port: it gets the full grace period to start reading. */
static void unread_restart(void)
{
	unread.last_pending = -1;
}

static void check_unread_output(uint64_t now_ns)
{
	if (!opt.drop_unread_ms || slave_fd < 0)
		return;
	int pending = 0; /* what the terminal side holds (at most its 4 KiB line buffer) */
	if (ioctl(slave_fd, FIONREAD, &pending) != 0)
		return;
	if (pending == 0 || pending < unread.last_pending || unread.last_pending < 0) {
		unread.progress_ns = now_ns;
		unread.progress_sent = link_state.avr_sent;
		unread.progress_pending = pending;
	}
	unread.last_pending = pending;
	if (pending > 0 && now_ns - unread.progress_ns > (uint64_t)opt.drop_unread_ms * 1000000u) {
		/* Nobody has read since progress_ns: what was pending then and everything sent since,
		 * less what is still in uart_pty's own buffer, is in the kernel and goes now. */
		uint64_t in_kernel = (uint64_t)unread.progress_pending + (link_state.avr_sent - unread.progress_sent);
		uint64_t in_bridge = uart_pty_fifo_get_read_size(&pty.pty.in);
		uint64_t dropped = in_kernel > in_bridge ? in_kernel - in_bridge : 0;
		tcflush(slave_fd, TCIFLUSH);
		link_state.dropped_unread += dropped > (uint64_t)pending ? dropped : (uint64_t)pending;
		unread.progress_ns = now_ns;
		unread.progress_sent = link_state.avr_sent;
		unread.progress_pending = 0;
		unread.last_pending = 0;
	}
}

/* ------------------------------------------------------------------ host opens the port */

/*
 * A pty has no DTR line, but every serial library configures the port when it opens it
 * (serialport: tcflush, then tcsetattr with the baud rate), and that shows on the pty's
 * terminal settings. The harness parks them at a sentinel speed (50 baud); when they
 * change, a host has (re)opened the port: like an Uno's DTR auto-reset, the AVR is reset
 * (unless --no-reset-on-open), so that what the firmware prints at boot reaches the host
 * instead of being flushed by its open.
 */
struct km_termios2 {
	tcflag_t c_iflag, c_oflag, c_cflag, c_lflag;
	cc_t c_line;
	cc_t c_cc[19];
	speed_t c_ispeed, c_ospeed;
};
#define KM_TCGETS2 _IOR('T', 0x2A, struct km_termios2)

static void park_terminal_speed(void)
{
	struct termios t;
	if (tcgetattr(slave_fd, &t) != 0)
		return;
	cfsetispeed(&t, B50);
	cfsetospeed(&t, B50);
	tcsetattr(slave_fd, TCSANOW, &t);
}

static void check_host_open(void)
{
	struct termios t;
	if (slave_fd < 0 || tcgetattr(slave_fd, &t) != 0 || cfgetospeed(&t) == B50)
		return;
	struct km_termios2 t2;
	unsigned baud = ioctl(slave_fd, KM_TCGETS2, &t2) == 0 ? t2.c_ospeed : 0;
	park_terminal_speed();
	fprintf(events, "{\"event\":\"serialOpened\",\"baud\":%u,\"emulatedUs\":%" PRIu64 "}\n", baud, emulated_us());
	if (opt.uart_chip && link_state.cycles_per_bit && baud) {
		double firmware = (double)avr->frequency / link_state.cycles_per_bit;
		if (fabs(baud / firmware - 1.0) > 0.05) {
			char message[200];
			snprintf(message, sizeof(message),
				"the host opened the port at %u baud but the firmware's UART runs at %.0f: a real link would carry garbage",
				baud, firmware);
			emit_log("warning", message);
		}
	}
	output_open = 1;
	unread_restart();
	if (opt.reset_on_open) {
		avr_reset(avr);
		halted_reported = 0;
		/* what the firmware sent before the reset and the host has not read yet goes: the
		 * host sees the port as a freshly reset board's */
		uint64_t give_up = wall_ns() + 20000000u;
		while (!uart_pty_fifo_isempty(&pty.pty.in) && wall_ns() < give_up)
			usleep(100);
		tcflush(slave_fd, TCIFLUSH);
	}
}

/* ------------------------------------------------------------------ main loop */

static void no_wall_sleep(avr_t *s_avr, avr_cycle_count_t how_long)
{
	(void)s_avr;
	(void)how_long;
}

static void on_signal(int sig)
{
	(void)sig;
	signal_quit = 1;
}

static void parse_args(int argc, char **argv)
{
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
	if (!opt.hex_path) {
		usage(stderr);
		fatal("no firmware hex given");
	}
}

int main(int argc, char **argv)
{
	/* Events get the real stdout; everything simavr prints goes to stderr instead. */
	int events_fd = dup(STDOUT_FILENO);
	if (events_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		perror("knotmeter-emu: dup");
		return 2;
	}
	fcntl(events_fd, F_SETFD, FD_CLOEXEC);
	events = fdopen(events_fd, "w");
	static char events_buffer[1 << 16];
	setvbuf(events, events_buffer, _IOFBF, sizeof(events_buffer));

	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the process that started us */

	parse_args(argc, argv);
	avr_global_logger_set(simavr_logger);

	avr = avr_make_mcu_by_name("atmega328p");
	if (!avr)
		fatal("simavr has no atmega328p core");
	avr_init(avr);
	avr->frequency = FREQUENCY_HZ;
	avr->log = LOG_WARNING;
	/* simavr sleeps in usleep() while the AVR sleeps; this harness keeps time itself. */
	avr->sleep = no_wall_sleep;
	load_firmware();
	setup_inputs();
	setup_pins();
	setup_extint();
	setup_uart();
	uart_transmitter_off();
	if (opt.hx711)
		setup_hx711();
	avr_register_io(avr, &reset_io);

	fputs("{\"event\":\"ready\",\"pty\":", events);
	put_json_string(events, pty.pty.slavename);
	fprintf(events, ",\"mcu\":\"atmega328p\",\"frequencyHz\":%u,\"realtime\":%s,\"hx711\":%s,\"uart\":\"%s\",\"pid\":%d}\n",
		avr->frequency, opt.realtime ? "true" : "false", opt.hx711 ? "true" : "false",
		opt.uart_chip ? "chip" : "simavr", (int)getpid());
	fflush(events);

	const avr_cycle_count_t slice = avr->frequency / (opt.realtime ? 1000u : 200u);
	uint64_t anchor_wall_ns = wall_ns();
	avr_cycle_count_t anchor_cycle = avr->cycle;
	uint64_t lag_lost_us = 0, lag_reported_wall_ns = 0, housekeeping_wall_ns = 0, host_check_wall_ns = 0;
	const uint64_t lag_limit_ns = 100000000u;

	while (!quit_requested && !signal_quit) {
		int running = avr->state != cpu_Done && avr->state != cpu_Crashed;
		if (running) {
			/* Let uart_pty's thread drain the AVR's output before adding more. */
			if (uart_pty_fifo_get_read_size(&pty.pty.in) > PTY_TX_HIGH) {
				uint64_t give_up = wall_ns() + 50000000u;
				while (uart_pty_fifo_get_read_size(&pty.pty.in) > PTY_TX_LOW && wall_ns() < give_up)
					usleep(200);
			}
			avr_cycle_count_t end = avr->cycle + slice;
			while (avr->cycle < end) {
				int state = avr_run(avr);
				if (state == cpu_Done || state == cpu_Crashed)
					break;
			}
		}
		if (!running || avr->state == cpu_Done || avr->state == cpu_Crashed) {
			if (!halted_reported) {
				halted_reported = 1;
				fprintf(events, "{\"event\":\"halted\",\"state\":\"%s\",\"emulatedUs\":%" PRIu64 "}\n",
					avr->state == cpu_Done ? "done" : "crashed", emulated_us());
			}
		}

		uint64_t now = wall_ns();
		if (now - host_check_wall_ns >= 2000000u) {
			host_check_wall_ns = now;
			check_host_open();
		}
		if (now - housekeeping_wall_ns >= 100000000u) {
			housekeeping_wall_ns = now;
			eeprom_save_if_changed();
			check_unread_output(now);
			if (log_suppressed) {
				char message[100];
				snprintf(message, sizeof(message), "%u simavr log lines suppressed (over 50 a second)", log_suppressed);
				log_suppressed = 0;
				emit_log("warning", message);
			}
		}
		report_drops();
		report_uart_config();

		int halted = avr->state == cpu_Done || avr->state == cpu_Crashed;
		if (halted) {
			anchor_wall_ns = now;
			anchor_cycle = avr->cycle;
		} else if (opt.realtime) {
			uint64_t due_ns = anchor_wall_ns + cycles_to_ns(avr->cycle - anchor_cycle);
			if (now > due_ns + lag_limit_ns) {
				/* Too far behind to catch up unnoticed: start afresh from here, and say so. */
				lag_lost_us += (now - due_ns) / 1000u;
				anchor_wall_ns = now;
				anchor_cycle = avr->cycle;
			}
			if (lag_lost_us && now - lag_reported_wall_ns > 1000000000u) {
				fprintf(events, "{\"event\":\"lag\",\"lostUs\":%" PRIu64 ",\"emulatedUs\":%" PRIu64 "}\n",
					lag_lost_us, emulated_us());
				lag_lost_us = 0;
				lag_reported_wall_ns = now;
			}
		}
		if (fflush(events) != 0) {
			quit_reason = "stdout-closed";
			break;
		}

		/* Listen to the control channel until the wall clock catches up with the emulated
		 * one (realtime), or just look at it (fast). */
		for (;;) {
			int64_t wait_ns = 0;
			if (halted)
				wait_ns = 50000000;
			else if (opt.realtime) {
				uint64_t due_ns = anchor_wall_ns + cycles_to_ns(avr->cycle - anchor_cycle);
				uint64_t at = wall_ns();
				wait_ns = due_ns > at ? (int64_t)(due_ns - at) : 0;
			}
			struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
			struct timespec timeout = { .tv_sec = wait_ns / 1000000000, .tv_nsec = wait_ns % 1000000000 };
			if (ppoll(&pfd, 1, &timeout, NULL) > 0) {
				if (pfd.revents & POLLIN) {
					read_control();
				} else {
					quit_requested = 1;
					quit_reason = "stdin-closed";
				}
				fflush(events);
			}
			if (wait_ns == 0 || quit_requested || signal_quit || halted)
				break;
		}
	}
	if (signal_quit)
		quit_reason = "signal";
	eeprom_save_if_changed();
	report_drops();
	fprintf(events, "{\"event\":\"exit\",\"reason\":\"%s\",\"emulatedUs\":%" PRIu64 "}\n", quit_reason, emulated_us());
	fflush(events);
	/* uart_pty_stop() would pthread_kill(SIGINT) a thread that blocks every signal; the
	 * process exit ends that thread and closes the pty. */
	if (slave_fd >= 0)
		close(slave_fd);
	return 0;
}
