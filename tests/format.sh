#!/bin/bash
# Every C source and header is as clang-format (.clang-format) writes it.
cd "$(dirname "$0")/.." || exit 1
command -v clang-format > /dev/null || { echo "SKIP: clang-format is not installed"; exit 77; }
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*'); do
	clang-format --dry-run --Werror "$f" > /dev/null 2>&1 || { echo "not formatted: $f (clang-format -i $f)"; bad=1; }
done
exit $bad
