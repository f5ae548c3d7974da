# src/gws.mk: the desktop side (included by Makefile.am): the router and the
# GWS envelope, authentication and throttling, the agents and their sign-in,
# the IM session table and API, the relay of UCWA changes, recording, the
# admin listener.
libucgw_a_SOURCES += src/gws.c src/gws.h src/gws_reply.c src/gws_reply.h src/gws_me.c \
	src/gws_me.h src/gws_im.c src/gws_im.h src/gws_im_int.h src/gws_im_ops.c src/gws_im_up.c \
	src/auth.c src/auth.h src/throttle.c src/throttle.h src/agent.c src/agent.h src/signin.c \
	src/signin.h src/relay.c src/relay.h src/session.c src/session.h src/record.c src/record.h \
	src/admin.c src/admin.h

if HAVE_CHECK
gws_unit_tests = tests/unit/test_auth tests/unit/test_throttle tests/unit/test_agent tests/unit/test_session tests/unit/test_service \
	tests/unit/test_record
check_PROGRAMS += $(gws_unit_tests)
TESTS += $(gws_unit_tests)
tests_unit_test_auth_SOURCES = tests/unit/test_auth.c tests/unit/unit.h
tests_unit_test_auth_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_LDADD = $(UNIT_LDADD)
tests_unit_test_throttle_SOURCES = tests/unit/test_throttle.c tests/unit/unit.h
tests_unit_test_throttle_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_throttle_LDADD = $(UNIT_LDADD)
tests_unit_test_agent_SOURCES = tests/unit/test_agent.c tests/unit/unit.h
tests_unit_test_agent_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_agent_LDADD = $(UNIT_LDADD)
tests_unit_test_session_SOURCES = tests/unit/test_session.c tests/unit/unit.h
tests_unit_test_session_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_session_LDADD = $(UNIT_LDADD)
tests_unit_test_service_SOURCES = tests/unit/test_service.c tests/unit/unit.h
tests_unit_test_service_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_service_LDADD = $(UNIT_LDADD)
tests_unit_test_record_SOURCES = tests/unit/test_record.c tests/unit/unit.h
tests_unit_test_record_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_record_LDADD = $(UNIT_LDADD)
endif

# The router fuzz target (whole requests through gws_handle) and a replay of its seeds.
noinst_PROGRAMS += tests/fuzz/fuzz_router
tests_fuzz_fuzz_router_SOURCES = tests/fuzz/fuzz_router.c
tests_fuzz_fuzz_router_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_STANDALONE
TESTS += tests/unit/fuzz-router.sh
EXTRA_DIST += tests/unit/fuzz-router.sh tests/fuzz/router

if HAVE_NODE
TESTS += \
	tests/e2e/gws_me.test.js \
	tests/e2e/im_conversation.test.js \
	tests/e2e/im_faults.test.js \
	tests/e2e/harden_signin.test.js \
	tests/e2e/harden_csrf.test.js \
	tests/e2e/harden_input.test.js \
	tests/e2e/harden_memory.test.js \
	tests/e2e/service_metrics.test.js \
	tests/e2e/reload_record.test.js \
	tests/e2e/reload_record_incoming.test.js
endif
