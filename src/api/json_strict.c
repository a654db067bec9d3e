// SPDX-License-Identifier: MIT
#include "api/json_strict.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "util.h"

/* Nesting json-c accepts. Firecracker's deepest body (a rate limiter in a
 * drive in the config file) is 5 levels; serde_json stops at 128. */
#define JS_MAX_DEPTH 32
#define JS_QUOTE_MAX 64 /* bytes of a value quoted in a message */

void js_quote(char *dst, size_t cap, const char *s, size_t n)
{
	size_t k = n;

	if (cap == 0)
		return;
	if (k > JS_QUOTE_MAX)
		k = JS_QUOTE_MAX;
	if (k + 4 > cap)
		k = cap > 4 ? cap - 4 : 0;
	/* Never end inside a UTF-8 sequence: back up over continuation bytes. */
	if (k < n)
		while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
	memcpy(dst, s, k);
	if (k < n && cap >= k + 4)
		memcpy(dst + k, "...", 4);
	else
		dst[k] = '\0';
}

int js_err(const char *path, const char *key, const char *fmt, ...)
{
	char msg[EMBER_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key)
		return ember_seterr(-EINVAL, "%s%s%s: %s", path, *path ? "." : "", key, msg);
	if (*path)
		return ember_seterr(-EINVAL, "%s: %s", path, msg);
	return ember_seterr(-EINVAL, "%s", msg);
}

void js_subpath(char *dst, size_t cap, const char *path, const char *key)
{
	snprintf(dst, cap, "%s%s%s", path, *path ? "." : "", key);
}

