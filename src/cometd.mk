# src/cometd.mk: authentication of desktops (auth) and the CometD/Bayeux endpoint (cometd).
# Included by Makefile.am; add sources with libucgw_a_SOURCES += ... and
# tests with check_PROGRAMS/TESTS += ... (see tests/tests.mk for the pattern).
