# src/ucwa.mk: the UCWA client: HTTPS client (hclient), sign-in, application, event channel, commands.
# Included by Makefile.am; add sources with libucgw_a_SOURCES += ... and
# tests with check_PROGRAMS/TESTS += ... (see tests/tests.mk for the pattern).
libucgw_a_SOURCES += src/hclient.c src/hclient.h

if HAVE_CHECK
ucwa_unit_tests = \
	tests/unit/test_hclient
check_PROGRAMS += $(ucwa_unit_tests)
TESTS += $(ucwa_unit_tests)
tests_unit_test_hclient_SOURCES = tests/unit/test_hclient.c tests/unit/unit.h
tests_unit_test_hclient_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hclient_LDADD = $(UNIT_LDADD)
endif
