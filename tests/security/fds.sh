#!/bin/bash
# Out of file descriptors: a responder limited to 64 descriptors, flooded with 150 silent connections from
# several addresses, neither spins (its CPU time over 3 s stays low) nor stops serving once they close.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
(ulimit -n 64 && exec "$NBENCH" serve --port "$port" --quiet --idle-timeout 60s) &
RESP_PID=$!
PIDS+=($RESP_PID)
wait_listen "$port" "" "$RESP_PID" || exit 1
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")

flood_start "$port" 150 10 "$T"
sleep 0.5
# the descriptors are used up: a client now is told so, or waits in the backlog, but the responder idles
t0=$(cpu_ticks "$RESP_PID")
sleep 3
t1=$(cpu_ticks "$RESP_PID")
hz=$(getconf CLK_TCK)
# spinning on accept would be ~3 s of CPU; allow a tenth of that
check "out of descriptors the responder does not spin ($((t1 - t0)) ticks of $hz/s over 3 s)" [ $((t1 - t0)) -lt $((hz * 3 / 10)) ]
"$NBENCH" rr -H 127.0.0.1 -p "$port" -t 1 -q > /dev/null 2> "$T/during.err"
rc=$?
# while out of descriptors, a client is refused in one line (or served, if a descriptor came free)
check "a client while out of descriptors gets one line or a result (rc $rc: $(cat "$T/during.err"))" \
	bash -c "[ $rc = 0 ] || [ \"\$(grep -c . '$T/during.err')\" = 1 ]"
rm -f "$T/hold"; wait $FLOOD 2>/dev/null
sleep 1
check "served again once the descriptors are free" quiet "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 1
check "the responder is still running" kill -0 "$RESP_PID"
finish
