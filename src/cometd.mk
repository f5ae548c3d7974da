# src/cometd.mk: authentication of desktops (auth) and the CometD/Bayeux endpoint (cometd).
# Included by Makefile.am; add sources with libucgw_a_SOURCES += ... and
# tests with check_PROGRAMS/TESTS += ... (see tests/tests.mk for the pattern).
libucgw_a_SOURCES += \
	src/auth.c src/auth.h \
	src/cometd.c src/cometd.h \
	src/cometd_channel.c src/cometd_diag.c

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
	tests/e2e/cometd_protocol.test.js
endif
