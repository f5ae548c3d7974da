#!/bin/sh
# format.sh: every C source and header is formatted as .clang-format says
# (run `make format` to fix). TAP: one line per file that is not.
s=${UCGW_SRCDIR:-.}
cd "$s" || exit 1
if ! command -v clang-format >/dev/null 2>&1; then
	echo "1..1"
	echo "not ok 1 - clang-format is not installed (apt-get install clang-format)"
	exit 0
fi
files=$(find src tests/unit tests/fuzz tests -maxdepth 2 \( -name '*.c' -o -name '*.h' \) | sort -u)
n=$(echo "$files" | wc -l)
echo "1..$n"
i=0
for f in $files; do
	i=$((i + 1))
	if clang-format --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "ok $i - $f is formatted"
	else
		echo "not ok $i - $f is not formatted (make format)"
	fi
done
