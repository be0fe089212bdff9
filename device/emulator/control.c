/*
 * control.c: the control channel's commands (see control.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_avr.h"

#include "bootloader.h"
#include "clock.h"
#include "control.h"
#include "events.h"
#include "hx711.h"
#include "inputs.h"
#include "json.h"
#include "mcu.h"
#include "throttle.h"

#define MAX_LINE_BYTES (8u << 20)

/* One command line, parsed: its members, and its id as raw JSON ("null" without one). */
typedef struct {
	jparser_t *j;
	jnode_t *root;
	const char *id;
} command_t;

static void reply_ok(const char *id, const char *cmd)
{
	fprintf(events, "{\"event\":\"ok\",\"id\":%s,\"cmd\":\"%s\",\"emulatedUs\":%" PRIu64 "}\n",
		id, cmd, emulated_us());
}

static jnode_t *member(const command_t *c, const char *key)
{
	return jmember(c->j, c->root, key);
}

/* 1 when the command has no members but cmd, id and `allowed`; else an error reply. */
static int only_members(const command_t *c, const char *const *allowed)
{
	for (int n = c->root->child; n >= 0; n = c->j->nodes[n].next) {
		const char *key = c->j->nodes[n].key;
		int known = !strcmp(key, "cmd") || !strcmp(key, "id");
		for (const char *const *a = allowed; *a && !known; a++)
			known = !strcmp(key, *a);
		if (!known) {
			char message[300];
			snprintf(message, sizeof(message), "unknown member \"%.200s\"", key);
			emit_message("error", c->id, message);
			return 0;
		}
	}
	return 1;
}

static void command_adc(const command_t *c)
{
	static const char *const allowed[] = { "channel", "millivolts", NULL };
	if (!only_members(c, allowed))
		return;
	jnode_t *channel = member(c, "channel");
	jnode_t *mv = member(c, "millivolts");
	if (channel && !is_integer(channel, 0, 7))
		emit_message("error", c->id, "adc: channel must be 0..7");
	else if (!mv || mv->type != JT_NUMBER || input_check_value(0, mv->number))
		emit_message("error", c->id, "adc: millivolts must be an integer 0..5000");
	else {
		int target = channel ? (int)channel->number : 0;
		input_schedule_clear(target);
		input_set(target, (int32_t)mv->number);
		reply_ok(c->id, "adc");
	}
}

static void command_hx711(const command_t *c)
{
	static const char *const allowed[] = { "raw", "connected", NULL };
	if (!only_members(c, allowed))
		return;
	jnode_t *raw = member(c, "raw");
	jnode_t *connected = member(c, "connected");
	if (!hx711_attached())
		emit_message("error", c->id, "hx711: no HX711 attached (start with --hx711)");
	else if (!raw && !connected)
		emit_message("error", c->id, "hx711: give raw, connected, or both");
	else if (raw && (raw->type != JT_NUMBER || input_check_value(INPUT_HX711, raw->number)))
		emit_message("error", c->id, "hx711: raw must be a signed 24-bit integer (-8388608..8388607)");
	else if (connected && connected->type != JT_TRUE && connected->type != JT_FALSE)
		emit_message("error", c->id, "hx711: connected must be true or false");
	else {
		if (raw) {
			input_schedule_clear(INPUT_HX711);
			input_set(INPUT_HX711, (int32_t)raw->number);
		}
		if (connected && connected->type == JT_TRUE)
			hx711_connect();
		else if (connected)
			hx711_disconnect();
		reply_ok(c->id, "hx711");
	}
}

/* The schedule command's target, points and replace flag, checked as a whole: an error
 * reply and -1, or the target. */
