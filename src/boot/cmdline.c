// SPDX-License-Identifier: MIT
#include "boot/cmdline.h"

#include <errno.h>
#include <string.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

size_t cmdline_params_end(const char *s)
{
	size_t i = 0, n = strlen(s);

	while (i < n) {
		size_t start;
		int quoted = 0;

		while (i < n && is_space(s[i]))
			i++;
		start = i;
		/* One word: spaces inside double quotes do not end it. */
		while (i < n && (quoted || !is_space(s[i]))) {
			if (s[i] == '"')
				quoted = !quoted;
			i++;
		}
		if (i - start == 2 && s[start] == '-' && s[start + 1] == '-')
			return start;
	}
	return n;
}

int cmdline_compose(char *out, size_t cap, const char *user, const char *words)
{
	size_t end = cmdline_params_end(user), ulen = strlen(user), wlen = strlen(words);
	size_t head = end, sep, total;

	/* "a -- b": "a" + words + " -- b": the spaces before "--" follow the
	 * words; a "--" that opens the line gets one. */
	while (head > 0 && is_space(user[head - 1]) && end < ulen)
		head--;
	sep = end < ulen && head == end ? 1 : 0;
	total = ulen + wlen + sep;
	if (cap == 0 || total > cap - 1)
		return -E2BIG;
	memcpy(out, user, head);
	memcpy(out + head, words, wlen);
	if (sep)
		out[head + wlen] = ' ';
	memcpy(out + head + wlen + sep, user + head, ulen - head + 1);
	return (int)total;
}
