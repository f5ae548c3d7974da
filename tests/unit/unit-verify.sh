#!/bin/sh
# unit-verify.sh: the generated systemd unit passes `systemd-analyze verify`
# (which needs no running systemd), and says what the service promises.
# Prints TAP; the verify step is skipped where systemd-analyze is missing.
b=${UCGW_BUILDDIR:-.}
unit="$b/ucgw.service"
echo "1..3"
i=0
for want in '^Type=notify$' '^ExecReload=/bin/kill -HUP \$MAINPID$'; do
	i=$((i + 1))
	if grep -q "$want" "$unit"; then
		echo "ok $i - ucgw.service has $want"
	else
		echo "not ok $i - ucgw.service lacks $want"
	fi
done
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "ok 3 - systemd-analyze verify # SKIP systemd-analyze not installed"
	exit 0
fi
# verify looks the ExecStart binaries up: point the unit at the built ucgw.
dir=${TMPDIR:-/tmp}/ucgw-unit.$$
mkdir -p "$dir" && trap 'rm -rf "$dir"' EXIT
sed "s|^\(Exec[A-Za-z]*=\)[^ ]*/ucgw |\1$(cd "$b" && pwd)/ucgw |" "$unit" >"$dir/ucgw.service"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$dir/ucgw.service" 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then
	echo "ok 3 - systemd-analyze verify ucgw.service"
else
	echo "not ok 3 - systemd-analyze verify ucgw.service:"
	echo "$out" | sed 's/^/# /'
fi