/* ---- the lexical pass ---- */

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hex4(const unsigned char *p, size_t left, unsigned *out)
{
	unsigned v = 0;

	if (left < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

size_t js_utf8_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* The string starting at b[*i] == '"'; leaves *i on the closing quote. */
static int scan_string(const unsigned char *b, size_t len, size_t *i)
{
	size_t start = *i, k = *i + 1;

	for (;;) {
		if (k >= len)
			return js_err("", NULL, "invalid JSON: unterminated string at byte %zu",
				      start);
		unsigned char c = b[k];

		if (c == '"')
			break;
		if (c < 0x20)
			return js_err("", NULL,
				      "invalid JSON: control character 0x%02x in a string at "
				      "byte %zu",
				      c, k);
		if (c == '\\') {
			unsigned cp, lo;

			if (k + 1 >= len)
				return js_err("", NULL,
					      "invalid JSON: unterminated string at "
					      "byte %zu",
					      start);
			c = b[k + 1];
			if (strchr("\"\\/bfnrt", c) && c) {
				k += 2;
				continue;
			}
			if (c != 'u' || hex4(b + k + 2, len - k - 2, &cp))
				return js_err("", NULL, "invalid JSON: bad escape at byte %zu", k);
			k += 6;
			if (cp == 0)
				return js_err("", NULL,
					      "invalid JSON: \\u0000 at byte %zu (strings must "
					      "not contain NUL)",
					      k - 6);
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return js_err("", NULL,
					      "invalid JSON: lone trailing surrogate at byte %zu",
					      k - 6);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (k + 1 >= len || b[k] != '\\' || b[k + 1] != 'u' ||
				    hex4(b + k + 2, len - k - 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return js_err("", NULL,
						      "invalid JSON: lone leading surrogate at "
						      "byte %zu",
						      k - 6);
				k += 6;
			}
			continue;
		}
		size_t n = js_utf8_len(b + k, len - k);

		if (n == 0)
			return js_err("", NULL, "invalid JSON: invalid UTF-8 at byte %zu", k);
		k += n;
	}
	*i = k;
	return 0;
}

/* RFC 8259's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and an
 * integer must fit 64 bits (json-c clamps what does not). */
static int scan_number(const unsigned char *b, size_t len, size_t *i)
{
	size_t k = *i, start = *i, digits;
	bool neg = false, integer = true;

	if (b[k] == '-') {
		neg = true;
		k++;
	}
	digits = k;
	if (k < len && b[k] == '0') {
		k++;
	} else if (k < len && b[k] >= '1' && b[k] <= '9') {
		while (k < len && b[k] >= '0' && b[k] <= '9')
			k++;
	} else {
		return js_err("", NULL, "invalid JSON: bad number at byte %zu", start);
	}
	size_t ndig = k - digits;

	if (k < len && b[k] == '.') {
		integer = false;
		if (++k >= len || b[k] < '0' || b[k] > '9')
			return js_err("", NULL, "invalid JSON: bad number at byte %zu", start);
		while (k < len && b[k] >= '0' && b[k] <= '9')
			k++;
	}
	if (k < len && (b[k] == 'e' || b[k] == 'E')) {
		integer = false;
		k++;
		if (k < len && (b[k] == '+' || b[k] == '-'))
			k++;
		if (k >= len || b[k] < '0' || b[k] > '9')
			return js_err("", NULL, "invalid JSON: bad number at byte %zu", start);
		while (k < len && b[k] >= '0' && b[k] <= '9')
			k++;
	}
	if (k < len && !is_ws(b[k]) && !strchr(",]}", b[k]))
		return js_err("", NULL, "invalid JSON: bad number at byte %zu", start);
	if (integer) {
		/* 2^64-1 and -2^63 as digit strings; compare by length, then text. */
		const char *lim = neg ? "9223372036854775808" : "18446744073709551615";
		size_t ln = strlen(lim);

		if (ndig > ln || (ndig == ln && memcmp(b + digits, lim, ln) > 0)) {
			char q[80];

			js_quote(q, sizeof(q), (const char *)b + start, k - start);
			return js_err("", NULL,
				      "invalid JSON: integer %s at byte %zu does not fit 64 "
				      "bits",
				      q, start);
		}
	}
	*i = k;
	return 0;
}

/* Refuse what json-c's strict mode accepts but RFC 8259 does not, and count
 * object members (one ':' each, outside strings). */
static int prescan(const unsigned char *b, size_t len, size_t *members)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = b[i];
		int err;

		if (is_ws(c) || c == '{' || c == '}' || c == '[' || c == ']' || c == ',')
			continue;
		if (c == ':') {
			n++;
			continue;
		}
		if (c == '"') {
			if ((err = scan_string(b, len, &i)))
				return err;
			continue;
		}
		if (c == '-' || (c >= '0' && c <= '9')) {
			if ((err = scan_number(b, len, &i)))
				return err;
			i--; /* the loop's i++ lands on the byte after the number */
			continue;
		}
		if (c >= 'a' && c <= 'z') {
			size_t k = i;

			while (k < len &&
			       ((b[k] >= 'a' && b[k] <= 'z') || (b[k] >= 'A' && b[k] <= 'Z')))
				k++;
			if ((k - i == 4 && !memcmp(b + i, "true", 4)) ||
			    (k - i == 5 && !memcmp(b + i, "false", 5)) ||
			    (k - i == 4 && !memcmp(b + i, "null", 4))) {
				i = k - 1;
				continue;
			}
		}
		if (c >= 0x20 && c < 0x7f)
			return js_err("", NULL, "invalid JSON: unexpected '%c' at byte %zu", c, i);
		return js_err("", NULL, "invalid JSON: unexpected byte 0x%02x at byte %zu", c, i);
	}
	*members = n;
	return 0;
}

/* Members of every object in the tree json-c built. */
static size_t tree_members(struct json_object *v)
{
	size_t n = 0;

	switch (json_object_get_type(v)) {
	case json_type_object: {
		json_object_object_foreach(v, key, val)
		{
			(void)key;
			n += 1 + tree_members(val);
		}
		break;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(v); i++)
			n += tree_members(json_object_array_get_idx(v, i));
		break;
	default:
		break;
	}
	return n;
}

/*
 * A key repeated in one object, for the message: the raw text of the key
 * strings compared (a duplicate spelt with different escapes goes unnamed).
 * Only called once a duplicate is known to exist, on input json-c accepted,
 * so nesting is at most JS_MAX_DEPTH.
 */
static void find_duplicate(const unsigned char *b, size_t len, char *out, size_t cap)
{
	struct span {
		size_t off, len;
		int depth;
	} *keys = NULL;
	size_t nkeys = 0, capk = 0;
	int depth = 0;
	bool expect_key = false;

	out[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = b[i];

		if (c == '{') {
			depth++;
			expect_key = true;
		} else if (c == '[') {
			depth++;
			expect_key = false;
		} else if (c == '}' || c == ']') {
			while (nkeys && keys[nkeys - 1].depth == depth)
				nkeys--;
			depth--;
			expect_key = false;
		} else if (c == ',') {
			/* After a comma inside an object comes a key: the innermost
			 * open bracket decides, which is an object iff a key at this
			 * depth was seen (arrays never record keys). */
			expect_key = nkeys && keys[nkeys - 1].depth == depth;
		} else if (c == '"') {
			size_t start = i;

			if (scan_string(b, len, &i))
				break;
			if (!expect_key)
				continue;
			expect_key = false;
			size_t klen = i - start - 1;

			for (size_t k = nkeys; k-- > 0 && keys[k].depth == depth;) {
				if (keys[k].len == klen &&
				    !memcmp(b + keys[k].off, b + start + 1, klen)) {
					js_quote(out, cap, (const char *)b + start + 1, klen);
					free(keys);
					return;
				}
			}
			if (nkeys == capk) {
				size_t nc = capk ? capk * 2 : 16;
				struct span *nk = realloc(keys, nc * sizeof(*nk));

				if (!nk)
					break;
				keys = nk;
				capk = nc;
			}
			keys[nkeys++] = (struct span){ start + 1, klen, depth };
		}
	}
	free(keys);
}

int js_parse(const char *buf, size_t len, struct json_object **out)
{
	const unsigned char *b = (const unsigned char *)buf;
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error jerr;
	size_t members = 0;
	int err;

	*out = NULL;
	if (len > JS_MAX_BYTES)
		return js_err("", NULL, "invalid JSON: %zu bytes is over the limit of %u", len,
			      JS_MAX_BYTES);
	if ((err = prescan(b, len, &members)))
		return err;
	if (len == 0) /* (and buf may be NULL) */
		return js_err("", NULL, "invalid JSON: EOF while parsing a value");
	tok = json_tokener_new_ex(JS_MAX_DEPTH);
	if (!tok)
		return ember_seterr(-ENOMEM, "out of memory parsing JSON");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* Out of input mid-value, or a top-level number json-c cannot
		 * know has ended: a NUL byte says the input is over. */
		root = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
	}
	if (jerr != json_tokener_success) {
		size_t at = json_tokener_get_parse_end(tok);

		json_tokener_free(tok);
		json_object_put(root);
		if (len == 0 || jerr == json_tokener_continue ||
		    jerr == json_tokener_error_parse_eof)
			return js_err("", NULL, "invalid JSON: EOF while parsing a value");
		return js_err("", NULL, "invalid JSON: %s at byte %zu",
			      json_tokener_error_desc(jerr), at);
	}
	json_tokener_free(tok);
	if (tree_members(root) != members) {
		char key[80];

		json_object_put(root);
		find_duplicate(b, len, key, sizeof(key));
		if (key[0])
			return js_err("", NULL, "duplicate field `%s`", key);
		return js_err("", NULL, "duplicate field (a key repeats within an object)");
	}
	*out = root;
	return 0;
}

