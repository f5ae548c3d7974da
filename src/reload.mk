# src/reload.mk: live reload of the translation rules and recording of
# agents' traffic as transcripts (issue 7). Included by Makefile.am.

if HAVE_NODE
TESTS += tests/e2e/reload_live.test.js tests/e2e/reload_record.test.js \
	tests/e2e/reload_once.test.js tests/e2e/reload_record_incoming.test.js
endif

libucgw_a_SOURCES += src/record.c src/record.h
