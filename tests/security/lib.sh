# Shared by the security tests: e2e's helpers (a responder on a free loopback port, checks, cleanup) and
# the raw protocol client nbproto.py (PY runs python3 with it importable).
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
PY=(python3 -)


# cpu_ticks PID: user + system CPU time of the process, in clock ticks.
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# quiet CMD...: runs CMD with its output discarded (for check).
quiet() {
	"$@" > /dev/null 2>&1
}

# flood_start PORT N SOURCES T: N silent connections to 127.0.0.1:PORT from the SOURCES addresses in turn
# (127.0.0.2 .. 127.0.0.<1+SOURCES>), held open until $T/hold goes; FLOOD is its pid. Checks that it connected.
flood_start() {
	touch "$4/hold"
	python3 - "$1" "$4/hold" "$2" "$3" > "$4/flood.out" 2>&1 <<'PY' &
import os, socket, sys, time
port, flag, n, sources = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
held = []
for i in range(n):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), 2, ("127.0.0.%d" % (2 + i % sources), 0)))
    except OSError:
        pass
print("connected", len(held), flush=True)
while os.path.exists(flag):
    time.sleep(0.1)
PY
	FLOOD=$!
	PIDS+=($FLOOD)
	for _ in $(seq 100); do grep -q connected "$4/flood.out" && break; sleep 0.1; done
	check "the flood connected ($(cat "$4/flood.out"))" grep -q connected "$4/flood.out"
}

# keyed_setup: $T (a private temporary folder), a shared key in $T/k (NBENCH_KEY_FILE unset: each client says
# --key-file) and a free loopback $port.
keyed_setup() {
	T=$(mktemp -d)
	CLEANUPS+=("rm -rf $T")
	chmod 700 "$T"
	"$NBENCH" key gen "$T/k" > /dev/null || exit 1
	unset NBENCH_KEY_FILE
	port=$(free_port)
}

# keyed_tries N HOST WHAT: N short keyed rr runs against HOST:$port; each failure's line on stderr. Checks that
# all N were served ("WHAT: k of N") and that the responder still runs.
keyed_tries() {
	local n=$1 host=$2 what=$3 got=0 i
	for i in $(seq "$n"); do
		if "$NBENCH" rr -H "$host" -p "$port" -t 0.1 -i 0 --key-file "$T/k" -q > /dev/null 2> "$T/rr.err"; then
			got=$((got + 1))
		else
			echo "attempt $i: $(cat "$T/rr.err")" >&2
		fi
	done
	echo "$what: $got of $n served"
	check "$what: served every time ($got of $n)" [ "$got" = "$n" ]
	rm -f "$T/hold"
	check "the responder is still running" kill -0 "$RESP_PID"
}
