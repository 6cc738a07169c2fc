#!/bin/bash
# Logs before authentication are rate-limited (issue 24, finding 5): one unauthenticated host that, for 6 s,
# opens connections as fast as it can and on each does one thing a keyed responder refuses (garbage, another
# protocol version, a keyless HELLO, a keyed HELLO then a close, a wrong proof, a half frame left to time out)
# gets at most a few log lines a second, and the count of what was left out is logged. Loopback, no root.
. "$(dirname "$0")/lib.sh"
keyed_setup
"$NBENCH" serve --port "$port" --key-file "$T/k" --idle-timeout 200ms 2> "$T/log" &
RESP_PID=$!
PIDS+=($RESP_PID)
wait_listen "$port" "" "$RESP_PID" || exit 1
start_lines=$(grep -c . "$T/log")

"${PY[@]}" "$port" 6 > "$T/flood.out" 2>&1 <<'PY'
import os, socket, sys, time, nbproto as P
port, secs = int(sys.argv[1]), float(sys.argv[2])
end, n, half = time.time() + secs, 0, []
def one(k):
    s = socket.create_connection(("127.0.0.1", port), 2, ("127.0.0.2", 0))
    if k == 0:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    elif k == 1:
        s.sendall(P.frame(P.HELLO, {}, version=P.VERSION + 7))
    elif k == 2:
        s.sendall(P.frame(P.HELLO, {"data_src": ""}))
    elif k == 3:
        s.sendall(P.frame(P.HELLO, {"nonce": os.urandom(32).hex(), "data_src": ""}))
    elif k == 4:
        s.sendall(P.frame(P.HELLO, {"nonce": os.urandom(32).hex(), "data_src": ""}))
        s.settimeout(2)
        try:
            s.recv(4096)
            s.sendall(P.frame(P.AUTH, {"proof": "00" * 32}))
        except OSError:
            pass
    else:
        s.sendall(b"NBCP")  # half a header, left to the idle timeout
        half.append(s)
        if len(half) > 200:
            half.pop(0).close()
        return
    s.close()
while time.time() < end:
    try:
        one(n % 6)
        n += 1
    except OSError:
        time.sleep(0.01)
print("connections", n, flush=True)
PY
sleep 1.5 # the last refusals and the count of those left out are logged within a second
lines=$(($(grep -c . "$T/log") - start_lines))
conns=$(awk '{print $2}' "$T/flood.out")
echo "log lines for $conns unauthenticated connections in 6 s: $lines ($(wc -c < "$T/log") bytes of log)"
check "the flood made many connections ($conns)" [ "${conns:-0}" -ge 600 ]
check "at most 10 log lines a second before authentication ($lines in 6 s)" [ "$lines" -le 60 ]
check "the refusals left out are counted in the log" grep -q "not logged" "$T/log"
check "the kinds of refusal are still logged" grep -q "refused" "$T/log"
check "a keyed client is served after the flood" quiet "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 0.2 --key-file "$T/k"
check "the responder is still running" kill -0 "$RESP_PID"
finish
