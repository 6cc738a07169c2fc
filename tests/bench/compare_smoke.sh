#!/bin/bash
# scripts/bench-compare --quick as a user runs it (inside scripts/fresh): it ends, prints the A/A coverage of
# each ratio with its binomial interval and the time-to-precision table, keeps every compare's JSON in --dir,
# and leaves no namespace behind. Never speed: coverage and times are not judged here (so 10 s budgets).
. "$(dirname "$0")/../e2e/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || skip "needs root (compare builds the paths)"
ip netns add nbt-probe-$$ 2>/dev/null || skip "cannot create network namespaces"
ip netns del nbt-probe-$$
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
before=$(ip netns list | awk '/^nb-/{print $1}' | sort)

rc=0; NBENCH=$NBENCH "$ROOT/scripts/bench-compare" --quick --aa-budget 10s --budget 10s --aa-paths native --dir "$T/d" > "$T/out" 2> "$T/err" || rc=$?
check "bench-compare --quick exits 0 (rc $rc: $(tail -3 "$T/err"))" test "$rc" = 0
check "A/A: p50's coverage with its binomial interval" grep -Eq '^native +p50_ns +2 +[0-2] +[0-9.]+% \[' "$T/out"
check "A/A: the compares kept" test "$(ls "$T"/d/aa-native-*.json | wc -l)" = 2
check "time to precision: a row per path" test "$(grep -Ec '^rr-tcp +(host|bridge|nat) +p50_ns' "$T/out")" = 3
check "time to precision: why it stopped" grep -Eq '^rr-tcp +stopped on (precision|max_time) after [0-9]+ rounds' "$T/out"
check "no namespace left" test "$(ip netns list | awk '/^nb-/{print $1}' | sort)" = "$before"
finish
