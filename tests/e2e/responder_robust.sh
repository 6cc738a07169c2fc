#!/bin/bash
# The responder survives connections that send nothing, garbage, a truncated or oversized frame, another
# protocol version, or a client that vanishes mid-test; then it serves the next client normally.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
start_responder "$port" "" --idle-timeout 1s || exit 1
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")

abuse() { # abuse NAME: python sends something bad; prints what came back
	python3 - "$port" "$1" <<'PY'
import socket, struct, sys, time
port, what = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), 2)
s.settimeout(3)
hdr = lambda ver, typ, ln: b"NBCP" + struct.pack(">HHI", ver, typ, ln)
if what == "nothing":
    pass
elif what == "garbage":
    s.sendall(b"GET / HTTP/1.0\r\n\r\n" * 10)
elif what == "truncated":
    s.sendall(hdr(1, 1, 50) + b'{"version":')
elif what == "oversized":
    s.sendall(hdr(1, 1, 10 * 1024 * 1024))
elif what == "version":
    s.sendall(hdr(99, 1, 2) + b"{}")
elif what == "badjson":
    s.sendall(hdr(1, 1, 5) + b"[1,2]")
elif what == "datahello":
    s.sendall(hdr(1, 11, 26) + b'{"test_id":12345,"flow":0}')
got = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
    print("CLOSED")
except socket.timeout:
    print("TIMEOUT")
except ConnectionResetError:
    print("CLOSED")
print(got[12:].decode(errors="replace"))
PY
}
for w in nothing garbage truncated oversized version badjson datahello; do
	out=$(abuse $w 2>&1)
	# every bad connection is closed by the responder (idle ones after the 1 s idle timeout); a
	# connection that failed some other way proves nothing, so it fails too
	check "$w: the responder closed the connection ($(head -c 200 <<< "$out"))" grep -q '^CLOSED$' <<< "$out"
	case $w in
	version) check "version mismatch is explained" grep -q "version mismatch" <<< "$out" ;;
	esac
done

# a UDP datagram of garbage to the data port
python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b'x'*n, ('127.0.0.1', $port)) for n in (1, 12, 100, 1400)]"

# a client that vanishes mid-test (TCP and UDP)
for proto in tcp udp; do
	"$NBENCH" rr -H 127.0.0.1 -p "$port" -t 10 --proto $proto -q > /dev/null 2>&1 &
	c=$!
	sleep 1
	kill -9 $c; wait $c 2>/dev/null
done
"$NBENCH" stream -H 127.0.0.1 -p "$port" -t 10 -q > /dev/null 2>&1 &
c=$!; sleep 1; kill -9 $c; wait $c 2>/dev/null

# several clients at once do not mix their data
clients=()
for i in 1 2 3; do "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 1 -r $((i * 100)),$((i * 300)) --json > "$T/c$i.json" 2>"$T/c$i.err" & clients+=($!); done
"$NBENCH" stream -H 127.0.0.1 -p "$port" -t 1 --json > "$T/s.json" 2>"$T/s.err" &
clients+=($!)
wait_rc=0
for j in "${clients[@]}"; do wait "$j" || wait_rc=1; done
check "concurrent clients all finished" test "$wait_rc" = 0
for i in 1 2 3; do check "concurrent rr $i" json_check "$T/c$i.json" "$RR_OK"; done
check "concurrent stream balances" json_check "$T/s.json" "$STREAM_OK and $TCP_BALANCE"

# and then it serves the next client normally
"$NBENCH" rr -H 127.0.0.1 -p "$port" -t 1 --json > "$T/after.json" 2> "$T/after.err"
check "served after abuse" json_check "$T/after.json" "$RR_OK"
check "responder alive" kill -0 "$RESP_PID"
finish
