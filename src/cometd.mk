# src/cometd.mk: authentication of desktops (auth) and the CometD/Bayeux endpoint (cometd).
# Included by Makefile.am; add sources with libucgw_a_SOURCES += ... and
# tests with check_PROGRAMS/TESTS += ... (see tests/tests.mk for the pattern).
libucgw_a_SOURCES += \
	src/auth.c src/auth.h \
	src/cometd.c src/cometd.h \
	src/cometd_channel.c src/cometd_diag.c

# CometD over WebSocket (libwslay)
AM_CFLAGS += $(WSLAY_CFLAGS)
DEPS_LIBS += $(WSLAY_LIBS)
libucgw_a_SOURCES += \
	src/ws.c src/ws.h \
	src/cometd_ws.c src/cometd_ws.h

# The WebSocket frame path's fuzz target, built as a replay program (see tests/tests.mk).
noinst_PROGRAMS += tests/fuzz/fuzz_ws
tests_fuzz_fuzz_ws_SOURCES = tests/fuzz/fuzz_ws.c
tests_fuzz_fuzz_ws_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_STANDALONE

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_cometd tests/unit/test_auth
TESTS += tests/unit/test_cometd tests/unit/test_auth
tests_unit_test_cometd_SOURCES = tests/unit/test_cometd.c tests/unit/unit.h
tests_unit_test_cometd_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cometd_LDADD = $(UNIT_LDADD)
tests_unit_test_auth_SOURCES = tests/unit/test_auth.c tests/unit/unit.h
tests_unit_test_auth_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_LDADD = $(UNIT_LDADD)
endif

if HAVE_NODE
TESTS += \
	tests/e2e/cometd_client.test.js \
	tests/e2e/cometd_protocol.test.js \
	tests/e2e/cometd_ws.test.js
endif
