# src/ucwa.mk: the UCWA client (included by Makefile.am): sign-in, application,
# agent state, event channel and its parser, conversations and commands, calls,
# data URIs.
libucgw_a_SOURCES += src/datauri.c src/datauri.h \
	src/ucwa_event.c src/ucwa_event.h src/ucwa.c src/ucwa.h src/ucwa_auth.c src/ucwa_app.c \
	src/ucwa_state.c src/ucwa_chan.c src/ucwa_conv.c src/ucwa_call.c src/ucwa_int.h \
	src/ucwa_resume.c src/ucwa_saved.c

if HAVE_CHECK
ucwa_unit_tests = \
	tests/unit/test_ucwa_event \
	tests/unit/test_ucwa \
	tests/unit/test_ucwa_saved
check_PROGRAMS += $(ucwa_unit_tests)
TESTS += $(ucwa_unit_tests)
tests_unit_test_ucwa_event_SOURCES = tests/unit/test_ucwa_event.c tests/unit/unit.h
tests_unit_test_ucwa_event_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ucwa_event_LDADD = $(UNIT_LDADD)
tests_unit_test_ucwa_SOURCES = tests/unit/test_ucwa.c tests/unit/fake_ucwa.c \
	tests/unit/fake_ucwa.h tests/unit/unit.h
tests_unit_test_ucwa_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ucwa_LDADD = $(UNIT_LDADD)
tests_unit_test_ucwa_saved_SOURCES = tests/unit/test_ucwa_saved.c tests/unit/unit.h
tests_unit_test_ucwa_saved_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ucwa_saved_LDADD = $(UNIT_LDADD)
endif

EXTRA_DIST += proto/ucwa-events

# The event-channel parser's fuzz target, built as a replay program (see tests/tests.mk).
noinst_PROGRAMS += tests/fuzz/fuzz_ucwa_event
tests_fuzz_fuzz_ucwa_event_SOURCES = tests/fuzz/fuzz_ucwa_event.c
tests_fuzz_fuzz_ucwa_event_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_STANDALONE

# The test driver of the UCWA client (end-to-end tests); not installed, not in ucgw.
check_PROGRAMS += tests/ucwa-drive
tests_ucwa_drive_SOURCES = tests/ucwa-drive.c
tests_ucwa_drive_LDADD = libucgw.a $(DEPS_LIBS)

if HAVE_NODE
TESTS += \
	tests/e2e/ucwa_tls.test.js \
	tests/e2e/ucwa_sim.test.js \
	tests/e2e/ucwa_resume.test.js \
	tests/e2e/im_profiles.test.js \
	tests/e2e/im_recovery.test.js \
	tests/e2e/restart_single.test.js
endif
