# src/base.mk: the foundation every module stands on (included by Makefile.am):
# allocation, buffers, clocks and codecs, the log, JSON in and out, the
# configuration table, the hash map, the deferred free, TLS contexts, the
# metrics, and the process life shared by ucgw and ucwa-sim.
libucgw_a_SOURCES += src/xmalloc.c src/xmalloc.h src/buf.c src/buf.h src/strpool.c src/strpool.h src/util.c src/util.h \
	src/log.c src/log.h src/json.c src/json.h src/jw.c src/jw.h src/conf.c src/conf.h src/hmap.c \
	src/hmap.h src/reap.c src/reap.h src/tls.c src/tls.h src/metrics.c src/metrics.h src/daemon.c \
	src/daemon.h src/config.c src/config.h src/version.h

if HAVE_CHECK
base_unit_tests = tests/unit/test_util tests/unit/test_json tests/unit/test_conf tests/unit/test_hmap tests/unit/test_reap
check_PROGRAMS += $(base_unit_tests)
TESTS += $(base_unit_tests)
tests_unit_test_util_SOURCES = tests/unit/test_util.c tests/unit/unit.h
tests_unit_test_util_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_util_LDADD = $(UNIT_LDADD)
tests_unit_test_json_SOURCES = tests/unit/test_json.c tests/unit/unit.h
tests_unit_test_json_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_json_LDADD = $(UNIT_LDADD)
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c tests/unit/unit.h
tests_unit_test_conf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_conf_LDADD = $(UNIT_LDADD)
tests_unit_test_hmap_SOURCES = tests/unit/test_hmap.c tests/unit/unit.h
tests_unit_test_hmap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hmap_LDADD = $(UNIT_LDADD)
tests_unit_test_reap_SOURCES = tests/unit/test_reap.c tests/unit/unit.h
tests_unit_test_reap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_reap_LDADD = $(UNIT_LDADD)
endif

noinst_PROGRAMS += tests/fuzz/fuzz_json
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c
tests_fuzz_fuzz_json_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_STANDALONE

if HAVE_NODE
TESTS += \
	tests/e2e/daemon.test.js \
	tests/e2e/service_notify.test.js
endif

# Stands in for systemd's notification socket (service_notify.test.js).
check_PROGRAMS += tests/notify-sink
tests_notify_sink_SOURCES = tests/notify-sink.c
