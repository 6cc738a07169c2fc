#!/bin/bash
# The agent's halves under its limits (issue 24, findings 2 and 3). Two namespaces stand in for two hosts
# joined by a veth cable: the agent (`nbench serve --paths --max-mem 64M --idle-timeout 3s`) in one, keyed
# clients at two addresses in the other.
#   2. A half's responder runs under the agent's limits: a test the agent refuses for its memory budget is
#      refused on a nat half too, and the half's responder carries the agent's --max-mem share,
#      --max-sessions and --idle-timeout.
#   3. Halves are capped per client and in all (--max-halves, default 4 in all and 3 per client), the
#      refusals name the limit, and a half lives as long as the tests its client said it would run plus a
#      grace period (20 s), then the agent ends the session and tears it down.
# Root (network namespaces, the halves' bridges and nft tables).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, the agent builds path halves)"
command -v nft > /dev/null || skip "no nft"
sfx=$$$RANDOM
C=nbt-hc-$sfx S=nbt-hs-$sfx
ip netns add "$C" 2> /dev/null || skip "cannot create network namespaces"
CLEANUPS+=("ip netns del $C" "ip netns del $S")
ip netns add "$S" || exit 1
ip -n "$C" link add veth0 type veth peer name veth1 netns "$S" || exit 1
ip -n "$C" addr add 10.232.0.1/24 dev veth0
ip -n "$C" addr add 10.232.0.3/24 dev veth0 # a second client
ip -n "$S" addr add 10.232.0.2/24 dev veth1
for n in "$C" "$S"; do ip -n "$n" link set lo up; done
ip -n "$C" link set veth0 up
ip -n "$S" link set veth1 up
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
chmod 700 "$T"
"$NBENCH" key gen "$T/k" > /dev/null || exit 1
unset NBENCH_KEY_FILE
port=$(free_port)
ip netns exec "$S" "$NBENCH" serve --port "$port" --paths --key-file "$T/k" --max-mem 64M --idle-timeout 3s \
	2> "$T/agent.log" &
AGENT=$!
# stopped (not killed: not in PIDS, which the cleanup kills -9 first), the agent tears its halves down,
# before the namespaces go; its state files would stay behind otherwise
CLEANUPS=("kill $AGENT; for i in \$(seq 300); do kill -0 $AGENT || break; sleep 0.1; done; kill -9 $AGENT" "${CLEANUPS[@]}")
wait_listen "$port" "$S" "$AGENT" || exit 1

# finding 2: the memory budget is the agent's, on its halves too (16 flows of 8 MB responses: 134 MiB)
ip netns exec "$C" "$NBENCH" rr -H 10.232.0.2 -p "$port" -P 16 -r 100,8M -t 0.5 -i 0 --key-file "$T/k" \
	> /dev/null 2> "$T/direct.err"
rc_direct=$?
ip netns exec "$C" "$NBENCH" rr -H 10.232.0.2 -p "$port" --path nat -P 16 -r 100,8M -t 0.5 -i 0 \
	--key-file "$T/k" > /dev/null 2> "$T/nat.err"
rc_nat=$?
echo "a 134 MiB test with --max-mem 64M: on the agent rc $rc_direct ($(cat "$T/direct.err")); on a nat half rc $rc_nat ($(cat "$T/nat.err"))"
check "the agent refuses the test for its --max-mem (rc $rc_direct)" grep -q "max-mem" "$T/direct.err"
check "a nat half refuses it too (rc $rc_nat: $(cat "$T/nat.err"))" grep -q "max-mem" "$T/nat.err"

