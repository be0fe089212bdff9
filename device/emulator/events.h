/*
 * events.h: the event stream, JSON lines on the harness's real stdout (README.md lists
 * every event), and simavr's own log lines turned into `log` events.
 *   fprintf(events, "{\"event\":\"reset\",\"emulatedUs\":%" PRIu64 "}\n", emulated_us());
 *   emit_message("error", id, "adc: channel must be 0..7");
 */
#ifndef KNOTMETER_EMU_EVENTS_H
#define KNOTMETER_EMU_EVENTS_H

#include <stdarg.h>
#include <stdio.h>

#include "sim_avr.h"

/* The stream every event goes to; fully buffered, flushed by the main loop. */
extern FILE *events;

/* Makes `events` a private copy of stdout and points stdout at stderr (where simavr and
 * uart_pty print). Returns -1 (errno set) when that fails. */
int events_open(void);

/* Writes `s` as a JSON string literal. */
void put_json_string(FILE *f, const char *s);
/* {"event":name,["id":id,]"message":...[,"emulatedUs":...]}: `id` is raw JSON or NULL;
 * the time once the MCU exists. */
void emit_message(const char *name, const char *id, const char *message);
/* {"event":"log","level":level,"message":...[,"emulatedUs":...]}. */
void emit_log(const char *level, const char *message);
/* A `fatal` event, then exit(2). */
void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* For avr_global_logger_set(): warnings and errors become `log` events, 50 a second. */
void simavr_logger(avr_t *logging_avr, const int level, const char *format, va_list ap);
/* Says how many simavr log lines were over that budget since the last call, if any. */
void report_suppressed_logs(void);

#endif
