#!/bin/bash
# An IPv6 /64 is one source (issue 24, finding 4): a host holds a whole /64, so counting pending connections
# per address would let it fill the table from 64 addresses. In a network namespace of its own (lo with
# fd00:0:0:1::/64 for the attacker, fd00:0:0:2::1 for the client), 64 addresses of one /64 open 32 silent
# connections each: the responder keeps at most 32 of them in all, and a keyed client at another /64 is
# served every time. Root (a network namespace; the test adds its addresses to that namespace's lo only).
. "$(dirname "$0")/lib.sh"
if [ -z "${NB_PRIVATE_NETNS:-}" ]; then
	[ "$(id -u)" = 0 ] || skip "needs root (a network namespace of its own for the IPv6 addresses)"
	command -v unshare > /dev/null || skip "no unshare (util-linux)"
	unshare -n true 2> /dev/null || skip "cannot create a network namespace"
	trap - EXIT
	exec unshare -n env NB_PRIVATE_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
for i in $(seq 2 65); do ip -6 addr add "fd00:0:0:1::$(printf %x "$i")/64" dev lo nodad || exit 1; done
ip -6 addr add fd00:0:0:2::1/64 dev lo nodad || exit 1
keyed_setup
start_responder "$port" "" --bind :: --key-file "$T/k" --idle-timeout 60s || exit 1

touch "$T/hold"
python3 - "$port" "$T/hold" > "$T/flood.out" 2>&1 <<'PY' &
import os, socket, sys, time
port, flag = int(sys.argv[1]), sys.argv[2]
held = []
for i in range(64 * 32):
    s = socket.socket(socket.AF_INET6)
    s.bind(("fd00:0:0:1::%x" % (2 + i % 64), 0))
    s.settimeout(2)
    try:
        s.connect(("fd00:0:0:2::1", port))
        held.append(s)
    except OSError:
        s.close()
time.sleep(1)
def still_open(s):
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
print("connected", len(held), "open", sum(still_open(s) for s in held), flush=True)
while os.path.exists(flag):
    time.sleep(0.1)
PY
PIDS+=($!)
wait_for 60 "the flood connected" grep -q connected "$T/flood.out" || exit 1
kept=$(awk '/connected/ {print $4}' "$T/flood.out")
echo "pending connections the responder keeps from one /64 (64 addresses x 32): $kept"
check "one /64 holds at most 32 pending connections ($kept kept: $(cat "$T/flood.out"))" [ "$kept" -le 32 ]

keyed_tries 20 fd00:0:0:2::1 "a keyed client at another /64"
finish
