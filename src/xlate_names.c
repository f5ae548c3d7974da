/*
 * xlate_names.c: the names the translation rules share: GWS states,
 * capabilities and notification variables, and the lookup of a name in a
 * list. A leaf: the loader, the templates, the text policy, the run-time
 * functions and the recorder all use it, and it calls none of them.
 */
#include <string.h>

#include "xlate_int.h"

/* Indexed by enum session_state, by capability bit number and by enum xlate_var. */
const char *const xlate_names_states[] = { "Initiating", "Alerting", "Talking", "Completed" };
const char *const xlate_names_caps[] = { "SendMessage", "AttachUserData", "UpdateUserData",
	"DeleteUserData", "Complete" };
const char *const xlate_names_vars[] = { "id", "state", "reason", "reason_code", "sender",
	"sender_name", "sender_phone", "direction", "timestamp", "agent", "text" };

_Static_assert(sizeof xlate_names_states / sizeof *xlate_names_states == SESSION_NSTATES,
    "one name per session state");
_Static_assert(
    sizeof xlate_names_caps / sizeof *xlate_names_caps == 5 && XLATE_CAP_COMPLETE == 1 << 4,
    "one name per capability bit");
_Static_assert(sizeof xlate_names_vars / sizeof *xlate_names_vars == XV_NVARS,
    "one name per notification variable");

/* Name of a GWS state. */
const char *
xlate_names_state(enum session_state s)
{
	return (s >= 0 && s < SESSION_NSTATES) ? xlate_names_states[s] : "";
}

/* GWS state from its name (surrounding blanks tolerated, as in the samples). */
enum session_state
xlate_names_state_parse(const char *s)
{
	size_t len;

	if (s == NULL)
		return SESSION_NONE;
	while (*s == ' ')
		s++;
	for (len = strlen(s); len > 0 && s[len - 1] == ' '; len--)
		;
	for (int i = 0; i < SESSION_NSTATES; i++) {
		if (strlen(xlate_names_states[i]) == len &&
		    strncmp(s, xlate_names_states[i], len) == 0)
			return i;
	}
	return SESSION_NONE;
}

/* Name of one capability bit. */
const char *
xlate_names_cap(unsigned bit)
{
	for (int i = 0; i < 5; i++) {
		if (bit == 1u << i)
			return xlate_names_caps[i];
	}
	return "";
}

/* Capability bit from its name, 0 if unknown. */
unsigned
xlate_names_cap_parse(const char *s)
{
	for (int i = 0; i < 5; i++) {
		if (s != NULL && strcmp(s, xlate_names_caps[i]) == 0)
			return 1u << i;
	}
	return 0;
}

/* Name of a notification variable. */
const char *
xlate_names_var(enum xlate_var v)
{
	return (v >= 0 && v < XV_NVARS) ? xlate_names_vars[v] : "";
}

/* Index of name in a NULL-terminated or counted list, -1 if absent. */
int
xlate_names_index(const char *const *list, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n && list[i] != NULL; i++) {
		if (strlen(list[i]) == len && strncmp(list[i], s, len) == 0)
			return (int)i;
	}
	return -1;
}