static int check_schedule(const command_t *c, jnode_t *points, int replacing, size_t *count)
{
	jnode_t *target_node = member(c, "target");
	int target = target_node && target_node->type == JT_STRING ? input_parse_target(target_node->string) : -1;
	if (target < 0) {
		emit_message("error", c->id, "schedule: target must be \"adc0\"..\"adc7\" or \"hx711\"");
		return -1;
	}
	if (target == INPUT_HX711 && !hx711_attached()) {
		emit_message("error", c->id, "schedule: no HX711 attached (start with --hx711)");
		return -1;
	}
	if (!points || points->type != JT_ARRAY) {
		emit_message("error", c->id, "schedule: points must be an array of [emulatedUs, value] pairs");
		return -1;
	}
	jnode_t *replace = member(c, "replace");
	if (replace && replace->type != JT_TRUE && replace->type != JT_FALSE) {
		emit_message("error", c->id, "schedule: replace must be true or false");
		return -1;
	}
	jparser_t *j = c->j;
	avr_cycle_count_t previous = !replacing ? input_schedule_last_cycle(target) : 0;
	for (int n = points->child; n >= 0; n = j->nodes[n].next) {
		jnode_t *pair = &j->nodes[n];
		jnode_t *t = pair->type == JT_ARRAY && pair->child >= 0 ? &j->nodes[pair->child] : NULL;
		jnode_t *v = t && t->next >= 0 ? &j->nodes[t->next] : NULL;
		if (!t || !v || v->next >= 0 || !is_integer(t, 0, 9.0e15) || v->type != JT_NUMBER) {
			emit_message("error", c->id, "schedule: each point is [emulatedUs, value] with an integer time");
			return -1;
		}
		const char *problem = input_check_value(target, v->number);
		if (problem) {
			emit_message("error", c->id, problem);
			return -1;
		}
		avr_cycle_count_t cycle = us_to_cycles((uint64_t)t->number);
		if (cycle < previous) {
			emit_message("error", c->id, "schedule: times must not decrease (nor go before the points already queued)");
			return -1;
		}
		previous = cycle;
		(*count)++;
	}
	return target;
}

static void command_schedule(const command_t *c)
{
	static const char *const allowed[] = { "target", "points", "replace", NULL };
	if (!only_members(c, allowed))
		return;
	jnode_t *points = member(c, "points");
	jnode_t *replace = member(c, "replace");
	int replacing = replace && replace->type == JT_TRUE;
	size_t count = 0;
	int target = check_schedule(c, points, replacing, &count);
	if (target < 0)
		return;
	if (replacing)
		input_schedule_clear(target);
	input_schedule_reserve(target, count);
	jparser_t *j = c->j;
	for (int n = points->child; n >= 0; n = j->nodes[n].next) {
		jnode_t *t = &j->nodes[j->nodes[n].child];
		jnode_t *v = &j->nodes[t->next];
		input_schedule_push(target, us_to_cycles((uint64_t)t->number), (int32_t)v->number);
	}
	size_t queued = input_schedule_arm(target);
	fprintf(events, "{\"event\":\"ok\",\"id\":%s,\"cmd\":\"schedule\",\"queued\":%zu,\"emulatedUs\":%" PRIu64 "}\n",
		c->id, queued, emulated_us());
}

static void command_time(const command_t *c)
{
	static const char *const allowed[] = { NULL };
	if (only_members(c, allowed))
		/* Both clocks read here, together: a reader's ratio of them leaves out how long the reply takes to reach it. */
		fprintf(events, "{\"event\":\"time\",\"id\":%s,\"emulatedUs\":%" PRIu64 ",\"hostUs\":%" PRIu64 ",\"lagLostUs\":%" PRIu64 "}\n",
			c->id, emulated_us(), wall_ns() / 1000u, throttle_lag_lost_total_us());
}

static void command_reset(const command_t *c, run_state_t *run)
{
	static const char *const allowed[] = { NULL };
	if (only_members(c, allowed)) {
		reset_external();
		run->halted_reported = 0;
		reply_ok(c->id, "reset");
	}
}

/* {"cmd":"flashFault","pages":N}: the next N SPM page writes store one byte wrong (bootloader.h). */
static void command_flash_fault(const command_t *c)
{
	static const char *const allowed[] = { "pages", NULL };
	if (!only_members(c, allowed))
		return;
	jnode_t *pages = member(c, "pages");
	if (pages && !is_integer(pages, 0, 256)) {
		emit_message("error", c->id, "flashFault: pages must be 0..256");
		return;
	}
	flash_fault_arm(pages ? (unsigned)pages->number : 1u);
	reply_ok(c->id, "flashFault");
}

