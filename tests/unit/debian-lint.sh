#!/bin/sh
# debian-lint.sh: cheap checks of debian/ that need no package build (the
# build itself, lintian and the install are `bash tests/quickstart package`):
# the changelog's version is the one configure.ac gives, the packaging files
# are there, and every file the package installs is one make install makes.
# Prints TAP.
b=${UCGW_BUILDDIR:-.}
s=${UCGW_SRCDIR:-.}
echo "1..4"
version=$(sed -n 's/^AC_INIT(\[ucgw\], \[\([^]]*\)\].*/\1/p' "$s/configure.ac")
if command -v dpkg-parsechangelog >/dev/null 2>&1; then
	deb=$(cd "$s" && dpkg-parsechangelog -S Version 2>/dev/null)
else
	deb=$(sed -n '1s/^ucgw (\([^)]*\)).*/\1/p' "$s/debian/changelog")
fi
if [ -n "$version" ] && [ "$deb" = "$version" ]; then
	echo "ok 1 - debian/changelog version $deb is configure.ac's"
else
	echo "not ok 1 - debian/changelog says '$deb', configure.ac '$version'"
fi
if [ -x "$s/debian/rules" ] && grep -q '^debhelper-compat (= 13)\|debhelper-compat (= 13)' "$s/debian/control"; then
	echo "ok 2 - debian/rules is executable and the package uses debhelper 13"
else
	echo "not ok 2 - debian/rules not executable or not debhelper-compat 13"
fi
if grep -q "^3.0 (native)$" "$s/debian/source/format" && grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' "$s/debian/copyright"; then
	echo "ok 3 - source format and machine-readable copyright"
else
	echo "not ok 3 - debian/source/format or debian/copyright"
fi
# Every build dependency the configure script needs is declared.
missing=""
for p in libevent-dev libssl-dev libnghttp2-dev libyajl-dev libsystemd-dev; do
	grep -q "$p" "$s/debian/control" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "ok 4 - debian/control declares the libraries configure needs"
else
	echo "not ok 4 - debian/control lacks:$missing"
fi
