# src/cluster.mk: cluster mode on Redis (issue 15): the connection to Redis,
# the secrets box, leases, this node's registry entry, and their tests.
# Included by Makefile.am.
libucgw_a_SOURCES += src/redis.c src/redis.h src/sentinel.c src/sentinel.h src/seal.c src/seal.h src/lease.c src/lease.h \
	src/cluster.c src/cluster.h src/store.c src/store_code.c src/store.h \
	src/owner.c src/owner.h src/forward.c src/forward.h src/tunnel.c src/tunnel.h src/takeover.c src/takeover.h \
	src/split.c src/split.h

if HAVE_CHECK
cluster_unit_tests = tests/unit/test_seal tests/unit/test_redis_url tests/unit/test_store_code
check_PROGRAMS += $(cluster_unit_tests)
TESTS += $(cluster_unit_tests)
tests_unit_test_seal_SOURCES = tests/unit/test_seal.c tests/unit/unit.h
tests_unit_test_seal_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_seal_LDADD = $(UNIT_LDADD)
tests_unit_test_redis_url_SOURCES = tests/unit/test_redis_url.c tests/unit/unit.h
tests_unit_test_redis_url_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_redis_url_LDADD = $(UNIT_LDADD)
tests_unit_test_store_code_SOURCES = tests/unit/test_store_code.c tests/unit/unit.h
tests_unit_test_store_code_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_code_LDADD = $(UNIT_LDADD)
endif

# The lease driver of the end-to-end tests; not installed, not in ucgw.
check_PROGRAMS += tests/lease-drive
tests_lease_drive_SOURCES = tests/lease-drive.c
tests_lease_drive_LDADD = libucgw.a $(DEPS_LIBS)
# The store driver of the end-to-end tests (store_load round trips).
check_PROGRAMS += tests/store-drive
tests_store_drive_SOURCES = tests/store-drive.c
tests_store_drive_LDADD = libucgw.a $(DEPS_LIBS)

if HAVE_NODE
TESTS += tests/e2e/cluster_config.test.js tests/e2e/cluster_redis.test.js \
	tests/e2e/cluster_lease.test.js tests/e2e/cluster_store.test.js \
	tests/e2e/cluster_owner.test.js tests/e2e/cluster_race.test.js \
	tests/e2e/cluster_redis_down.test.js tests/e2e/cluster_drain.test.js \
	tests/e2e/cluster_takeover.test.js tests/e2e/cluster_forward.test.js \
	tests/e2e/cluster_tls.test.js tests/e2e/cluster_sentinel.test.js
endif
