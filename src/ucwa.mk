# src/ucwa.mk: the UCWA client: HTTPS client (hclient), sign-in, application, event channel, commands.
# Included by Makefile.am; add sources with libucgw_a_SOURCES += ... and
# tests with check_PROGRAMS/TESTS += ... (see tests/tests.mk for the pattern).