# paths SRC KIND FOR_S N: N PATH sessions from SRC, each asking for KIND for FOR_S seconds, held until
# $T/hold goes; prints one line per answer ("ack NAME" or "error MESSAGE"), then "held N"
touch "$T/hold"
paths() {
	ip netns exec "$C" python3 - 10.232.0.2 "$port" "$T/k" "$@" "$T/hold" <<'PY'
import os, sys, time, nbproto as P
host, port, key, src, kind, for_s, n, flag = sys.argv[1], int(sys.argv[2]), P.read_key(sys.argv[3]), \
    sys.argv[4], sys.argv[5], float(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
PATH, PATH_ACK = 15, 16
held = []
for _ in range(n):
    c = P.Conn(port, host=host, src=src, timeout=60)
    try:
        P.keyed_hello(c, key)
    except SystemExit as e:  # a refusal before the session (the responder's sessions all taken)
        print("error", e, flush=True)
        break
    c.send(PATH, {"kind": kind, "for_ns": int(for_s * 1e9)})
    got = c.recv()
    if got and got[0] == PATH_ACK:
        print("ack", got[1].get("name"), flush=True)
        held.append(c)
    else:
        print("error", got[1].get("message") if got else "closed", flush=True)
        break
print("held", len(held), flush=True)
if os.environ.get("NB_WATCH"):  # how long until the agent ends the first session, and what it says
    t0 = time.time()
    held[0].s.settimeout(120)
    got = held[0].recv()
    print("ended after %.0f s: %s" % (time.time() - t0, got[1].get("message") if got else "closed"), flush=True)
while os.path.exists(flag):
    time.sleep(0.1)
PY
}

# finding 2, the half's own responder: the agent's limits on its command line
paths 10.232.0.1 bridge 60 1 > "$T/one.out" 2>&1 &
PIDS+=($!)
wait_for 60 "one half up" grep -q "^held" "$T/one.out" || { cat "$T/one.out" >&2; exit 1; }
args=$(ps -eo args | grep -- " serve --port .* --bind 172\.31\." | grep -v grep | head -1)
echo "the half's responder: $args"
for want in "--max-mem 16777216,16777216" "--max-sessions 16" "--idle-timeout 3000000000ns"; do
	check "the half's responder runs with $want" grep -q -- "$want" <<< "$args"
done
rm -f "$T/hold"
wait_for 30 "the half torn down" sh -c "! ps -eo args | grep -q -- ' serve --port .* --bind 172\.31\.'"
sleep 1

# finding 3: halves one client can hold, then a second client, each refused naming the limit
touch "$T/hold"
paths 10.232.0.1 bridge 60 16 > "$T/a.out" 2>&1 &
PIDS+=($!)
wait_for 120 "the first client's halves" grep -q "^held" "$T/a.out" || { cat "$T/a.out" >&2; exit 1; }
paths 10.232.0.3 bridge 60 16 > "$T/b.out" 2>&1 &
PIDS+=($!)
wait_for 120 "the second client's halves" grep -q "^held" "$T/b.out" || { cat "$T/b.out" >&2; exit 1; }
a=$(awk '/^held/ {print $2}' "$T/a.out") b=$(awk '/^held/ {print $2}' "$T/b.out")
echo "halves one client held: $a ($(grep ^error "$T/a.out")); a second client then: $b ($(grep ^error "$T/b.out"))"
check "one client holds at most its share of 3 halves ($a)" [ "$a" -le 3 ]
check "... and is told the limit: $(grep ^error "$T/a.out")" grep -q "^error.*--max-halves" "$T/a.out"
check "the halves in all are at most 4 ($a + $b)" [ $((a + b)) -le 4 ]
check "... the second client is told the limit: $(grep ^error "$T/b.out")" grep -q "^error.*--max-halves" "$T/b.out"
rm -f "$T/hold"
wait_for 60 "the halves torn down" sh -c "! ps -eo args | grep -q -- ' serve --port .* --bind 172\.31\.'"
sleep 1

# finding 3: a half asked for 1 s of tests is ended 1 s + 20 s later
touch "$T/hold"
NB_WATCH=1 paths 10.232.0.1 bridge 1 1 > "$T/life.out" 2>&1 &
PIDS+=($!)
wait_for 90 "the half's session ended" grep -q "^ended" "$T/life.out"
echo "a half asked for 1 s: $(grep ^ended "$T/life.out")"
check "a half asked for 1 s of tests is ended within 40 s, naming its lifetime: $(grep ^ended "$T/life.out")" \
	grep -q "^ended after .*lifetime" "$T/life.out"
rm -f "$T/hold"
check "the agent is still running" kill -0 "$AGENT"
# stopped, it tears its halves down and leaves no state file
kill "$AGENT"
wait_for 30 "the agent ended" sh -c "! kill -0 $AGENT 2>/dev/null"
left=$(grep -lE "\"creator_pid\":[[:space:]]*$AGENT,?\$" /run/nbench/topo/*.json 2>/dev/null | tr '\n' ' ')
check "the stopped agent left no half's state file ($left)" test -z "$left"
finish
