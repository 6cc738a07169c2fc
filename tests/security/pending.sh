#!/bin/bash
# The pending table cannot be filled from many addresses (issue 24, finding 4): 40 addresses with 32 silent
# connections each (1,280: more than the 1,024 pending connections a responder keeps) leave a keyed client at a
# 41st address served every time: the table is shared fairly between sources, so a newcomer takes the place of
# the oldest connection of the source that holds the most. Loopback, no root.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
chmod 700 "$T"
"$NBENCH" key gen "$T/k" > /dev/null || exit 1
unset NBENCH_KEY_FILE
port=$(free_port)
start_responder "$port" "" --key-file "$T/k" --idle-timeout 60s || exit 1

flood_start "$port" 1280 40 "$T"
sleep 1
n=30 got=0
for i in $(seq $n); do
	if "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.1 -i 0 --key-file "$T/k" -q > /dev/null 2> "$T/rr.err"; then
		got=$((got + 1))
	else
		echo "attempt $i: $(cat "$T/rr.err")" >&2
	fi
done
echo "keyed client beside 40 x 32 silent connections: $got of $n served"
check "a keyed client is served every time beside 40 x 32 silent connections ($got of $n)" [ "$got" = "$n" ]
rm -f "$T/hold"
check "the responder is still running" kill -0 "$RESP_PID"
finish