/* ---- fields ---- */

/* serde's words for what was found. */
static void describe(struct json_object *v, char *dst, size_t cap)
{
	char q[80];

	switch (json_object_get_type(v)) {
	case json_type_null:
		snprintf(dst, cap, "null");
		break;
	case json_type_boolean:
		snprintf(dst, cap, "boolean `%s`", json_object_get_boolean(v) ? "true" : "false");
		break;
	case json_type_int:
		if (json_object_get_int64(v) < 0)
			snprintf(dst, cap, "integer `%" PRId64 "`", json_object_get_int64(v));
		else
			snprintf(dst, cap, "integer `%" PRIu64 "`", json_object_get_uint64(v));
		break;
	case json_type_double:
		/* json-c keeps the number's text as it came */
		js_quote(q, sizeof(q), json_object_get_string(v),
			 strlen(json_object_get_string(v)));
		snprintf(dst, cap, "floating point `%s`", q);
		break;
	case json_type_string:
		js_quote(q, sizeof(q), json_object_get_string(v),
			 (size_t)json_object_get_string_len(v));
		snprintf(dst, cap, "string \"%s\"", q);
		break;
	case json_type_array:
		snprintf(dst, cap, "sequence");
		break;
	case json_type_object:
		snprintf(dst, cap, "map");
		break;
	}
}

static int type_err(struct json_object *v, const char *path, const char *key, const char *expected)
{
	char d[128];

	describe(v, d, sizeof(d));
	return js_err(path, key, "invalid type: %s, expected %s", d, expected);
}

