#!/bin/bash
# Decoders that cannot be driven out of range, sent raw: numbers out of range in a TEST and in a
# DATA_HELLO, an oversize UDP hello (before and after its flow attached), a version mismatch and an unknown
# frame after the hello, half a frame. Each is refused with an ERROR frame naming it, without a crash (the
# ASan build runs this too), and the responder then serves a normal client.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
start_responder "$port" "" || exit 1
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")

raw() { # raw NAME: the python case NAME; prints its result line
	"${PY[@]}" "$port" "$1" <<'PY' 2>&1
import json, socket, struct, sys, time, nbproto as P
port, what = int(sys.argv[1]), sys.argv[2]
c = P.Conn(port)
if what == "cpu_1e300":
    c.hello()
    c.send(P.TEST, P.settings(cpu_resp=1e300))
    print(c.recv())
elif what == "flows_neg":
    c.hello()
    c.send(P.TEST, P.settings(flows=-1))
    print(c.recv())
elif what in ("hello_1e300", "hello_flow_neg", "hello_flow_big"):
    ctl = P.Conn(port)
    tid = ctl.test(proto="tcp")
    body = {"hello_1e300": {"test_id": 1e300, "flow": 0}, "hello_flow_neg": {"test_id": tid, "flow": -1},
            "hello_flow_big": {"test_id": tid, "flow": 1e300}}[what]
    c.send(P.DATA_HELLO, body)
    print(c.recv(), "closed" if c.closed_within(3) else "open")
elif what == "udp_oversize":
    ctl = P.Conn(port)
    tid = ctl.test(proto="udp")
    # a hello of 1000 bytes, then one of 300 (both over the 256 a flow keeps): no ack
    big = [P.udp_flow(port, tid, pad=n)[1] for n in (1000, 260)]
    # the real hello attaches the flow; then the oversize one again, to the attached flow's socket path
    u, acked = P.udp_flow(port, tid)
    u.send(P.frame(P.DATA_HELLO, json.dumps(P.data_hello(tid)).encode() + b" " * 1000))
    time.sleep(0.3)
    ready = ctl.recv()
    print("big_acked", big, "acked", acked, "ready", ready and ready[0] == P.READY)
elif what == "version_after_hello":
    c.hello()
    c.send(P.TEST, P.settings(), version=99)
    print(c.recv(), "closed" if c.closed_within(3) else "open")
elif what == "unknown_after_hello":
    c.hello()
    c.s.sendall(b"NBCP" + struct.pack(">HHI", P.VERSION, 77, 2) + b"{}")
    print(c.recv(), "closed" if c.closed_within(3) else "open")
elif what == "oversize_after_hello":
    c.hello()
    c.s.sendall(b"NBCP" + struct.pack(">HHI", P.VERSION, P.TEST, 10 << 20))
    print(c.recv(), "closed" if c.closed_within(3) else "open")
PY
}

out=$(raw cpu_1e300)
check "TEST with cpu_resp 1e300 refused naming it: $out" grep -q "^(3, .*cpu_resp" <<< "$out"
out=$(raw flows_neg)
check "TEST with flows -1 refused naming it: $out" grep -q "^(3, .*flows" <<< "$out"
for w in hello_1e300 hello_flow_neg hello_flow_big; do
	out=$(raw $w)
	check "$w: an ERROR naming the data hello, then closed: $out" grep -q "'message': 'responder refused the data connection: data hello.*closed$" <<< "${out//\"/\'}"
done
out=$(raw udp_oversize)
check "oversize UDP hellos are not acked, the real one is: $out" grep -q "big_acked \[False, False\] acked True ready True" <<< "$out"
out=$(raw version_after_hello)
check "a version mismatch after the hello names both versions: $out" grep -qE "version 99, this responder speaks version [0-9]+.*closed" <<< "$out"
out=$(raw unknown_after_hello)
check "an unknown frame after the hello is named: $out" grep -q "protocol error: a frame of an unknown type.*closed" <<< "$out"
out=$(raw oversize_after_hello)
check "an oversize frame after the hello is named: $out" grep -q "longer than 64 KiB.*closed" <<< "$out"

# half a frame after READY: the responder's deadline for START ends the wait (10 s), with an ERROR
out=$("${PY[@]}" "$port" <<'PY' 2>&1
import socket, sys, time, nbproto as P
port = int(sys.argv[1])
c = P.Conn(port, timeout=20)
tid = c.test(proto="tcp")
d = socket.create_connection(("127.0.0.1", port))
d.sendall(P.frame(P.DATA_HELLO, P.data_hello(tid)))
c.expect(P.READY)
c.s.sendall(P.frame(P.START)[:7])
t0 = time.time()
print(c.recv(), "after %.0f s" % (time.time() - t0))
PY
)
check "half a START frame is given up on with an ERROR: $out" grep -q "no START within 10 s" <<< "$out"

# MEASURE before START, and a second MEASURE: each snapshots the CPU and the interfaces, so only one, after
# START, is work done; any other is a protocol error
out=$("${PY[@]}" "$port" <<'PY' 2>&1
import socket, sys, nbproto as P
port = int(sys.argv[1])
for early in (True, False):
    c = P.Conn(port, timeout=10)
    tid = c.test(proto="tcp", duration_ns=500000000)
    d = socket.create_connection(("127.0.0.1", port))
    d.sendall(P.frame(P.DATA_HELLO, P.data_hello(tid)))
    c.expect(P.READY)
    if not early:
        c.send(P.START)
        c.send(P.MEASURE)
    c.send(P.MEASURE)
    got = c.recv()
    print("early" if early else "twice", got[0] if got else None, (got[1] or {}).get("message") if got else None)
    d.close()
PY
)
check "MEASURE before START is refused: $out" grep -q "^early 3 protocol error: unexpected message 8" <<< "$out"
check "a second MEASURE is refused: $out" grep -q "^twice 3 protocol error: unexpected message 8" <<< "$out"

check "served normally after all that" quiet "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.5 --proto udp
check "the responder is still running" kill -0 "$RESP_PID"
finish
