# tests/harden.mk: tests of the hardening (issue 14): resource bounds, sign-in
# throttling, CSRF and strict parsing. Included by Makefile.am.
if HAVE_NODE
TESTS += \
	tests/e2e/harden_fds.test.js
endif
