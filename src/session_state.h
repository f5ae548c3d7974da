/*
 * session_state.h: the state of a GWS IM session, one enum shared by the
 * session table (session.h), which keeps it, and the translation rules
 * (xlate.h), which map UCWA states onto it, name it and give each state
 * its capabilities. No code.
 */
#ifndef UCGW_SESSION_STATE_H
#define UCGW_SESSION_STATE_H

enum session_state {
	SESSION_NONE = -1, /* no change, or not announced yet */
	SESSION_INITIATING,
	SESSION_ALERTING,
	SESSION_TALKING,
	SESSION_COMPLETED,
	SESSION_NSTATES
};

#endif
