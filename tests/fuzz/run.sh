#!/bin/bash
# Builds the protocol decoders' libFuzzer targets with clang (ASan+UBSan, in build-fuzz: the gcc builds are
# not touched) and runs each for FUZZ_SECONDS (default 20) from its seed corpus, tests/fuzz/corpus/<target>/.
# A crash, leak, sanitizer finding or broken round trip fails the target and keeps its input in
# build-fuzz/crashes/<target>/ (replay: build-fuzz/tests/fuzz/fuzz_<target> FILE).
#
#   tests/fuzz/run.sh [TARGET...]   run all targets, or those named
#   tests/fuzz/run.sh --seeds       rewrite the seed corpus from the encoders (review the diff, commit)
#
# One line per target ("PASS frame: ...", "FAIL cfg: ...", "SKIP ...: reason"), then
# "fuzz: N passed, N failed, N skipped" (scripts/check adds these up). Exit 1 if one failed.
set -u
cd "$(dirname "$0")/../.."
# the targets as meson builds them (one list: tests/fuzz/meson.build's fuzz_targets)
mapfile -t TARGETS < <(sed -n '/^fuzz_targets = \[/,/\]/p' tests/fuzz/meson.build | grep -o "'[a-z_]*'" | tr -d "'")
SECONDS_EACH=${FUZZ_SECONDS:-20}
B=${FUZZ_BUILD_DIR:-build-fuzz}
[ $# -gt 0 ] && [ "$1" != --seeds ] && TARGETS=("$@")

summary() { echo "fuzz: $1 passed, $2 failed, $3 skipped"; }
skip_all() {
	for t in "${TARGETS[@]}"; do echo "SKIP $t: $1"; done
	summary 0 0 ${#TARGETS[@]}
	exit 0
}

# libFuzzer ships with clang's runtime (Debian: libclang-rt-14-dev); without it there is nothing to run
command -v clang > /dev/null || skip_all "clang is not installed (scripts/setup installs it)"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' > "$probe/p.c"
clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2> "$probe/err" ||
	skip_all "clang cannot link libFuzzer ($(head -1 "$probe/err")); install libclang-rt-14-dev"

if [ -f "$B/build.ninja" ]; then
	meson configure "$B" -Dfuzz=true > /dev/null
else
	CC=clang meson setup "$B" -Dfuzz=true -Ddpdk=disabled -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug > "$probe/setup" 2>&1 || { cat "$probe/setup"; echo "FAIL: meson setup $B"; summary 0 ${#TARGETS[@]} 0; exit 1; }
fi
exes=(tests/fuzz/fuzz_seeds)
for t in "${TARGETS[@]}"; do exes+=("tests/fuzz/fuzz_$t"); done
if ! ninja -j2 -C "$B" "${exes[@]}" > "$probe/build" 2>&1; then
	tail -30 "$probe/build"
	for t in "${TARGETS[@]}"; do echo "FAIL $t: build failed"; done
	summary 0 ${#TARGETS[@]} 0
	exit 1
fi

if [ "${1:-}" = --seeds ]; then
	rm -rf tests/fuzz/corpus.new && mkdir tests/fuzz/corpus.new &&
		"$B/tests/fuzz/fuzz_seeds" tests/fuzz/corpus.new &&
		cp -r tests/fuzz/corpus.new/. tests/fuzz/corpus/ && rm -rf tests/fuzz/corpus.new
	exit $?
fi

# One target: its verdict line in $B/verdict-<target> ("PASS ..." or "FAIL ..." and the error's first lines).
fuzz_one() {
	local t=$1 work=$B/corpus/$1 crashes=$B/crashes/$1 log=$B/fuzz-$1.log rc runs
	mkdir -p "$work" "$crashes"
	# new inputs go to the first directory (build-fuzz's), the committed seeds are only read
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$B/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=1024 \
		-max_len=16384 -dict=tests/fuzz/json.dict -artifact_prefix="$crashes/" -print_final_stats=1 \
		"$work" "tests/fuzz/corpus/$t" > "$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ $rc = 0 ]; then
		echo "PASS $t: ${runs:-?} inputs in ${SECONDS_EACH}s"
	else
		echo "FAIL $t: exit $rc, input kept in $crashes/ (log: $log)"
		grep -m3 -E '^(fuzz:|==[0-9]+==ERROR|SUMMARY)|runtime error' "$log" | sed 's/^/    /'
	fi > "$B/verdict-$t"
}

# as many targets at once as there are CPUs (each fuzzer is one process on one CPU)
jobs=$(nproc 2> /dev/null || echo 1)
running=0
for t in "${TARGETS[@]}"; do
	fuzz_one "$t" &
	running=$((running + 1))
	if [ $running -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait
passed=0 failed=0
for t in "${TARGETS[@]}"; do
	cat "$B/verdict-$t"
	if grep -q '^PASS' "$B/verdict-$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
summary $passed $failed 0
[ $failed = 0 ]
