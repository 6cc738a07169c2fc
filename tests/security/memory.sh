#!/bin/bash
# Bounded memory: a test over the per-test budget (-P 256 -r 64M,64M) is refused in one line before
# anything is allocated, a test over what the running tests leave of the total is refused until they end,
# and the responder's peak resident memory stays under its budget.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
# 64 MiB in all, 40 MiB per test
start_responder "$port" "" --max-mem 64M,40M || exit 1
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
H=(-H 127.0.0.1 -p "$port" -q)

"$NBENCH" rr "${H[@]}" -t 1 -P 256 -r 64M,64M > /dev/null 2> "$T/big.err"
rc=$?
check "an oversized test exits 1 (got $rc)" [ "$rc" = 1 ]
check "an oversized test is one line naming the budget: $(cat "$T/big.err")" one_line_err "$T/big.err" "max-mem"

# a test inside the budget runs: 4 flows x (256K + 4M) of buffers
check "a test inside the budget runs" quiet "$NBENCH" rr "${H[@]}" -t 1 -P 4 -r 4M,4M

# a test of 100 flows x 384K (~38 MiB) fits, a second of 96 flows (36 MiB) does not while it runs
"$NBENCH" stream "${H[@]}" -t 4 -P 100 -b 10M > /dev/null 2>&1 &
BG=$!
PIDS+=($BG)
sleep 1
"$NBENCH" stream "${H[@]}" -t 1 -P 96 -b 10M > /dev/null 2> "$T/total.err"
rc=$?
check "a test over what the running one leaves exits 1 (got $rc)" [ "$rc" = 1 ]
check "... in one line saying try again: $(cat "$T/total.err")" one_line_err "$T/total.err" "try again later"
wait $BG
check "the running test completed" [ $? = 0 ]
check "the same test runs once the other ended" quiet "$NBENCH" stream "${H[@]}" -t 1 -P 96 -b 10M

# peak resident memory: the budget plus what the process is without any test (the sanitizer's shadow
# included), never the 16 GiB the refused test asked for
hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$RESP_PID/status")
check "the responder's peak RSS ${hwm_kib} KiB stays under 64 MiB + 200 MiB" [ "$hwm_kib" -lt $(((64 + 200) * 1024)) ]
check "the responder is still running" kill -0 "$RESP_PID"
finish
