#!/bin/sh
# config-docs.sh: every configuration key of ucgw and ucwa-sim is documented.
# Prints TAP: one line per key; fails for a key missing from its document.
b=${UCGW_BUILDDIR:-.}
s=${UCGW_SRCDIR:-.}
tmp=${TMPDIR:-/tmp}/ucgw-keys.$$
trap 'rm -f "$tmp"' EXIT
: >"$tmp"
"$b/ucgw" --print-keys | sed "s|^|ucgw $s/docs/configuration.md |" >>"$tmp" || exit 1
"$b/ucwa-sim" --print-keys | sed "s|^|ucwa-sim $s/docs/ucwa-sim.md |" >>"$tmp" || exit 1
n=$(wc -l <"$tmp")
echo "1..$n"
i=0
while read -r prog doc key; do
	i=$((i + 1))
	if grep -qF "\`$key\`" "$doc" 2>/dev/null; then
		echo "ok $i - $prog key $key is documented in $(basename "$doc")"
	else
		echo "not ok $i - $prog key $key is missing from $doc"
	fi
done <"$tmp"
