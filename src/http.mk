# src/http.mk: HTTP on both sides (included by Makefile.am): the parser, the
# server (HTTP/1.1 and HTTP/2, the request API), the upstream client,
# WebSocket connections, trusted proxies.
libucgw_a_SOURCES += src/hparse.c src/hparse.h src/bev.c src/bev.h src/httpd.c src/httpd.h \
	src/httpd_int.h src/http_req.c src/http_msg.c src/h2.c src/h2.h src/hclient.c src/hclient.h \
	src/ws.c src/ws.h src/proxy.c src/proxy.h

# WebSocket framing (libwslay)
AM_CFLAGS += $(WSLAY_CFLAGS)
DEPS_LIBS += $(WSLAY_LIBS)

if HAVE_CHECK
http_unit_tests = tests/unit/test_hparse tests/unit/test_hclient tests/unit/test_bev
check_PROGRAMS += $(http_unit_tests)
TESTS += $(http_unit_tests)
tests_unit_test_hparse_SOURCES = tests/unit/test_hparse.c tests/unit/unit.h
tests_unit_test_hparse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hparse_LDADD = $(UNIT_LDADD)
tests_unit_test_hclient_SOURCES = tests/unit/test_hclient.c tests/unit/unit.h
tests_unit_test_hclient_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hclient_LDADD = $(UNIT_LDADD)
tests_unit_test_bev_SOURCES = tests/unit/test_bev.c tests/unit/unit.h
tests_unit_test_bev_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_bev_LDADD = $(UNIT_LDADD)
endif

noinst_PROGRAMS += tests/fuzz/fuzz_hparse tests/fuzz/fuzz_ws
tests_fuzz_fuzz_hparse_SOURCES = tests/fuzz/fuzz_hparse.c
tests_fuzz_fuzz_hparse_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_STANDALONE
tests_fuzz_fuzz_ws_SOURCES = tests/fuzz/fuzz_ws.c
tests_fuzz_fuzz_ws_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_STANDALONE

if HAVE_NODE
TESTS += \
	tests/e2e/http2.test.js \
	tests/e2e/harden_fds.test.js \
	tests/e2e/service_tls.test.js
endif
