/*
 * control.h: the control channel: JSON command lines on stdin (README.md, "Control
 * protocol"), each answered on the event stream. What a command asks of the main loop
 * (quit; a reset that lets a new halt be reported) comes back in a run_state_t.
 *   run_state_t run = { .quit_reason = "quit" };
 *   if (stdin is readable) control_read(&run);
 */
#ifndef KNOTMETER_EMU_CONTROL_H
#define KNOTMETER_EMU_CONTROL_H

/* The main loop's state that commands change. */
typedef struct {
	int quit_requested;
	const char *quit_reason;  /* for the `exit` event */
	int halted_reported;      /* a `halted` event was sent since the last reset */
} run_state_t;

/* Reads what stdin has (it is readable) and handles each complete line; end of input or a
 * read error asks to quit. */
void control_read(run_state_t *run);

#endif
