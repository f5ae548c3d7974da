# src/xlate.mk: the translation rules (xlate), their live reload, transcripts
# and the operators' dry run (included by Makefile.am).

libucgw_a_SOURCES += src/xlate.c src/xlate.h src/xlate_int.h src/xlate_names.c src/xlate_prob.c \
	src/xlate_load.c src/xlate_tmpl.c \
	src/xlate_dir.c src/xlate_text.c src/xlate_default.c \
	src/xlate_proto.c src/xlate_proto.h src/xlate_cli.c src/xlate_cli.h src/xlate_rec.c src/xlate_rec.h
# The GWS session state, one enum for xlate.h and session.h (Makefile.am).
libucgw_a_SOURCES += src/session_state.h

EXTRA_DIST += src/xlate_default.sh

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_xlate tests/unit/test_xlate_proto
TESTS += tests/unit/test_xlate tests/unit/test_xlate_proto
tests_unit_test_xlate_SOURCES = tests/unit/test_xlate.c tests/unit/unit.h
tests_unit_test_xlate_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_xlate_LDADD = $(UNIT_LDADD)
tests_unit_test_xlate_proto_SOURCES = tests/unit/test_xlate_proto.c tests/unit/unit.h
tests_unit_test_xlate_proto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_xlate_proto_LDADD = $(UNIT_LDADD)
endif

if HAVE_NODE
TESTS += tests/e2e/xlate_check.test.js tests/e2e/im_html.test.js \
	tests/e2e/reload_live.test.js tests/e2e/reload_once.test.js
endif

# Fuzz target (see its top comment); built here as a plain replayer.
noinst_PROGRAMS += tests/fuzz/fuzz_xlate
tests_fuzz_fuzz_xlate_SOURCES = tests/fuzz/fuzz_xlate.c
tests_fuzz_fuzz_xlate_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_STANDALONE
