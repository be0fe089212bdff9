/*
 * json.c: the control channel's JSON parser (see json.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static void jskip_ws(jparser_t *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static int jnew(jparser_t *j, int type)
{
	if (j->count == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 64;
		j->nodes = realloc(j->nodes, (size_t)j->cap * sizeof(jnode_t));
	}
	jnode_t *n = &j->nodes[j->count];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->child = n->next = -1;
	return j->count++;
}

static int jhex(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* After a backslash: the code of the escaped character; -1 (j->error set) if it is none. */
static long jparse_escape(jparser_t *j)
{
	char e = *j->p++;
	switch (e) {
	case '"': return '"';
	case '\\': return '\\';
	case '/': return '/';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'u': {
		if (j->end - j->p < 4) { j->error = "bad \\u escape"; return -1; }
		unsigned code = 0;
		for (int k = 0; k < 4; k++) {
			int h = jhex(j->p[k]);
			if (h < 0) { j->error = "bad \\u escape"; return -1; }
			code = code * 16 + (unsigned)h;
		}
		j->p += 4;
		return code;
	}
	default: j->error = "bad escape"; return -1;
	}
}

/* Appends `code` as UTF-8 at out[len] (surrogate pairs are kept as two 3-byte sequences:
 * only diagnostics ever carry such characters); returns the new length. */
static size_t jput_utf8(char *out, size_t len, unsigned code)
{
	if (code < 0x80) {
		out[len++] = (char)code;
	} else if (code < 0x800) {
		out[len++] = (char)(0xc0 | (code >> 6));
		out[len++] = (char)(0x80 | (code & 0x3f));
	} else {
		out[len++] = (char)(0xe0 | (code >> 12));
		out[len++] = (char)(0x80 | ((code >> 6) & 0x3f));
		out[len++] = (char)(0x80 | (code & 0x3f));
	}
	return len;
}

static char *jparse_string(jparser_t *j)
{
	j->p++; /* opening quote */
	size_t cap = 16, len = 0;
	char *out = malloc(cap);
	while (j->p < j->end && *j->p != '"') {
		unsigned code = (unsigned char)*j->p++;
		if (code < 0x20) {
			j->error = "control character in a string";
			free(out);
			return NULL;
		}
		if (code == '\\') {
			if (j->p >= j->end) break;
			long escaped = jparse_escape(j);
			if (escaped < 0) { free(out); return NULL; }
			code = (unsigned)escaped;
		}
		if (len + 5 >= cap) {
			cap *= 2;
			out = realloc(out, cap);
		}
		len = jput_utf8(out, len, code);
	}
	if (j->p >= j->end) {
		j->error = "unterminated string";
		free(out);
		return NULL;
	}
	j->p++; /* closing quote */
	out[len] = 0;
	return out;
}

static int jparse_value(jparser_t *j);

static int jparse_number(jparser_t *j)
{
	const char *start = j->p;
	if (j->p < j->end && *j->p == '-') j->p++;
	if (j->p >= j->end || !(*j->p >= '0' && *j->p <= '9')) { j->error = "bad number"; return -1; }
	if (*j->p == '0') j->p++;
	else while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || !(*j->p >= '0' && *j->p <= '9')) { j->error = "bad number"; return -1; }
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
		if (j->p >= j->end || !(*j->p >= '0' && *j->p <= '9')) { j->error = "bad number"; return -1; }
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
	}
	char buffer[64];
	size_t len = (size_t)(j->p - start);
	if (len >= sizeof(buffer)) { j->error = "number too long"; return -1; }
	memcpy(buffer, start, len);
	buffer[len] = 0;
	int n = jnew(j, JT_NUMBER);
	j->nodes[n].number = strtod(buffer, NULL);
	return n;
}

static int jliteral(jparser_t *j, const char *word, int type)
{
	size_t len = strlen(word);
	if ((size_t)(j->end - j->p) < len || memcmp(j->p, word, len)) {
		j->error = "unexpected token";
		return -1;
	}
	j->p += len;
	return jnew(j, type);
}

static int jparse_container(jparser_t *j, int object)
{
	int node = jnew(j, object ? JT_OBJECT : JT_ARRAY);
	int last = -1;
	char close = object ? '}' : ']';
	j->p++;
	jskip_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return node;
	}
	for (;;) {
		char *key = NULL;
		jskip_ws(j);
		if (object) {
			if (j->p >= j->end || *j->p != '"') { j->error = "expected a member name"; return -1; }
			key = jparse_string(j);
			if (!key) return -1;
			jskip_ws(j);
			if (j->p >= j->end || *j->p != ':') { free(key); j->error = "expected ':'"; return -1; }
			j->p++;
		}
		int child = jparse_value(j);
		if (child < 0) { free(key); return -1; }
		j->nodes[child].key = key;
		if (last < 0) j->nodes[node].child = child;
		else j->nodes[last].next = child;
		last = child;
		jskip_ws(j);
		if (j->p < j->end && *j->p == ',') { j->p++; continue; }
		if (j->p < j->end && *j->p == close) { j->p++; return node; }
		j->error = object ? "expected ',' or '}'" : "expected ',' or ']'";
		return -1;
	}
}

static int jparse_value(jparser_t *j)
{
	if (++j->depth > 16) { j->error = "nested too deep"; return -1; }
	jskip_ws(j);
	const char *start = j->p;
	int node;
	if (j->p >= j->end) { j->error = "unexpected end"; return -1; }
	switch (*j->p) {
	case '{': node = jparse_container(j, 1); break;
	case '[': node = jparse_container(j, 0); break;
	case '"': {
		char *s = jparse_string(j);
		if (!s) return -1;
		node = jnew(j, JT_STRING);
		j->nodes[node].string = s;
		break;
	}
	case 't': node = jliteral(j, "true", JT_TRUE); break;
	case 'f': node = jliteral(j, "false", JT_FALSE); break;
	case 'n': node = jliteral(j, "null", JT_NULL); break;
	default: node = jparse_number(j); break;
	}
	j->depth--;
	if (node >= 0) {
		j->nodes[node].raw = start;
		j->nodes[node].raw_len = (size_t)(j->p - start);
	}
	return node;
}

void jfree(jparser_t *j)
{
	for (int i = 0; i < j->count; i++) {
		free(j->nodes[i].string);
		free(j->nodes[i].key);
	}
	free(j->nodes);
}

jnode_t *jmember(jparser_t *j, jnode_t *object, const char *key)
{
	for (int c = object->child; c >= 0; c = j->nodes[c].next)
		if (!strcmp(j->nodes[c].key, key))
			return &j->nodes[c];
	return NULL;
}

int is_integer(const jnode_t *n, double min, double max)
{
	return n && n->type == JT_NUMBER && n->number == floor(n->number) && n->number >= min && n->number <= max;
}

int jparse_document(jparser_t *j)
{
	int root_index = jparse_value(j);
	if (root_index >= 0) {
		jskip_ws(j);
		if (j->p != j->end) {
			j->error = "trailing characters after the JSON value";
			root_index = -1;
		}
	}
	return root_index;
}
