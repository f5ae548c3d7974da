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

if HAVE_CHECK
unit_tests = \
	tests/unit/test_util \
	tests/unit/test_json \
	tests/unit/test_conf \
	tests/unit/test_hparse \
	tests/unit/test_hmap \
	tests/unit/test_reap \
	tests/unit/test_session \
	tests/unit/test_agent \
	tests/unit/test_record
check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)
tests_unit_test_util_SOURCES = tests/unit/test_util.c tests/unit/unit.h
tests_unit_test_util_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_util_LDADD = $(UNIT_LDADD)
tests_unit_test_json_SOURCES = tests/unit/test_json.c tests/unit/unit.h
tests_unit_test_json_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_json_LDADD = $(UNIT_LDADD)
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c tests/unit/unit.h
tests_unit_test_conf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_conf_LDADD = $(UNIT_LDADD)
tests_unit_test_hparse_SOURCES = tests/unit/test_hparse.c tests/unit/unit.h
tests_unit_test_hparse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hparse_LDADD = $(UNIT_LDADD)
tests_unit_test_hmap_SOURCES = tests/unit/test_hmap.c tests/unit/unit.h
tests_unit_test_hmap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hmap_LDADD = $(UNIT_LDADD)
tests_unit_test_reap_SOURCES = tests/unit/test_reap.c tests/unit/unit.h
tests_unit_test_reap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_reap_LDADD = $(UNIT_LDADD)
tests_unit_test_session_SOURCES = tests/unit/test_session.c tests/unit/unit.h
tests_unit_test_session_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_session_LDADD = $(UNIT_LDADD)
tests_unit_test_agent_SOURCES = tests/unit/test_agent.c tests/unit/unit.h
tests_unit_test_agent_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_agent_LDADD = $(UNIT_LDADD)
tests_unit_test_record_SOURCES = tests/unit/test_record.c tests/unit/unit.h
tests_unit_test_record_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_record_LDADD = $(UNIT_LDADD)
endif

# Every configuration key is documented; every C file is formatted.
TESTS += tests/unit/config-docs.sh tests/unit/format.sh

# make format: format every C source and header with .clang-format.
format:
	cd $(top_srcdir) && clang-format --style=file -i `find src tests -maxdepth 2 -name '*.[ch]'`
.PHONY: format

if HAVE_NODE
TESTS += \
	tests/e2e/daemon.test.js \
	tests/e2e/http2.test.js \
	tests/e2e/gws_me.test.js \
	tests/e2e/im_conversation.test.js \
	tests/e2e/im_faults.test.js
endif

# Running as a service (issue 16): metrics, readiness, logs.
if HAVE_NODE
TESTS += tests/e2e/service_metrics.test.js tests/e2e/service_tls.test.js \
	tests/e2e/service_notify.test.js
endif
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_service
TESTS += tests/unit/test_service
tests_unit_test_service_SOURCES = tests/unit/test_service.c tests/unit/unit.h
tests_unit_test_service_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_service_LDADD = $(UNIT_LDADD)
endif
# Stands in for systemd's notification socket (service_notify.test.js).
check_PROGRAMS += tests/notify-sink
tests_notify_sink_SOURCES = tests/notify-sink.c

EXTRA_DIST += tests/unit/config-docs.sh tests/unit/format.sh tests/e2e tests/quickstart tests/summary tests/demo.js

# Fuzz targets: built here as plain programs (-DFUZZ_STANDALONE) that replay
# files named on the command line; build them with clang -fsanitize=fuzzer
# for real fuzzing (see each file's top comment and docs/testing.md).
noinst_PROGRAMS += tests/fuzz/fuzz_hparse tests/fuzz/fuzz_json
tests_fuzz_fuzz_hparse_SOURCES = tests/fuzz/fuzz_hparse.c
tests_fuzz_fuzz_hparse_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_STANDALONE
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c
tests_fuzz_fuzz_json_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_STANDALONE
