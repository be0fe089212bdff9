/*
 * knotmeter-emu: runs an ATmega328P program (an Intel hex, Arduino Uno wiring, 16 MHz) in
 * simavr 1.6 and wires it to the host: UART0 on a pseudo-terminal (uart.c), ADC inputs and
 * an emulated HX711 set at once or along a schedule (inputs.c, hx711.c), output pins and
 * PWM observed (pins.c), throttled to the wall clock or flat out (throttle.c).
 * Control: JSON lines on stdin (control.c); events: JSON lines on stdout (events.c).
 *   knotmeter-emu [--fast] [--hx711] ... FIRMWARE.hex      (README.md documents both)
 * This file makes the MCU, wires the parts, runs the main loop and handles resets.
 */
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "sim_avr.h"
#include "sim_io.h"
#include "sim_cycle_timers.h"

#include "bootloader.h"
#include "clock.h"
#include "control.h"
#include "events.h"
#include "extint.h"
#include "firmware.h"
#include "hx711.h"
#include "inputs.h"
#include "mcu.h"
#include "options.h"
#include "pins.h"
#include "throttle.h"
#include "uart.h"

avr_t *avr;

static volatile sig_atomic_t signal_quit;

static void on_signal(int sig)
{
	(void)sig;
	signal_quit = 1;
}

static void no_wall_sleep(avr_t *s_avr, avr_cycle_count_t how_long)
{
	(void)s_avr;
	(void)how_long;
}

/* ------------------------------------------------------------------ resets */

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

/* Runs on every AVR reset (watchdog, the `reset` command, a host opening the port), after
 * simavr has cleared the I/O registers and every cycle timer. */
static void on_avr_reset(avr_io_t *io)
{
	(void)io;
	pins_on_reset();
	avr_cycle_timer_register(avr, 1, after_reset, NULL);
	uart_on_reset();
	inputs_on_reset();
	hx711_on_reset();
	fprintf(events, "{\"event\":\"reset\",\"emulatedUs\":%" PRIu64 "}\n", emulated_us());
}

static avr_io_t reset_io = { .kind = "knotmeter-reset", .reset = on_avr_reset };

/* ------------------------------------------------------------------ start */

static void handle_signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the process that started us */
}

static void make_mcu(const options_t *opt)
{
	avr = avr_make_mcu_by_name("atmega328p");
	if (!avr)
		fatal("simavr has no atmega328p core");
	avr_init(avr);
	avr->frequency = FREQUENCY_HZ;
	avr->log = LOG_WARNING;
	/* simavr sleeps in usleep() while the AVR sleeps; this harness keeps time itself. */
	avr->sleep = no_wall_sleep;
	firmware_load(opt->hex_path, opt->eeprom_path);
	if (opt->bootloader_path)
		bootloader_load(opt->bootloader_path);
	bootloader_setup();
	inputs_setup();
	pins_setup();
	extint_setup();
	uart_setup((uart_options_t){ .chip_timing = opt->uart_chip, .reset_on_open = opt->reset_on_open,
		.drop_unread_ms = opt->drop_unread_ms });
	uart_transmitter_off();
	if (opt->hx711)
		hx711_setup(opt->hx711_rate_hz, opt->hx711_data_events);
	avr_register_io(avr, &reset_io);
}

static void report_ready(const options_t *opt)
{
	fputs("{\"event\":\"ready\",\"pty\":", events);
	put_json_string(events, uart_pty_path());
	fprintf(events, ",\"mcu\":\"atmega328p\",\"frequencyHz\":%u,\"realtime\":%s,\"hx711\":%s,\"uart\":\"%s\",\"bootloader\":%ld,\"pid\":%d}\n",
		avr->frequency, opt->realtime ? "true" : "false", opt->hx711 ? "true" : "false",
		opt->uart_chip ? "chip" : "simavr", bootloader_address(), (int)getpid());
	fflush(events);
}

/* ------------------------------------------------------------------ the main loop */

