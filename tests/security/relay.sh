#!/bin/bash
# The authenticated control connection is bound to the key (issue 24, finding 6): a man in the middle on
# loopback (a relay between a keyed client and a keyed responder) forwards the key's handshake untouched,
# then
#   inject      sends a TEST of its own in place of the client's frames (the responder must refuse it);
#   alter-test  changes the client's TEST (its duration) on the way (the responder must refuse it);
#   alter-ack   changes the responder's HELLO_ACK (its hostname) on the way (the client must refuse it);
#   alter-hello changes the client's HELLO (its data_src) on the way (the handshake must fail).
# Each is refused: the run fails in one line, the responder logs why, and the responder still serves a client
# that dials it directly. A keyless responder and client still run through the relay (no MAC without a key).
# Loopback, no root.
. "$(dirname "$0")/lib.sh"
keyed_setup
"$NBENCH" serve --port "$port" --key-file "$T/k" 2> "$T/log" &
RESP_PID=$!
PIDS+=($RESP_PID)
wait_listen "$port" "" "$RESP_PID" || { echo "its log: $(cat "$T/log")" >&2; exit 1; }

# relay MODE RPORT: one connection through a relay on RPORT to the responder; what it saw in $T/relay-MODE.out
relay() {
	"${PY[@]}" "$1" "$2" "$port" > "$T/relay-$1.out" 2>&1 <<'PY' &
import json, select, socket, struct, sys, threading, nbproto as P
mode, rport, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", rport))
ls.listen(16)

def pipe(c, s):
    """Bytes both ways, as they come, until either side ends."""
    try:
        while True:
            r, _, _ = select.select([c, s], [], [], 30)
            if not r:
                return
            for a in r:
                d = a.recv(65536)
                if not d:
                    return
                (s if a is c else c).sendall(d)
    except OSError:
        pass
    finally:
        c.close()
        s.close()

def data_relay():
    """The test's data connections, after the control one: relayed untouched."""
    while True:
        d, _ = ls.accept()
        threading.Thread(target=pipe, args=(d, socket.create_connection(("127.0.0.1", port))),
                         daemon=True).start()

def read_frame(sock):
    """(header, body, trailer) of the next frame: a frame whose type has bit 15 set carries a 32-byte MAC."""
    def exact(n):
        b = b""
        while len(b) < n:
            d = sock.recv(n - len(b))
            if not d:
                raise EOFError
            b += d
        return b
    hdr = exact(12)
    typ, ln = struct.unpack(">H", hdr[6:8])[0], struct.unpack(">I", hdr[8:12])[0]
    body = exact(ln)
    return hdr, body, exact(32) if typ & 0x8000 else b""

def typ(hdr):
    return struct.unpack(">H", hdr[6:8])[0] & 0x7fff

def rewrite(hdr, body, **kw):
    """The frame with its JSON body's keys changed (its header's length follows)."""
    j = json.loads(body)
    j.update(kw)
    nb = json.dumps(j).encode()
    return hdr[:8] + struct.pack(">I", len(nb)), nb

c, _ = ls.accept()
threading.Thread(target=data_relay, daemon=True).start()
s = socket.create_connection(("127.0.0.1", port))

try:
    h, b, m = read_frame(c)  # HELLO
    if mode == "alter-hello":
        h, b = rewrite(h, b, data_src="127.0.0.9")
    s.sendall(h + b + m)
    if json.loads(b).get("nonce"):
        h, b, m = read_frame(s)  # CHALLENGE
        c.sendall(h + b + m)
        h, b, m = read_frame(c)  # AUTH
        s.sendall(h + b + m)
    h, b, m = read_frame(s)  # HELLO_ACK (or ERROR)
    print("from the responder", typ(h), flush=True)
    if mode == "alter-ack" and typ(h) == P.HELLO_ACK:
        j = json.loads(b)
        j["sysinfo"]["hostname"] = "mallory"
        nb = json.dumps(j).encode()
        h, b = h[:8] + struct.pack(">I", len(nb)), nb
    c.sendall(h + b + m)
    if mode == "inject":
        s.sendall(P.frame(P.TEST, P.settings(port=port)))
        h, b, m = read_frame(s)
        print("the injected TEST got", typ(h), json.loads(b).get("message", ""), flush=True)
        c.close()
    h, b, m = read_frame(c)  # TEST
    if mode == "alter-test":
        h, b = rewrite(h, b, duration_ns=json.loads(b)["duration_ns"] + 1000000)
    s.sendall(h + b + m)
    pipe(c, s)  # the rest as it comes, both ways
    print("relay ended", flush=True)
except (EOFError, OSError) as e:
    print("relay ended:", type(e).__name__, flush=True)
PY
	PIDS+=($!)
	wait_listen "$2" "" $! || return 1
}

for mode in inject alter-test alter-ack alter-hello; do
	rport=$(free_port)
	relay "$mode" "$rport" || exit 1
	"$NBENCH" rr -H 127.0.0.1 -p "$rport" -t 0.3 -i 0 --key-file "$T/k" --json > "$T/$mode.json" 2> "$T/$mode.err"
	rc=$?
	sleep 0.3
	echo "$mode: client rc $rc: $(cat "$T/$mode.err"); relay: $(tr '\n' ' ' < "$T/relay-$mode.out")"
	check "$mode: the client's run fails (rc $rc)" [ "$rc" = 1 ]
	check "$mode: in one line: $(cat "$T/$mode.err")" [ "$(grep -c . "$T/$mode.err")" = 1 ]
done
injected=$(grep "the injected TEST got" "$T/relay-inject.out")
check "inject: the responder answers the injected TEST with an ERROR: $injected" grep -q "got 3 " <<< "$injected"
check "inject, alter-test: the responder logs both, naming the MAC ($(grep -c MAC "$T/log") lines)" \
	[ "$(grep -c "MAC" "$T/log")" -ge 2 ]
check "alter-ack: the client names the MAC: $(cat "$T/alter-ack.err")" grep -qi "MAC" "$T/alter-ack.err"
check "alter-hello: the handshake fails: $(cat "$T/alter-hello.err")" grep -q "did not prove the key" "$T/alter-hello.err"
check "the responder still serves a client that dials it" quiet "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.2 --key-file "$T/k"

# keyless: no MAC, and a relay that only forwards changes nothing
kport=$(free_port)
start_responder "$kport" "" || exit 1
port=$kport
rport=$(free_port)
relay forward "$rport" || exit 1
check "keyless through a relay that only forwards: served" quiet "$NBENCH" rr -H 127.0.0.1 -p "$rport" -t 0.3 -i 0
check "the keyed responder is still running" kill -0 "$RESP_PID"
finish
