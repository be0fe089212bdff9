/*
 * uart.c: UART0 on a pseudo-terminal, with the chip's timing (see uart.h; the simavr 1.6
 * traps it works around are listed in README.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "sim_avr.h"
#include "sim_io.h"
#include "sim_irq.h"
#include "sim_cycle_timers.h"
#include "avr_uart.h"
#include "uart_pty.h"

#include "bootloader.h"
#include "clock.h"
#include "events.h"
#include "mcu.h"
#include "uart.h"
#include "watch.h"

/* The accessors for the two FIFO types whose contents this harness inspects. */
DEFINE_FIFO(uint16_t, uart_fifo);
DEFINE_FIFO(uint8_t, uart_pty_fifo);

#define RXQ_BYTES 65536u
#define RXQ_HIGH 64u
#define RXQ_LOW 16u
#define PTY_TX_HIGH 384u
#define PTY_TX_LOW 64u

static uart_options_t opt;
static uart_pty_t pty;
static avr_uart_t *uart;
static avr_irq_t *uart_irqs;
static int slave_fd = -1;

static struct {
	uint32_t cycles_per_bit, reported_cycles_per_bit;
	int frame_bits, reported_frame_bits;
	uint64_t changed_us;
	uint64_t avr_sent; /* bytes the AVR has sent towards the pty */
	uint64_t dropped_overrun, dropped_pty_full, dropped_unread, dropped_reported_overrun,
		dropped_reported_pty_full, dropped_reported_unread;
} link_state;

/* ------------------------------------------------------------------ the chip's timing */

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

void uart_report_config(void)
{
	if (!opt.chip_timing || (link_state.cycles_per_bit == link_state.reported_cycles_per_bit &&
			link_state.frame_bits == link_state.reported_frame_bits))
		return;
	link_state.reported_cycles_per_bit = link_state.cycles_per_bit;
	link_state.reported_frame_bits = link_state.frame_bits;
	fprintf(events, "{\"event\":\"uart\",\"baud\":%.1f,\"frameBits\":%d,\"emulatedUs\":%" PRIu64 "}\n",
		(double)avr->frequency / link_state.cycles_per_bit, link_state.frame_bits, link_state.changed_us);
}

void uart_transmitter_off(void)
{
	if (opt.chip_timing)
		avr->data[R_UCSR0B] &= ~(1 << BIT_TXEN0);
}

/* ------------------------------------------------------------------ host -> AVR */

/* Bytes from the pty, delivered one per frame time. */
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

void uart_on_reset(void)
{
	link_state.cycles_per_bit = link_state.reported_cycles_per_bit = 0;
	link_state.frame_bits = link_state.reported_frame_bits = 0;
	pacer_armed = rxq_len != 0;
	if (pacer_armed)
		avr_cycle_timer_register(avr, uart->cycles_per_byte, rx_pacer, NULL);
}

/* ------------------------------------------------------------------ AVR -> host */

/*
 * Through uart_pty's 512-byte buffer (a full one drops the byte: counted).
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

void uart_wait_for_bridge(void)
{
	if (uart_pty_fifo_get_read_size(&pty.pty.in) > PTY_TX_HIGH) {
		uint64_t give_up = wall_ns() + 50000000u;
		while (uart_pty_fifo_get_read_size(&pty.pty.in) > PTY_TX_LOW && wall_ns() < give_up)
			usleep(200);
	}
}

void uart_report_drops(void)
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

void uart_check_unread_output(uint64_t now_ns)
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
 * change, a host has (re)opened the port.
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

static void warn_if_speeds_differ(unsigned baud)
{
	if (opt.chip_timing && link_state.cycles_per_bit && baud) {
		double firmware = (double)avr->frequency / link_state.cycles_per_bit;
		if (fabs(baud / firmware - 1.0) > 0.05) {
			char message[200];
			snprintf(message, sizeof(message),
				"the host opened the port at %u baud but the firmware's UART runs at %.0f: a real link would carry garbage",
				baud, firmware);
			emit_log("warning", message);
		}
	}
}

int uart_check_host_open(void)
{
	struct termios t;
	if (slave_fd < 0 || tcgetattr(slave_fd, &t) != 0 || cfgetospeed(&t) == B50)
		return 0;
	struct km_termios2 t2;
	unsigned baud = ioctl(slave_fd, KM_TCGETS2, &t2) == 0 ? t2.c_ospeed : 0;
	park_terminal_speed();
	fprintf(events, "{\"event\":\"serialOpened\",\"baud\":%u,\"emulatedUs\":%" PRIu64 "}\n", baud, emulated_us());
	warn_if_speeds_differ(baud);
	output_open = 1;
	unread_restart();
	if (!opt.reset_on_open)
		return 0;
	/* like an Uno's DTR auto-reset, so that what the firmware prints at boot reaches the
	 * host instead of being flushed by its open; EXTRF set, as the RESET pin sets it */
	reset_external();
	/* what the firmware sent before the reset and the host has not read yet goes: the
	 * host sees the port as a freshly reset board's */
	uint64_t give_up = wall_ns() + 20000000u;
	while (!uart_pty_fifo_isempty(&pty.pty.in) && wall_ns() < give_up)
		usleep(100);
	tcflush(slave_fd, TCIFLUSH);
	return 1;
}

/* ------------------------------------------------------------------ setup */

static void create_pty(void)
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
}

static void find_uart0(void)
{
	for (avr_io_t *io = avr->io_port; io; io = io->next)
		if (!strcmp(io->kind, "uart") && ((avr_uart_t *)io)->name == '0')
			uart = (avr_uart_t *)io;
	uart_irqs = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), 0);
	if (!uart || !uart_irqs)
		fatal("internal: UART0 not found in the simavr core");
}

/* Puts the harness between simavr's UART and the pty, in both directions. */
static void interpose(void)
{
	avr_unconnect_irq(uart_irqs + UART_IRQ_OUTPUT, pty.irq + IRQ_UART_PTY_BYTE_IN);
	avr_irq_register_notify(uart_irqs + UART_IRQ_OUTPUT, avr_byte_hook, NULL);
	output_open = !opt.reset_on_open;
	if (opt.chip_timing) {
		avr_unconnect_irq(pty.irq + IRQ_UART_PTY_BYTE_OUT, uart_irqs + UART_IRQ_INPUT);
		avr_irq_register_notify(pty.irq + IRQ_UART_PTY_BYTE_OUT, host_byte_hook, NULL);
		watch_register(R_UBRR0L, uart_config_changed);
		watch_register(R_UBRR0H, uart_config_changed);
		watch_register(R_UCSR0A, uart_config_changed);
		watch_register(R_UCSR0B, uart_config_changed);
		watch_register(R_UCSR0C, uart_config_changed);
	}
}

void uart_setup(uart_options_t options)
{
	opt = options;
	create_pty();
	find_uart0();

	/* No usleep() on status polls (AVR_UART_FLAG_POLL_SLEEP) and no stdout echo: this
	 * harness does its own pacing, and a firmware spinning on UDRE would otherwise run
	 * many times slower than the chip. */
	uint32_t flags = 0;
	avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
	interpose();

	/* A descriptor of our own on the pty's terminal side, to see whether anyone reads it. */
	slave_fd = open(pty.pty.slavename, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (slave_fd < 0)
		fatal("cannot open %s: %s", pty.pty.slavename, strerror(errno));
	park_terminal_speed();
}

const char *uart_pty_path(void)
{
	return pty.pty.slavename;
}

void uart_close(void)
{
	if (slave_fd >= 0)
		close(slave_fd);
}