/* serde's list of what was expected: "`a`", "`a` or `b`", "one of `a`, `b`, `c`". */
static void expected_list(char *dst, size_t cap, const char *const *names, size_t n)
{
	size_t used = 0;
	int w;

	dst[0] = '\0';
	if (n > 2) {
		w = snprintf(dst, cap, "one of ");
		used = w > 0 ? (size_t)w : 0;
	}
	for (size_t i = 0; i < n && used < cap; i++) {
		w = snprintf(dst + used, cap - used, "%s`%s`",
			     i == 0 ? "" : (n == 2 ? " or " : ", "), names[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int js_object(struct json_object *v, const char *path, const char *what)
{
	if (json_object_get_type(v) == json_type_object)
		return 0;
	return type_err(v, path, NULL, what);
}

int js_known(struct json_object *obj, const char *path, const char *const *known, size_t n)
{
	json_object_object_foreach(obj, key, val)
	{
		char list[256], q[80];
		bool found = false;

		(void)val;
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(key, known[i]) == 0;
		if (found)
			continue;
		expected_list(list, sizeof(list), known, n);
		js_quote(q, sizeof(q), key, strlen(key));
		return js_err(path, NULL, "unknown field `%s`, expected %s", q, list);
	}
	return 0;
}

struct json_object *js_field(struct json_object *obj, const char *path, const char *key,
			     enum js_need need, const char *expected, int *err)
{
	struct json_object *v = NULL;
	bool present = json_object_object_get_ex(obj, key, &v);

	*err = 0;
	if (!present) {
		if (need == JS_REQUIRED)
			*err = js_err(path, NULL, "missing field `%s`", key);
		return NULL;
	}
	if (v == NULL) { /* JSON null */
		if (need != JS_OPTION)
			*err = type_err(NULL, path, key, expected);
		return NULL;
	}
	return v;
}

int js_strp(struct json_object *obj, const char *path, const char *key, enum js_need need,
	    const char **dst, bool *given)
{
	int err;
	struct json_object *v = js_field(obj, path, key, need, "a string", &err);

	if (given)
		*given = false;
	if (err || !v)
		return err;
	if (json_object_get_type(v) != json_type_string)
		return type_err(v, path, key, "a string");
	*dst = json_object_get_string(v); /* no NUL inside: prescan refused \u0000 */
	if (given)
		*given = true;
	return 0;
}

bool js_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t k = js_utf8_len(p + i, n - i);

		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

int js_bool(struct json_object *obj, const char *path, const char *key, enum js_need need,
	    bool *dst, bool *given)
{
	int err;
	struct json_object *v = js_field(obj, path, key, need, "a boolean", &err);

	if (given)
		*given = false;
	if (err || !v)
		return err;
	if (json_object_get_type(v) != json_type_boolean)
		return type_err(v, path, key, "a boolean");
	*dst = json_object_get_boolean(v);
	if (given)
		*given = true;
	return 0;
}

int js_uint(struct json_object *obj, const char *path, const char *key, enum js_need need,
	    uint64_t max, const char *type, uint64_t *dst, bool *given)
{
	int err;
	struct json_object *v = js_field(obj, path, key, need, type, &err);

	if (given)
		*given = false;
	if (err || !v)
		return err;
	if (json_object_get_type(v) != json_type_int)
		return type_err(v, path, key, type);
	if (json_object_get_int64(v) < 0 || json_object_get_uint64(v) > max) {
		char d[128];

		describe(v, d, sizeof(d));
		return js_err(path, key, "invalid value: %s, expected %s", d, type);
	}
	*dst = json_object_get_uint64(v);
	if (given)
		*given = true;
	return 0;
}

int js_variant(struct json_object *obj, const char *path, const char *key, enum js_need need,
	       const char *const *names, size_t n, unsigned *dst, bool *given)
{
	int err;
	struct json_object *v = js_field(obj, path, key, need, "a string", &err);
	char list[256], q[80];

	if (given)
		*given = false;
	if (err || !v)
		return err;
	if (json_object_get_type(v) != json_type_string)
		return type_err(v, path, key, "a string");
	const char *s = json_object_get_string(v);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*dst = (unsigned)i;
			if (given)
				*given = true;
			return 0;
		}
	}
	expected_list(list, sizeof(list), names, n);
	js_quote(q, sizeof(q), s, (size_t)json_object_get_string_len(v));
	return js_err(path, key, "unknown variant `%s`, expected %s", q, list);
}
