/* SPDX-License-Identifier: MIT */
/*
 * Strict JSON in, with serde's field rules: the reading half of fc_json.c.
 *
 * json-c parses; a lexical pass before it refuses what json-c's strict mode
 * still lets through (NaN, Infinity, "1.", "-01", raw control characters in
 * strings, lone surrogates, \u0000, integers beyond 64 bits, which json-c
 * would clamp) and counts object members, so that a key json-c silently
 * replaced (a duplicate) is caught after the parse.
 *
 * The field getters follow serde's derive: a field is required (absent is
 * "missing field", null is a type error), defaulted (absent takes the
 * default, null is a type error) or an Option (absent and null both mean
 * None). Messages name the field by its dotted path and quote the bad value,
 * in serde's words ("invalid type: string \"x\", expected a boolean").
 */
#ifndef EMBER_API_JSON_STRICT_H
#define EMBER_API_JSON_STRICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Largest JSON text accepted (Firecracker's API caps bodies at 51200 bytes by
 * default; its config file has no cap). */
#define JS_MAX_BYTES (16u << 20)

/* Parse buf[len] (no NUL needed) into a json-c tree; the caller puts it.
 * 0, -EINVAL (message) or -ENOMEM. */
int js_parse(const char *buf, size_t len, struct json_object **out);

/* Where a field may be missing or null (see above). */
enum js_need { JS_REQUIRED, JS_DEFAULT, JS_OPTION };

/* -EINVAL with "<path>.<key>: <fmt>" ("<key>: " at the top, "<path>: " with
 * key NULL). */
int js_err(const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy s (n bytes) for a message: at most 64 bytes, cut on a UTF-8
 * boundary, "..." when cut. */
void js_quote(char *dst, size_t cap, const char *s, size_t n);

/* v must be an object; `what` names the expected struct in the message. */
int js_object(struct json_object *v, const char *path, const char *what);
/* Refuse a key not in known[n] (serde's deny_unknown_fields). */
int js_known(struct json_object *obj, const char *path, const char *const *known, size_t n);

/*
 * The value of key, or NULL when absent or null; *err gets -EINVAL when need
 * forbids that (a required field absent or null, a defaulted field null);
 * `expected` names the type for that message.
 */
struct json_object *js_field(struct json_object *obj, const char *path, const char *key,
			     enum js_need need, const char *expected, int *err);

/* Typed fields. *given (may be NULL) says whether a value was there; dst is
 * untouched when not. A string is returned in place (valid while the tree
 * lives) and never holds a NUL byte. */
int js_strp(struct json_object *obj, const char *path, const char *key, enum js_need need,
	    const char **dst, bool *given);
int js_bool(struct json_object *obj, const char *path, const char *key, enum js_need need,
	    bool *dst, bool *given);
/* An unsigned integer up to max; `type` names the Rust type (u8, u32, u64,
 * usize) for the message when it does not fit. */
int js_uint(struct json_object *obj, const char *path, const char *key, enum js_need need,
	    uint64_t max, const char *type, uint64_t *dst, bool *given);
/* A string that must be one of names[n] exactly (a serde unit variant);
 * *dst gets its index. */
int js_variant(struct json_object *obj, const char *path, const char *key, enum js_need need,
	       const char *const *names, size_t n, unsigned *dst, bool *given);

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
size_t js_utf8_len(const unsigned char *p, size_t left);
bool js_utf8_valid(const char *s, size_t n);

/* "a.b" from path and key, for descending into a nested object. */
void js_subpath(char *dst, size_t cap, const char *path, const char *key);

#endif
