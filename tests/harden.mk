# tests/harden.mk: tests of the hardening (issue 14): resource bounds, sign-in
# throttling, CSRF and strict parsing. Included by Makefile.am.
if HAVE_NODE
TESTS += \
	tests/e2e/harden_fds.test.js \
	tests/e2e/harden_signin.test.js \
	tests/e2e/harden_csrf.test.js \
	tests/e2e/harden_input.test.js \
	tests/e2e/harden_memory.test.js
endif

libucgw_a_SOURCES += src/throttle.c src/throttle.h

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_throttle
TESTS += tests/unit/test_throttle
tests_unit_test_throttle_SOURCES = tests/unit/test_throttle.c tests/unit/unit.h
tests_unit_test_throttle_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_throttle_LDADD = $(UNIT_LDADD)
endif

# The router fuzz target (whole requests through gws_handle) and a replay of its seeds.
noinst_PROGRAMS += tests/fuzz/fuzz_router
tests_fuzz_fuzz_router_SOURCES = tests/fuzz/fuzz_router.c
tests_fuzz_fuzz_router_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_STANDALONE
TESTS += tests/unit/fuzz-router.sh
EXTRA_DIST += tests/unit/fuzz-router.sh
EXTRA_DIST += tests/fuzz/router
