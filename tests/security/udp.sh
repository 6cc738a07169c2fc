#!/bin/bash
# A reverse UDP stream whose client port closes ends with an error in the RESULT (and the client's report)
# instead of sending forever; a test whose STOP never comes is ended by the responder itself at its
# duration plus the grace (15 s): its ERROR arrives and its datagrams stop.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
start_responder "$port" "" || exit 1
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")

out=$("${PY[@]}" "$port" <<'PY' 2>&1
import socket, sys, time, nbproto as P
port = int(sys.argv[1])
c = P.Conn(port)
tid = c.test(kind="stream", proto="udp", reverse=True, msg_bytes=1000, duration_ns=30_000_000_000,
             rate_bps=20e6)
u, acked = P.udp_flow(port, tid)
c.expect(P.READY)
c.send(P.START)
u.settimeout(2)
got = sum(1 for _ in range(10) if u.recv(2048))
u.close()  # the port is closed: every datagram now meets ICMP port unreachable
time.sleep(2)
c.send(P.STOP)
typ, res = c.recv()
print("acked", acked, "got", got, "result", typ == P.RESULT, "error:", res.get("error"))
PY
)
check "a reverse UDP stream to a closed port ends with an error in the RESULT: $out" \
	grep -q "acked True got 10 result True error: flow 0: send: the receiver's port is closed" <<< "$out"

# no STOP: a reverse UDP stream of 1 s; the responder ends it by itself within 1 s + 15 s (+ slack)
out=$("${PY[@]}" "$port" <<'PY' 2>&1
import socket, sys, time, nbproto as P
port = int(sys.argv[1])
c = P.Conn(port, timeout=40)
tid = c.test(kind="stream", proto="udp", reverse=True, msg_bytes=1000, duration_ns=1_000_000_000,
             rate_bps=8e6)
u, acked = P.udp_flow(port, tid)
c.expect(P.READY)
t0 = time.time()
c.send(P.START)
msg = c.recv()
ended = time.time() - t0
# the responder's source has ended: after what was queued here is drained, nothing more arrives
time.sleep(0.5)
u.setblocking(False)
try:
    while u.recv(2048):
        pass
except BlockingIOError:
    pass
u.settimeout(0.3)
late = 0
t1 = time.time()
while time.time() - t1 < 1.5:
    try:
        u.recv(2048)
        late += 1
    except socket.timeout:
        pass
print("ended after %.0f s" % ended, "late", late, msg)
PY
)
check "no STOP: the responder ends the test with an ERROR: $out" grep -q "no STOP within 15 s" <<< "$out"
check "no STOP: no datagram after the end: $out" grep -q "late 0 " <<< "$out"
secs=$(sed -n 's/.*ended after \([0-9]*\) s.*/\1/p' <<< "$out")
check "no STOP: ended between 15 and 40 s after START (${secs:-?} s)" [ "${secs:-0}" -ge 15 ] && [ "${secs:-99}" -le 40 ]
check "served normally after" quiet "$NBENCH" stream -H 127.0.0.1 -p "$port" -t 0.5 --proto udp --reverse
check "the responder is still running" kill -0 "$RESP_PID"
finish
