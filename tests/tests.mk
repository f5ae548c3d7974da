# tests/tests.mk: unit tests (Check, TAP output) and end-to-end tests (node,
# real processes), all run by `make check` through the TAP driver.
TEST_EXTENSIONS = .js .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
JS_LOG_DRIVER = $(LOG_DRIVER)
SH_LOG_DRIVER = $(LOG_DRIVER)
JS_LOG_COMPILER = $(NODE) --test-reporter=tap
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	UCGW_BUILDDIR='$(abs_top_builddir)'; export UCGW_BUILDDIR; \
	UCGW_SRCDIR='$(abs_top_srcdir)'; export UCGW_SRCDIR;

UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
UNIT_LDADD = libucgw.a $(CHECK_LIBS) $(DEPS_LIBS)

# Every configuration key is documented; every C file is formatted.
TESTS += tests/unit/config-docs.sh tests/unit/format.sh

# make format: format every C source and header with .clang-format.
format:
	cd $(top_srcdir) && clang-format --style=file -i `find src tests -maxdepth 2 -name '*.[ch]'`
.PHONY: format

EXTRA_DIST += tests/unit/config-docs.sh tests/unit/format.sh tests/e2e tests/quickstart tests/summary tests/demo.js \
	tests/fuzz/fuzz_replay.h

# Fuzz targets are built (by the fragment of their module) as plain programs
# (-DFUZZ_STANDALONE) that replay files named on the command line; build them
# with clang -fsanitize=fuzzer for real fuzzing (each file's top comment and
# docs/testing.md).
