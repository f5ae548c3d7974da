# src/xlate.mk: the translation rules (xlate) and the operators' dry run.
# Included by Makefile.am; add sources with libucgw_a_SOURCES += ... and
# tests with check_PROGRAMS/TESTS += ... (see tests/tests.mk for the pattern).
