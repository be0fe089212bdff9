/*
 * events.c: the event stream (JSON lines on stdout) and simavr's log lines as `log`
 * events. See events.h.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "events.h"
#include "mcu.h"

FILE *events;

int events_open(void)
{
	/* Events get the real stdout; everything simavr prints goes to stderr instead. */
	int events_fd = dup(STDOUT_FILENO);
	if (events_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		return -1;
	fcntl(events_fd, F_SETFD, FD_CLOEXEC);
	events = fdopen(events_fd, "w");
	static char events_buffer[1 << 16];
	setvbuf(events, events_buffer, _IOFBF, sizeof(events_buffer));
	return 0;
}

void put_json_string(FILE *f, const char *s)
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

void emit_message(const char *name, const char *id, const char *message)
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

void emit_log(const char *level, const char *message)
{
	fprintf(events, "{\"event\":\"log\",\"level\":\"%s\",\"message\":", level);
	put_json_string(events, message);
	if (avr)
		fprintf(events, ",\"emulatedUs\":%" PRIu64, emulated_us());
	fputs("}\n", events);
}

void fatal(const char *fmt, ...)
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

static unsigned log_budget = 50;
static uint64_t log_budget_wall_ns;
static unsigned log_suppressed;

void simavr_logger(avr_t *logging_avr, const int level, const char *format, va_list ap)
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

void report_suppressed_logs(void)
{
	if (!log_suppressed)
		return;
	char message[100];
	snprintf(message, sizeof(message), "%u simavr log lines suppressed (over 50 a second)", log_suppressed);
	log_suppressed = 0;
	emit_log("warning", message);
}
