# conf/install.mk: what `make install` puts where (issue 16; included by
# Makefile.am): ucgw in sbindir, the shipped configuration under
# $(sysconfdir)/ucgw without overwriting an operator's files, the manual
# pages, and the systemd unit (see configure --with-systemdsystemunitdir).

ucgwconfdir = $(sysconfdir)/ucgw
ucgw_conf_files = ucgw.conf translate.json

# The shipped files, unless a file of that name is already there.
install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(ucgwconfdir)'
	@for f in $(ucgw_conf_files); do \
	  if test -e "$(DESTDIR)$(ucgwconfdir)/$$f"; then \
	    echo "keeping the existing $(DESTDIR)$(ucgwconfdir)/$$f"; \
	  else \
	    echo " $(INSTALL_DATA) $(srcdir)/conf/$$f $(DESTDIR)$(ucgwconfdir)/$$f"; \
	    $(INSTALL_DATA) "$(srcdir)/conf/$$f" "$(DESTDIR)$(ucgwconfdir)/$$f" || exit 1; \
	  fi; \
	done

# Remove them only when nobody changed them.
uninstall-local:
	@for f in $(ucgw_conf_files); do \
	  if cmp -s "$(srcdir)/conf/$$f" "$(DESTDIR)$(ucgwconfdir)/$$f"; then \
	    rm -f "$(DESTDIR)$(ucgwconfdir)/$$f"; \
	  elif test -e "$(DESTDIR)$(ucgwconfdir)/$$f"; then \
	    echo "keeping the changed $(DESTDIR)$(ucgwconfdir)/$$f"; \
	  fi; \
	done
	-rmdir '$(DESTDIR)$(ucgwconfdir)' 2>/dev/null

# --- manual pages ------------------------------------------------------------
# ucgw.conf.5 is generated from the configuration table (ucgw --print-man-keys)
# between man/ucgw.conf.5.head and man/ucgw.conf.5.tail and kept in the source
# tree; `make man-pages` regenerates it and tests/unit/man-pages.sh checks it has not
# drifted from the binary.
dist_man_MANS = man/ucgw.8 man/ucgw.conf.5 man/ucgw-xlate.1
if SIM_INSTALL
dist_man_MANS += man/ucwa-sim.1
else
EXTRA_DIST += man/ucwa-sim.1
endif
EXTRA_DIST += man/ucgw.conf.5.head man/ucgw.conf.5.tail

man-pages: ucgw$(EXEEXT)
	{ cat $(srcdir)/man/ucgw.conf.5.head; ./ucgw$(EXEEXT) --print-man-keys; \
	  cat $(srcdir)/man/ucgw.conf.5.tail; } >$(srcdir)/man/ucgw.conf.5
.PHONY: man-pages

TESTS += tests/unit/man-pages.sh
EXTRA_DIST += tests/unit/man-pages.sh

# --- the systemd unit ----------------------------------------------------------
# conf/ucgw.service.in with the installation's paths; tests/unit/unit-verify.sh
# runs systemd-analyze verify on it where systemd-analyze exists.
ucgw.service: $(srcdir)/conf/ucgw.service.in Makefile
	$(AM_V_GEN)sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	  $(srcdir)/conf/ucgw.service.in >$@
CLEANFILES += ucgw.service
if INSTALL_UNIT
systemdsystemunit_DATA = ucgw.service
else
noinst_DATA = ucgw.service
endif

TESTS += tests/unit/unit-verify.sh
EXTRA_DIST += tests/unit/unit-verify.sh

# distcheck installs under its own prefix: the unit goes there too.
AM_DISTCHECK_CONFIGURE_FLAGS = --with-systemdsystemunitdir='$${dc_install_base}/lib/systemd/system'

# The installed ucgw reads the installed configuration without -c, and that
# configuration's relative translate.file resolves next to it (make installcheck,
# run by distcheck).
installcheck-local:
	out=`'$(sbindir)/ucgw' -t 2>&1` && echo "$$out" | grep -q 'checked $(ucgwconfdir)/ucgw.conf' \
	  || { echo "installcheck: ucgw -t did not read $(ucgwconfdir)/ucgw.conf: $$out"; exit 1; }
	'$(sbindir)/ucgw' -t -o log.level=error | grep -qx 'configuration OK'
	'$(sbindir)/ucgw' --version

TESTS += tests/unit/install-layout.sh
EXTRA_DIST += tests/unit/install-layout.sh

# The README's own command lines, run as written (item 9 of issue 16).
if HAVE_NODE
TESTS += tests/e2e/readme.test.js
endif

# debian/: cheap checks in the suite (the package build is quickstart package).
TESTS += tests/unit/debian-lint.sh
EXTRA_DIST += tests/unit/debian-lint.sh debian/changelog debian/control debian/copyright \
	debian/docs debian/rules debian/source/format debian/.gitignore
