# src/cometd.mk: the CometD/Bayeux server on long-polling and on WebSocket
# (included by Makefile.am).
libucgw_a_SOURCES += src/cometd.c src/cometd.h src/cometd_channel.c src/cometd_diag.c \
	src/cometd_ws.c src/cometd_ws.h

if HAVE_CHECK
cometd_unit_tests = tests/unit/test_cometd
check_PROGRAMS += $(cometd_unit_tests)
TESTS += $(cometd_unit_tests)
tests_unit_test_cometd_SOURCES = tests/unit/test_cometd.c tests/unit/unit.h
tests_unit_test_cometd_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cometd_LDADD = $(UNIT_LDADD)
endif

if HAVE_NODE
TESTS += \
	tests/e2e/cometd_client.test.js \
	tests/e2e/cometd_protocol.test.js \
	tests/e2e/cometd_ws.test.js
endif
