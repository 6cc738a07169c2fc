#!/bin/bash
# One address cannot lock out another: 400 silent connections from 127.0.0.2 (held open, never a byte)
# leave a client at 127.0.0.1 served; and --max-sessions refuses a session over the cap in one line.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
start_responder "$port" "" --idle-timeout 30s --max-sessions 3 || exit 1
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")

# the flood: held open until the flag file goes
flood_start "$port" 400 1 "$T"

# a client at another address is served while the flood holds its connections (within the 30 s idle
# timeout, so no flood connection has been closed for idleness)
if "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 1 -q --json > "$T/rr.json" 2> "$T/rr.err"; then ok; else
	bad "rr during the flood failed: $(cat "$T/rr.err")"; fi
check "rr during the flood completed transactions" json_check "$T/rr.json" 'e["complete"] and e["transactions"] > 0'
# and a second control connection, from the flooding address itself, is served too (its silent
# connections are over their share, not its hellos)
"${PY[@]}" "$port" > "$T/same.out" 2>&1 <<'PY'
import sys, nbproto
c = nbproto.Conn(int(sys.argv[1]), src="127.0.0.2")
print("hello", sorted(c.hello()))
PY
check "a hello from the flooding address is answered ($(cat "$T/same.out"))" grep -q "hello.*sysinfo" "$T/same.out"
rm -f "$T/hold"; wait $FLOOD 2>/dev/null

# --max-sessions 3: three sessions held, the fourth client is refused in one line, exit 1
touch "$T/hold"
"${PY[@]}" "$port" "$T/hold" > "$T/sess.out" 2>&1 <<'PY' &
import os, sys, time, nbproto
port, flag = int(sys.argv[1]), sys.argv[2]
held = [nbproto.Conn(port) for _ in range(3)]
for c in held:
    c.hello()
print("held", len(held), flush=True)
while os.path.exists(flag):
    time.sleep(0.1)
PY
SESS=$!
PIDS+=($SESS)
for _ in $(seq 100); do grep -q held "$T/sess.out" && break; sleep 0.1; done
"$NBENCH" rr -H 127.0.0.1 -p "$port" -t 1 -q > /dev/null 2> "$T/over.err"
rc=$?
check "a session over --max-sessions exits 1 (got $rc)" [ "$rc" = 1 ]
check "a session over --max-sessions is one line naming it: $(cat "$T/over.err")" one_line_err "$T/over.err" "max-sessions"
rm -f "$T/hold"; wait $SESS 2>/dev/null
sleep 0.5
check "served again once the sessions end" quiet "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.5 -q
check "the responder is still running" kill -0 "$RESP_PID"
finish
