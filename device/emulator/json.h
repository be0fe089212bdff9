/*
 * json.h: a small JSON parser for the control channel's lines: a whole document into a
 * flat array of nodes (children and siblings by index), bounded depth, exact errors.
 *   jparser_t j = { .p = line, .end = line + len };
 *   int root = jparse_document(&j);     -1: j.error says why
 *   jnode_t *cmd = jmember(&j, &j.nodes[root], "cmd");  ...  jfree(&j);
 */
#ifndef KNOTMETER_EMU_JSON_H
#define KNOTMETER_EMU_JSON_H

#include <stddef.h>

enum { JT_NULL, JT_FALSE, JT_TRUE, JT_NUMBER, JT_STRING, JT_ARRAY, JT_OBJECT };

typedef struct {
	int type;
	double number;
	char *string;       /* decoded (JT_STRING); the key for members of an object */
	char *key;
	int child, next;    /* first child, next sibling (node indices, -1 = none) */
	const char *raw;    /* the value's JSON text */
	size_t raw_len;
} jnode_t;

typedef struct {
	const char *p, *end;
	jnode_t *nodes;
	int count, cap;
	const char *error;
	int depth;
} jparser_t;

/* Parses the one value that must fill [p, end); returns its node index, or -1 with
 * j->error set. */
int jparse_document(jparser_t *j);
/* Frees what the parser allocated (after a failed parse too). */
void jfree(jparser_t *j);
/* The member of an object, NULL when it has none. */
jnode_t *jmember(jparser_t *j, jnode_t *object, const char *key);
/* 1 when `n` is a number with an integer value in [min, max]. */
int is_integer(const jnode_t *n, double min, double max);

#endif
