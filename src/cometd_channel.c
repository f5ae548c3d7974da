/*
 * cometd_channel.c: Bayeux channel names and subscription patterns. A name
 * is "/seg/seg...", each segment one or more of letters, digits and
 * - _ ! ~ ( ) $ @ (the Bayeux grammar). A pattern may end in a "*" segment (exactly
 * one more segment) or a "**" segment (one or more more segments). Pure functions.
 */
#include <string.h>

#include "cometd.h"

#define COMETD_SEGCHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!~()$@"

/* The length of the run of COMETD_SEGCHARS at s (strspn, without its table built per call). */
static size_t
cometd_channel_seglen(const char *s)
{
	size_t n = 0;

	for (;; n++) {
		unsigned char c = (unsigned char)s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '_' || c == '!' || c == '~' || c == '(' || c == ')' ||
			c == '$' || c == '@'))
			return n;
	}
}

/* Whether s is a channel name, or with allow_wild also a trailing-wildcard pattern. */
int
cometd_channel_valid(const char *s, int allow_wild)
{
	size_t n;

	if (s == NULL || *s != '/' || strlen(s) > 256)
		return 0;
	while (*s == '/') {
		s++;
		n = cometd_channel_seglen(s);
		if (n == 0 && allow_wild && (strcmp(s, "*") == 0 || strcmp(s, "**") == 0))
			return 1;
		if (n == 0)
			return 0;
		s += n;
	}
	return *s == '\0';
}

/* Whether channel (a plain name) matches pattern. */
int
cometd_channel_match(const char *pattern, const char *channel)
{
	size_t plen = strlen(pattern), pre;
	const char *rest;

	if (plen >= 3 && strcmp(pattern + plen - 3, "/**") == 0) {
		pre = plen - 2; /* keep the '/' */
		return strncmp(pattern, channel, pre) == 0 && channel[pre] != '\0';
	}
	if (plen >= 2 && strcmp(pattern + plen - 2, "/*") == 0) {
		pre = plen - 1;
		if (strncmp(pattern, channel, pre) != 0)
			return 0;
		rest = channel + pre;
		return *rest != '\0' && strchr(rest, '/') == NULL;
	}
	return strcmp(pattern, channel) == 0;
}
