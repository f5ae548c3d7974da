#!/bin/sh
# install-layout.sh: `make install DESTDIR=...` of this build puts ucgw in
# sbindir, the shipped configuration under SYSCONFDIR/ucgw, the manual pages
# under mandir and no ucwa-sim (a test tool) unless --enable-sim-install; a
# second install keeps an operator's edited ucgw.conf. Prints TAP.
b=${UCGW_BUILDDIR:-.}
dest=${TMPDIR:-/tmp}/ucgw-install.$$
trap 'rm -rf "$dest"' EXIT
vars=$(make -s -C "$b" -f Makefile -f - print-dirs <<'MK'
print-dirs:
	@echo "sbindir='$(sbindir)' bindir='$(bindir)' sysconfdir='$(sysconfdir)' mandir='$(mandir)' unitdir='$(systemdsystemunitdir)' bins='$(bin_PROGRAMS)'"
MK
)
eval "$vars"
echo "1..9"
if make -s -C "$b" install DESTDIR="$dest" >"$dest.log" 2>&1; then
	echo "ok 1 - make install DESTDIR"
else
	echo "not ok 1 - make install DESTDIR failed"; sed 's/^/# /' "$dest.log"
fi
rm -f "$dest.log"
n=1
check() { # description, test...
	n=$((n + 1))
	d=$1
	shift
	if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; fi
}
check "ucgw in sbindir ($sbindir)" test -x "$dest$sbindir/ucgw"
if echo " $bins " | grep -q ' ucwa-sim '; then
	check "ucwa-sim installed (--enable-sim-install)" test -x "$dest$bindir/ucwa-sim"
else
	check "ucwa-sim not installed (a test tool)" test ! -e "$dest$bindir/ucwa-sim"
fi
check "ucgw.conf in $sysconfdir/ucgw" test -f "$dest$sysconfdir/ucgw/ucgw.conf"
check "translate.json in $sysconfdir/ucgw" test -f "$dest$sysconfdir/ucgw/translate.json"
check "ucgw(8) and ucgw.conf(5) in $mandir" test -f "$dest$mandir/man8/ucgw.8" -a -f "$dest$mandir/man5/ucgw.conf.5"
check "ucgw-xlate(1) in $mandir" test -f "$dest$mandir/man1/ucgw-xlate.1"
if [ "$unitdir" = no ] || [ -z "$unitdir" ]; then
	check "no unit directory configured # SKIP" true
else
	check "ucgw.service in $unitdir" test -f "$dest$unitdir/ucgw.service"
fi
echo '// edited by the operator' >>"$dest$sysconfdir/ucgw/ucgw.conf"
make -s -C "$b" install DESTDIR="$dest" >/dev/null 2>&1
check "a second install keeps the edited ucgw.conf" grep -q 'edited by the operator' "$dest$sysconfdir/ucgw/ucgw.conf"
