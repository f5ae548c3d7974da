#!/bin/sh
# man-pages.sh: man/ucgw.conf.5 is what the configuration table generates
# (`make man-pages` rewrites it), and every manual page formats without a
# warning from man's own checker when man is installed. Prints TAP.
b=${UCGW_BUILDDIR:-.}
s=${UCGW_SRCDIR:-.}
tmp=${TMPDIR:-/tmp}/ucgw-man.$$
trap 'rm -f "$tmp"' EXIT
pages="ucgw.8 ucgw.conf.5 ucgw-xlate.1 ucwa-sim.1"
echo "1..5"
{ cat "$s/man/ucgw.conf.5.head"; "$b/ucgw" --print-man-keys; cat "$s/man/ucgw.conf.5.tail"; } >"$tmp"
if cmp -s "$tmp" "$s/man/ucgw.conf.5"; then
	echo "ok 1 - man/ucgw.conf.5 matches the configuration table"
else
	echo "not ok 1 - man/ucgw.conf.5 has drifted from the configuration table: run make man-pages"
	diff "$s/man/ucgw.conf.5" "$tmp" | sed 's/^/# /' | head -20
fi
i=1
for p in $pages; do
	i=$((i + 1))
	if ! command -v groff >/dev/null 2>&1; then
		echo "ok $i - $p # SKIP groff not installed"
		continue
	fi
	warn=$(groff -man -Tutf8 -ww -z "$s/man/$p" 2>&1)
	if [ -z "$warn" ]; then
		echo "ok $i - $p formats without a warning"
	else
		echo "not ok $i - $p: $warn"
	fi
done
