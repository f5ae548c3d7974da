/*
 * cometd_channel.c: Bayeux channel names and subscription patterns. A name
 * is "/seg/seg...", each segment one or more of letters, digits and
 * - _ ! ~ ( ) $ @ (the Bayeux grammar). A pattern may end in a "*" segment (exactly
 * one more segment) or a "**" segment (one or more more segments). Pure functions.
 */
#include <string.h>

#include "cometd.h"

#define COMETD_SEGCHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!~()$@"

/* The bytes of a segment (COMETD_SEGCHARS). */
static const unsigned char cometd_segchar[256] = {
	['a'] = 1,
	['b'] = 1,
	['c'] = 1,
	['d'] = 1,
	['e'] = 1,
	['f'] = 1,
	['g'] = 1,
	['h'] = 1,
	['i'] = 1,
	['j'] = 1,
	['k'] = 1,
	['l'] = 1,
	['m'] = 1,
	['n'] = 1,
	['o'] = 1,
	['p'] = 1,
	['q'] = 1,
	['r'] = 1,
	['s'] = 1,
	['t'] = 1,
	['u'] = 1,
	['v'] = 1,
	['w'] = 1,
	['x'] = 1,
	['y'] = 1,
	['z'] = 1,
	['A'] = 1,
	['B'] = 1,
	['C'] = 1,
	['D'] = 1,
	['E'] = 1,
	['F'] = 1,
	['G'] = 1,
	['H'] = 1,
	['I'] = 1,
	['J'] = 1,
	['K'] = 1,
	['L'] = 1,
	['M'] = 1,
	['N'] = 1,
	['O'] = 1,
	['P'] = 1,
	['Q'] = 1,
	['R'] = 1,
	['S'] = 1,
	['T'] = 1,
	['U'] = 1,
	['V'] = 1,
	['W'] = 1,
	['X'] = 1,
	['Y'] = 1,
	['Z'] = 1,
	['0'] = 1,
	['1'] = 1,
	['2'] = 1,
	['3'] = 1,
	['4'] = 1,
	['5'] = 1,
	['6'] = 1,
	['7'] = 1,
	['8'] = 1,
	['9'] = 1,
	['-'] = 1,
	['_'] = 1,
	['!'] = 1,
	['~'] = 1,
	['('] = 1,
	[')'] = 1,
	['$'] = 1,
	['@'] = 1,
};

/* The length of the run of COMETD_SEGCHARS at s (strspn, without its table built per call). */
static size_t
cometd_channel_seglen(const char *s)
{
	size_t n = 0;

	while (cometd_segchar[(unsigned char)s[n]])
		n++;
	return n;
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
