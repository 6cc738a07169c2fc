#!/bin/bash
# The shared key (issue 10, item 1): a keyed responder serves a client with the key and refuses one without
# it or with another key, in one line each side; a keyed client refuses a keyless responder; a recorded
# handshake replayed on a new connection fails, and so does the responder's own proof sent back to it; the
# host details go to an authenticated client only; a fake responder's ERROR reaches the terminal without its
# control characters. Loopback, no root.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
chmod 700 "$T"
"$NBENCH" key gen "$T/k1" && "$NBENCH" key gen "$T/k2" || exit 1
unset NBENCH_KEY_FILE

# serve_logged PORT LOG ARGS...: a responder whose log goes to LOG (start_responder's is --quiet)
serve_logged() {
	local port=$1 log=$2; shift 2
	"$NBENCH" serve --port "$port" "$@" 2> "$log" &
	PIDS+=($!)
	RESP_PID=$!
	wait_listen "$port" "" "$RESP_PID" || { echo "its log: $(cat "$log")" >&2; return 1; }
}
# log_has LOG TEXT: the responder wrote TEXT (within a second: it logs after the client has gone)
log_has() {
	for _ in $(seq 20); do grep -q -- "$2" "$1" && return 0; sleep 0.05; done
	return 1
}

port=$(free_port)
serve_logged "$port" "$T/keyed.log" --key-file "$T/k1" || exit 1
check "a keyed responder does not say that anyone can run tests" sh -c "! grep -q 'anyone' $T/keyed.log"
for t in "rr" "rr --proto udp -P 2" "crr" "stream --reverse --proto udp -b 10M"; do
	# shellcheck disable=SC2086
	check "with the key: $t" quiet "$NBENCH" $t -H 127.0.0.1 -p "$port" -t 0.3 -i 0 --key-file "$T/k1"
done
check "the key from NBENCH_KEY_FILE" quiet env NBENCH_KEY_FILE="$T/k1" "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.3

"$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.3 > /dev/null 2> "$T/nokey.err"; rc=$?
check "no key against a keyed responder: exit 1 (rc $rc)" test $rc = 1
check "... one line naming it: $(cat "$T/nokey.err")" one_line_err "$T/nokey.err" "the responder requires a key (--key-file)"
check "... and a log line on the responder" log_has "$T/keyed.log" "refused: the client has no key"

"$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.3 --key-file "$T/k2" > /dev/null 2> "$T/wrong.err"; rc=$?
check "a wrong key: exit 1 (rc $rc)" test $rc = 1
check "... one line naming it: $(cat "$T/wrong.err")" one_line_err "$T/wrong.err" "the responder did not prove the key: wrong key"
check "... and a log line on the responder" log_has "$T/keyed.log" "refused: the client did not prove the key"

# Driven from python with the same HMAC (auth.h's recipe): the handshake passes, and the host details come
# only after it; a keyless HELLO gets an ERROR and no host details; the recorded frames replayed on a new
# connection fail (the responder's nonce is new); the responder's own proof sent back fails (the labels).
out=$("${PY[@]}" "$port" "$T/k1" <<'PY' 2>&1
import sys, nbproto as P
port, key = int(sys.argv[1]), P.read_key(sys.argv[2])
c = P.Conn(port)
sent, ack = P.keyed_hello(c, key)
print("handshake", "sysinfo" in ack)
c.s.close()
r = P.Conn(port)
r.s.sendall(sent[0])
ch = r.expect(P.CHALLENGE)
r.s.sendall(sent[1])
got = r.recv()
print("replay", got[0] == P.ERROR, "hello_ack" if any(m and m[0] == P.HELLO_ACK for m in [got]) else "-",
      got[1].get("message"), "closed" if r.closed_within(3) else "open")
f = P.Conn(port)
f.send(P.HELLO, {"nonce": "00" * 32})
ch = f.expect(P.CHALLENGE)
f.send(P.AUTH, {"proof": ch["proof"]})
got = f.recv()
print("reflected", got[0] == P.ERROR, "closed" if f.closed_within(3) else "open")
n = P.Conn(port)
n.send(P.HELLO)
got = n.recv()
print("keyless", got[0] == P.ERROR, "sysinfo" in got[1], got[1].get("message"))
PY
)
check "python's handshake with the same HMAC passes, host details after it: $out" grep -q "^handshake True" <<< "$out"
check "a replayed handshake is refused with an ERROR and closed" grep -q "^replay True - the client did not prove the key.*closed$" <<< "$out"
check "... logged" log_has "$T/keyed.log" "refused: a wrong proof of the key"
check "the responder's proof reflected back is refused" grep -q "^reflected True closed" <<< "$out"
check "a keyless hello gets an ERROR, no host details" grep -q "^keyless True False the responder requires a key" <<< "$out"
check "the keyed responder still serves" quiet "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.3 --key-file "$T/k1"
kill "$RESP_PID"; wait "$RESP_PID" 2>/dev/null

# a keyed client against a keyless responder
port=$(free_port)
serve_logged "$port" "$T/keyless.log" || exit 1
check "a keyless responder says at start that anyone can run tests" log_has "$T/keyless.log" "anyone who reaches port $port can run tests"
"$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.3 --key-file "$T/k1" > /dev/null 2> "$T/keyless.err"; rc=$?
check "a keyed client against a keyless responder: exit 1 (rc $rc)" test $rc = 1
check "... one line naming it: $(cat "$T/keyless.err")" one_line_err "$T/keyless.err" "the responder did not prove the key"
check "... and a log line on the responder" log_has "$T/keyless.log" "refused: the client has a key, this responder none"
check "a keyless client is served as before" quiet "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.3
kill "$RESP_PID"; wait "$RESP_PID" 2>/dev/null

# a fake responder: a HELLO_ACK where the keyed client wants the responder's proof, and an ERROR full of
# terminal escapes and line breaks where the keyless client wants a HELLO_ACK
port=$(free_port)
python3 - "$port" <<'PY' &
import socket, sys, nbproto as P
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1]))); ls.listen(4)
answers = ["ack", "error"]
while answers:
    s, _ = ls.accept()
    if not s.recv(4096):  # the readiness probe
        continue
    answer = answers.pop(0)
    if answer == "ack":
        s.sendall(P.frame(P.HELLO_ACK, {"sysinfo": {}, "pid": 1}))
    else:
        s.sendall(P.frame(P.ERROR, {"message": "busy\x1b[2J\x1b]0;pwned\x07\nsecond line\r"}))
    s.recv(4096)
    s.close()
PY
PIDS+=($!)
wait_listen "$port" "" $! || exit 1
"$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.3 --key-file "$T/k1" > /dev/null 2> "$T/fake1.err"; rc=$?
check "a fake responder that skips the proof: exit 1 (rc $rc), one line: $(cat "$T/fake1.err")" \
	one_line_err "$T/fake1.err" "did not prove the key: wrong key or not nbench's responder"
"$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.3 > /dev/null 2> "$T/fake2.err"; rc=$?
check "a fake responder's ERROR: exit 1 (rc $rc), one line: $(cat -v "$T/fake2.err")" one_line_err "$T/fake2.err" 'busy\\x1b\[2J'
check "... with no control character on the terminal" sh -c "! LC_ALL=C grep -q '[[:cntrl:]]' $T/fake2.err"
finish
