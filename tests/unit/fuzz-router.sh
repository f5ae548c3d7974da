#!/bin/sh
# fuzz-router.sh: replay the router fuzz target's seeds (tests/fuzz/router/)
# through the standalone build: whole requests through gws_handle, under the
# sanitizers. Prints TAP.
b=${UCGW_BUILDDIR:-.}
s=${UCGW_SRCDIR:-.}
echo "1..1"
if out=$("$b/tests/fuzz/fuzz_router" "$s"/tests/fuzz/router/* 2>&1); then
	echo "ok 1 - $out"
else
	echo "not ok 1 - fuzz_router failed on the seeds"
	echo "$out" | sed 's/^/# /'
fi
