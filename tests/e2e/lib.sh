# Shared by the e2e tests: a responder on a free loopback port, cleanup on exit, JSON checks.
# NBENCH is the binary under test (meson passes it).
set -u
: "${NBENCH:?NBENCH must name the nbench binary}"
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
PIDS=()
CLEANUPS=()
fails=0
checks=0

cleanup() {
	[ "$BASHPID" = "$$" ] || return 0 # not in the subshells of $(...)
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for c in "${CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1; done
}
trap cleanup EXIT INT TERM

ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }
check() { # check "what" cmd...
	local what=$1; shift
	if "$@"; then ok; else bad "$what"; fi
}
finish() {
	echo "$(basename "$0"): $checks checks, $fails failed"
	[ "$fails" = 0 ]
	exit $?
}
skip() { echo "SKIP: $*"; exit 77; }
# one_line_err FILE WORD: FILE (a command's stderr) is exactly one line and names WORD.
one_line_err() {
	[ "$(grep -c . "$1")" = 1 ] && grep -q -- "$2" "$1"
}

# free_port: a port `nbench serve` can take as it does, on the wildcard address for TCP and UDP both. A
# port free on 127.0.0.1 alone may not be: an earlier test's clients on 127.0.0.2 leave TIME_WAIT sockets
# on their ports, which a wildcard bind (even with SO_REUSEADDR) collides with.
free_port() {
	python3 - <<'PY'
import socket
for _ in range(100):
    t, u = socket.socket(), socket.socket(type=socket.SOCK_DGRAM)
    t.bind(("0.0.0.0", 0))
    try:
        u.bind(("0.0.0.0", t.getsockname()[1]))
    except OSError:
        continue
    print(t.getsockname()[1])
    break
PY
}

# start_responder PORT [netns] [extra args]: starts `nbench serve`, waits until it listens (wait_listen).
start_responder() {
	local port=$1 ns=${2:-}; shift 2 || shift $#
	local pre=()
	[ -n "$ns" ] && pre=(ip netns exec "$ns")
	"${pre[@]}" "$NBENCH" serve --port "$port" --quiet "$@" &
	PIDS+=($!)
	RESP_PID=$!
	wait_listen "$port" "$ns" "$RESP_PID"
}

# json_check FILE PYTHON-EXPR-ON-d: true when the expression holds for the parsed report d.
json_check() {
	python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e = d["end"]
ok = eval(sys.argv[2])
if not ok:
    print("  expression false: " + sys.argv[2], file=sys.stderr)
    print("  end = " + json.dumps({k: v for k, v in e.items() if k != "flows"})[:1500], file=sys.stderr)
    print("  intervals = " + json.dumps([{k: i.get(k) for k in ("start_s", "end_s", "warmup", "bytes", "txns", "tcp")} for i in d.get("intervals", [])])[:1500], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# Invariants of every RR/CRR report: ran, measured, ordered percentiles.
RR_OK='e["complete"] and e["transactions"] > 0 and e["transactions_per_s"] > 0 and e["latency_ns"]["min"] <= e["latency_ns"]["p50"] <= e["latency_ns"]["p90"] <= e["latency_ns"]["p99"] <= e["latency_ns"]["p999"] <= e["latency_ns"]["max"] and d["schema_version"] >= 1'
STREAM_OK='e["complete"] and e["goodput_bps"] > 0 and e["bytes_received"] > 0'
TCP_BALANCE='e["bytes_sent"] == e["bytes_received"]'

# veth_pair NET: namespaces $C (client, NET.1 on veth0) and $S (server, NET.2 on veth1) joined by a veth pair, both
# up, removed on exit. Skips (77) without root or namespaces. NET is the first three octets ("10.199.0").
veth_pair() {
	[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
	ip netns add nbt-probe-$$ 2>/dev/null || skip "cannot create network namespaces"
	ip netns del nbt-probe-$$
	local sfx=$$$RANDOM
	C=nbt-c-$sfx S=nbt-s-$sfx
	CLEANUPS+=("ip netns del $C" "ip netns del $S")
	ip netns add "$C" && ip netns add "$S" || exit 1
	ip -n "$C" link add veth0 type veth peer name veth1 netns "$S" || exit 1
	ip -n "$C" addr add "$1.1/24" dev veth0
	ip -n "$S" addr add "$1.2/24" dev veth1
	for n in "$C" "$S"; do ip -n "$n" link set lo up; done
	ip -n "$C" link set veth0 up
	ip -n "$S" link set veth1 up
}