static void command_quit(const command_t *c, run_state_t *run)
{
	static const char *const allowed[] = { NULL };
	if (only_members(c, allowed)) {
		reply_ok(c->id, "quit");
		run->quit_requested = 1;
		run->quit_reason = "quit";
	}
}

/* Copies the id member's JSON text into `id` (left "null" without one); 0 (after an error
 * event) when it is not a number or a short string. */
static int read_id(jparser_t *j, jnode_t *root, char *id, size_t id_size)
{
	jnode_t *id_node = jmember(j, root, "id");
	if (!id_node)
		return 1;
	if ((id_node->type != JT_NUMBER && id_node->type != JT_STRING) || id_node->raw_len >= id_size) {
		emit_message("error", NULL, "id must be a number or a string of under 120 characters");
		return 0;
	}
	memcpy(id, id_node->raw, id_node->raw_len);
	id[id_node->raw_len] = 0;
	return 1;
}

/* {"cmd":"button","held":true|false}: the thumb button (inputs.h). */
static void command_button(const command_t *c)
{
	static const char *const allowed[] = { "held", NULL };
	if (!only_members(c, allowed))
		return;
	jnode_t *held = member(c, "held");
	if (!held || (held->type != JT_TRUE && held->type != JT_FALSE)) {
		emit_message("error", c->id, "button: held must be true or false");
		return;
	}
	input_set_button(held->type == JT_TRUE);
	reply_ok(c->id, "button");
}

static void dispatch(const command_t *c, const char *cmd, run_state_t *run)
{
	if (!strcmp(cmd, "adc"))
		command_adc(c);
	else if (!strcmp(cmd, "hx711"))
		command_hx711(c);
	else if (!strcmp(cmd, "button"))
		command_button(c);
	else if (!strcmp(cmd, "schedule"))
		command_schedule(c);
	else if (!strcmp(cmd, "time"))
		command_time(c);
	else if (!strcmp(cmd, "reset"))
		command_reset(c, run);
	else if (!strcmp(cmd, "flashFault"))
		command_flash_fault(c);
	else if (!strcmp(cmd, "quit"))
		command_quit(c, run);
	else
		emit_message("error", c->id, "unknown cmd (adc, hx711, button, schedule, time, reset, flashFault, quit)");
}

static void handle_line(const char *line, size_t len, run_state_t *run)
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
	if (read_id(&j, root, id, sizeof(id))) {
		jnode_t *cmd_node = jmember(&j, root, "cmd");
		const char *cmd = cmd_node && cmd_node->type == JT_STRING ? cmd_node->string : "";
		command_t command = { .j = &j, .root = root, .id = id };
		dispatch(&command, cmd, run);
	}
	jfree(&j);
}

/* ------------------------------------------------------------------ lines from stdin */

static char *line_buffer;
static size_t line_len, line_cap;
static int line_discarding;

static void take_byte(char c, run_state_t *run)
{
	if (c == '\n') {
		if (line_discarding)
			emit_message("error", NULL, "control line longer than 8 MiB: ignored");
		else if (line_len)
			handle_line(line_buffer, line_len, run);
		line_len = 0;
		line_discarding = 0;
		return;
	}
	if (line_discarding)
		return;
	if (line_len == MAX_LINE_BYTES) {
		line_discarding = 1;
		return;
	}
	if (line_len == line_cap) {
		line_cap = line_cap ? line_cap * 2 : 4096;
		line_buffer = realloc(line_buffer, line_cap);
	}
	line_buffer[line_len++] = c;
}

void control_read(run_state_t *run)
{
	char chunk[65536];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		run->quit_requested = 1;
		run->quit_reason = "stdin-error";
		return;
	}
	if (n == 0) {
		run->quit_requested = 1;
		run->quit_reason = "stdin-closed";
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		take_byte(chunk[i], run);
}