static int is_halted(void)
{
	return avr->state == cpu_Done || avr->state == cpu_Crashed;
}

/* Runs the AVR for one slice, unless it has halted (reported once until a reset). */
static void run_slice(avr_cycle_count_t slice, run_state_t *run)
{
	int running = !is_halted();
	if (running) {
		uart_wait_for_bridge();
		avr_cycle_count_t end = avr->cycle + slice;
		while (avr->cycle < end) {
			int state = avr_run(avr);
			if (state == cpu_Done || state == cpu_Crashed)
				break;
		}
	}
	if ((!running || is_halted()) && !run->halted_reported) {
		run->halted_reported = 1;
		fprintf(events, "{\"event\":\"halted\",\"state\":\"%s\",\"emulatedUs\":%" PRIu64 "}\n",
			avr->state == cpu_Done ? "done" : "crashed", emulated_us());
	}
}

/* The wall times at which the periodic checks last ran. */
typedef struct {
	uint64_t host_check_ns, housekeeping_ns;
} periodic_t;

/* A host opening the port (every 2 ms); the EEPROM file, unread output and suppressed
 * simavr logs (every 100 ms); then what the UART has to report. */
static void run_periodic(periodic_t *p, uint64_t now, run_state_t *run)
{
	if (now - p->host_check_ns >= 2000000u) {
		p->host_check_ns = now;
		if (uart_check_host_open())
			run->halted_reported = 0;
	}
	if (now - p->housekeeping_ns >= 100000000u) {
		p->housekeeping_ns = now;
		eeprom_save_if_changed();
		uart_check_unread_output(now);
		report_suppressed_logs();
	}
	uart_report_drops();
	uart_report_config();
}

/* Listens to the control channel until the wall clock catches up with the emulated one
 * (realtime), or just looks at it (fast). */
static void listen(const throttle_t *clock, int halted, run_state_t *run)
{
	for (;;) {
		int64_t wait_ns = throttle_wait_ns(clock, halted);
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		struct timespec timeout = { .tv_sec = wait_ns / 1000000000, .tv_nsec = wait_ns % 1000000000 };
		if (ppoll(&pfd, 1, &timeout, NULL) > 0) {
			if (pfd.revents & POLLIN) {
				control_read(run);
			} else {
				run->quit_requested = 1;
				run->quit_reason = "stdin-closed";
			}
			fflush(events);
		}
		if (wait_ns == 0 || run->quit_requested || signal_quit || halted)
			break;
	}
}

static void run_until_quit(const options_t *opt, run_state_t *run)
{
	throttle_t clock = throttle_start(opt->realtime);
	const avr_cycle_count_t slice = throttle_slice_cycles(&clock);
	periodic_t periodic = { 0 };
	while (!run->quit_requested && !signal_quit) {
		run_slice(slice, run);
		uint64_t now = wall_ns();
		run_periodic(&periodic, now, run);
		int halted = is_halted();
		throttle_after_slice(&clock, now, halted);
		if (fflush(events) != 0) {
			run->quit_reason = "stdout-closed";
			break;
		}
		listen(&clock, halted, run);
	}
}

int main(int argc, char **argv)
{
	if (events_open() != 0) {
		perror("knotmeter-emu: dup");
		return 2;
	}
	handle_signals();
	options_t opt = options_parse(argc, argv);
	avr_global_logger_set(simavr_logger);
	make_mcu(&opt);
	report_ready(&opt);

	run_state_t run = { .quit_reason = "quit" };
	run_until_quit(&opt, &run);
	if (signal_quit)
		run.quit_reason = "signal";
	eeprom_save_if_changed();
	uart_report_drops();
	fprintf(events, "{\"event\":\"exit\",\"reason\":\"%s\",\"emulatedUs\":%" PRIu64 "}\n", run.quit_reason, emulated_us());
	fflush(events);
	/* uart_pty_stop() would pthread_kill(SIGINT) a thread that blocks every signal; the
	 * process exit ends that thread and closes the pty. */
	uart_close();
	return 0;
}
