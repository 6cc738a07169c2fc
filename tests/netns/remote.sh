#!/bin/bash
# SPDX-License-Identifier: MIT
# Two hosts (issue 11 item 4): two namespaces stand in for two hosts, each its own "root", joined by a veth
# cable made here. The agent (`nbench serve --paths`) runs inside one with `ip netns exec`, the client inside
# the other; `compare -H` runs every path this machine can build across them. Afterwards the server host's
# namespace is exactly as before (links, addresses, routes, nft ruleset, the sysctls a half may change), also
# after the client is killed mid-run (kill -9: the agent sees its connection end) and after the agent is
# (kill -9, then `nbench topo down --all` inside the server namespace).
#   REMOTE_OUT=FILE   keeps the compare's output (README's "Two hosts and real NICs")
#   REMOTE_DOWN_ONE=1 `topo down NAME` of the half instead of --all (a machine where other instances live)
source "$(dirname "$0")/lib.sh"
command -v nft >/dev/null || skip "no nft"
runnable ${REMOTE_KINDS:-native host bridge nat overlay macvlan} # with_engine.sh: the ones Docker's rules touch

S=nbr-$TAG-s # these are the test's own /run/netns entries; the agent's are nb-<name>-ctr
C=nbr-$TAG-c
SA=10.231.$((RANDOM % 200 + 10)).2
CA=${SA%.2}.1
KEY=$(mktemp)
LOG=$(mktemp)
AGENT=
remote_cleanup() {
	local rc=$?
	set +e
	if [ -n "$AGENT" ]; then # stopped, it tears its halves down
		kill "$AGENT" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$AGENT" 2>/dev/null
	fi
	ip netns del "$S" 2>/dev/null
	ip netns del "$C" 2>/dev/null
	rm -f "$KEY" "$LOG"
	(exit $rc)
	cleanup
}
trap remote_cleanup EXIT

ip netns add "$S"
ip netns add "$C"
ip link add nbr$$s netns "$S" type veth peer name nbr$$c netns "$C"
ip -n "$S" addr add "$SA/24" dev nbr$$s
ip -n "$C" addr add "$CA/24" dev nbr$$c
for n in "$S" "$C"; do
	ip -n "$n" link set lo up
done
ip -n "$S" link set nbr$$s up
ip -n "$C" link set nbr$$c up
rm -f "$KEY"
"$NBENCH" key gen "$KEY" >/dev/null

# The server host as the tests compare it: what a half builds and must take away again.
snapshot() {
	ip -n "$S" -j link show | "$PY" -c 'import json,sys; print(json.dumps(sorted(json.load(sys.stdin), key=lambda l: l["ifname"]), sort_keys=True))'
	ip -n "$S" -j addr show
	ip -n "$S" -j route show table all
	ip netns exec "$S" nft -j list ruleset
	ip netns exec "$S" sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.forwarding
}
# The client host: what a client half (an overlay's bridge, VXLAN device and namespace; a route) adds there.
client_snapshot() {
	ip -n "$C" -j link show | "$PY" -c 'import json,sys; print(sorted(l["ifname"] for l in json.load(sys.stdin)))'
	ip -n "$C" -4 -j route show table all # (IPv6's link-local routes come and go with DAD)
	ls /run/netns | grep -E '^nb-.*-cli$' || true
}
sleep 2 # IPv6 DAD settles
BEFORE=$(snapshot)
CBEFORE=$(client_snapshot)
client_same() {
	[ "$(client_snapshot)" = "$CBEFORE" ] || {
		diff <(echo "$CBEFORE") <(client_snapshot) >&2
		fail "the client host's namespace is not as before: $1"
	}
	log "client host as before: $1"
}
same_as_before() { # same_as_before WHAT: waits up to 40 s (keepalive finds a dead client in ~16 s)
	local i now
	for i in $(seq 80); do
		now=$(snapshot)
		[ "$now" = "$BEFORE" ] && { log "server host as before: $1"; return 0; }
		sleep 0.5
	done
	diff <(echo "$BEFORE") <(echo "$now") | head -20 >&2
	fail "the server host's namespace is not as before: $1"
}

start_agent() {
	# `ip netns exec` remounts /sys: cgroup v2 is mounted again in its mount namespace for the host path.
	# compare -H holds a half of every path but native at once: room for six (host, bridge, nat, overlay,
	# macvlan), each with its share of memory
	ip netns exec "$S" sh -c 'mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null; exec "$0" serve --paths --max-halves 6,6 --max-mem 2G,256M --key-file "$1"' \
		"$NBENCH" "$KEY" >"$LOG" 2>&1 &
	AGENT=$!
	for _ in $(seq 100); do
		grep -q listening "$LOG" && return 0
		sleep 0.1
	done
	cat "$LOG" >&2
	fail "the agent did not start"
}
client() { ip netns exec "$C" "$NBENCH" "$@"; }

# refusals: --paths without a key; a path without the key; a VM path (with its reason)
out=$(ip netns exec "$S" "$NBENCH" serve --paths 2>&1) && fail "--paths without a key started"
[ "$(wc -l <<<"$out")" = 1 ] || fail "--paths without a key: not one line: $out"
start_agent
out=$(client rr -H "$SA" --path nat -t 1 2>&1) && fail "-H --path ran without a key"
grep -q "key-file" <<<"$out" || fail "no key: $out"
out=$(client rr -H "$SA" --path virtio --key-file "$KEY" -t 1 2>&1) && fail "a VM path was granted"
grep -q "not built for a remote client" <<<"$out" || fail "VM path refusal: $out"
out=$(client rr -H "$SA" --path docker-nat --key-file "$KEY" -t 1 2>&1) && fail "a Docker path was granted"
grep -q "Docker engine builds it on one host" <<<"$out" || fail "Docker path refusal: $out"

# every path across the two hosts
paths=$(IFS=,; echo "${KINDS[*]}")
out=$(client compare -H "$SA" --key-file "$KEY" --paths "$paths" --tests rr-tcp,stream -t 1 --runs 1 2>&1) ||
	{ echo "$out" >&2; fail "compare -H failed"; }
echo "$out"
[ -n "${REMOTE_OUT:-}" ] && echo "$out" >"$REMOTE_OUT"
for k in "${KINDS[@]}"; do
	grep -qE "^ *(rr|stream)?.* $k " <<<"$out" || fail "compare -H: no row for $k"
	grep -q "path $k up" "$LOG" || fail "the agent built no $k half"
done
grep -q "left out" <<<"$out" && fail "compare -H left a path out: $out"
same_as_before "after compare -H"
client_same "after compare -H"
ip -n "$C" route | grep -q 172.31. && fail "the client's route to the container subnet was left behind"

# both hosts' interfaces in the report: the client's (the route to the server), and the server's as its
# responder names them in the server namespace, with the run's packets counted on each (each side snapshots
# its counters when its end of the control connection sees the window open and close: a window a little
# shorter than the transactions' own, hence the 0.9)
report_check() { # report_check FILE WHAT EXPR: EXPR over the JSON report d (e = d["end"])
	"$PY" - "$1" "$3" <<'PY' || fail "$2"
import json, sys
d = json.load(open(sys.argv[1])); e = d["end"]
if not eval(sys.argv[2]):
    print(json.dumps({k: d["start"][k] for k in ("interfaces", "server_interfaces")}), file=sys.stderr)
    print(json.dumps({k: e[k] for k in ("transactions", "interfaces", "server_interfaces")}), file=sys.stderr)
    sys.exit(1)
PY
}
out=$(client rr -H "$SA" --key-file "$KEY" -t 1 --json) || fail "rr -H failed"
echo "$out" >"$TMP/plain.json"
srv_moved="{i['name']: i['counters'] for i in e['server_interfaces']}"
report_check "$TMP/plain.json" "-H: the client's interface" \
	"[i['name'] for i in d['start']['interfaces']] == ['nbr$$c']"
report_check "$TMP/plain.json" "-H: the server's interface with the run's packets" \
	"[(i['name'], i['netns'], i['driver']) for i in d['start']['server_interfaces']] == [('nbr$$s', None, 'veth')] and all($srv_moved['nbr$$s'][k] >= 0.9 * e['transactions'] for k in ('rx_packets', 'tx_packets'))"
client rr -H "$SA" --key-file "$KEY" -t 1 >"$TMP/plain.txt" || fail "rr -H (text) failed"
grep -q "^nic:       nbr$$c: driver veth" "$TMP/plain.txt" || fail "-H text: no client nic line: $(cat "$TMP/plain.txt")"
grep -q "^nic:       (server) nbr$$s: driver veth" "$TMP/plain.txt" ||
	fail "-H text: no server nic line: $(cat "$TMP/plain.txt")"
grep -A1 "^nic:       (server) nbr$$s" "$TMP/plain.txt" | grep -qE "^  rx [1-9][0-9]* packets" ||
	fail "-H text: the server's rx packets not shown: $(cat "$TMP/plain.txt")"
log "-H: both hosts' interfaces reported"
if [[ " ${KINDS[*]} " == *" bridge "* ]]; then
	out=$(client rr -H "$SA" --path bridge --key-file "$KEY" -t 1 --json) || fail "rr -H --path bridge failed"
	echo "$out" >"$TMP/bridge.json"
	# this host's interface, the bridge and the veth's host end in the agent's namespace, its container end
	# in the half's; every one of them carried the run
	report_check "$TMP/bridge.json" "-H --path bridge: the half's interfaces" \
		"[i['name'] for i in d['start']['server_interfaces']][0] == 'nbr$$s' and len(d['start']['server_interfaces']) == 4 and d['start']['server_interfaces'][3]['netns'].endswith('-ctr') and d['start']['server_interfaces'][0]['netns'].startswith('/proc/') and all(i['counters'][k] >= 0.9 * e['transactions'] for i in e['server_interfaces'] for k in ('rx_packets', 'tx_packets'))"
	report_check "$TMP/bridge.json" "-H --path bridge: the client's interface" \
		"[i['name'] for i in d['start']['interfaces']] == ['nbr$$c'] and e['interfaces'][0]['counters']['tx_packets'] >= 0.9 * e['transactions']"
	log "-H --path bridge: the half's interfaces reported"
fi

# the client killed mid-run: its session ends, the agent tears the half down
# client_mid_run KIND: a 20 s rr over a new KIND half in the background (its pid in CL), returning once the
# agent has built the half and the run is under way
client_mid_run() {
	local n0
	n0=$(grep -c "path $1 up" "$LOG" || true)
	client rr -H "$SA" --path "$1" --key-file "$KEY" -t 20 >/dev/null 2>&1 &
	CL=$!
	for _ in $(seq 100); do [ "$(grep -c "path $1 up" "$LOG")" -gt "$n0" ] && break; sleep 0.1; done
	sleep 2
}
client_mid_run nat
kill -9 "$CL"
wait "$CL" 2>/dev/null || true
same_as_before "after the client's kill -9"

# a client killed on a bridge path leaves its route to the container subnet on its own host: `topo down
# --all` there takes it away (found by nbench's routing protocol number) and leaves its other routes alone
if [[ " ${KINDS[*]} " == *" bridge "* ]]; then
	croutes=$(ip -n "$C" -j route show table all)
	client_mid_run bridge
	kill -9 "$CL"
	wait "$CL" 2>/dev/null || true
	ip -n "$C" route | grep -q "^172\.31\..* proto 78" || fail "no client route marked proto 78 while its run was up"
	same_as_before "after the bridge client's kill -9"
	client topo down --all || fail "topo down --all in the client namespace"
	[ "$(ip -n "$C" -j route show table all)" = "$croutes" ] ||
		fail "topo down --all did not leave the client's routes as they were: $(ip -n "$C" route)"
	log "a killed client's route to the container subnet: removed by topo down --all"
fi

# an overlay's client killed: the agent takes its half down; its own half (bridge, VXLAN device, namespace,
# state file) stays on the client host until `topo down --all` there. A macvlan client's route on the link
# likewise.
for k in overlay macvlan; do
	[[ " ${KINDS[*]} " == *" $k "* ]] || continue
	client_mid_run "$k"
	if [ "$k" = overlay ]; then
		wait_for 20 "overlay: the client half's namespace and VXLAN device" \
			eval 'ls /run/netns | grep -qE "^nb-.*-cli$" && ip -n "$C" -d link | grep -q "vxlan id"' ||
			fail "overlay: no client half while its run was up"
	else
		wait_for 20 "macvlan: the client's route on the link" \
			eval 'ip -n "$C" route | grep -qE "^172\.31\..* dev nbr$$c proto 78 scope link"' ||
			fail "macvlan: no on-link route to the container subnet: $(ip -n "$C" route)"
	fi
	kill -9 "$CL"
	wait "$CL" 2>/dev/null || true
	same_as_before "after the $k client's kill -9"
	# (this test's two hosts share /run: the half's state file, the last thing its teardown removes, is
	# waited for; the client host's down --all leaves another namespace's half to its agent)
	wait_for 20 "the $k half's state file removed" eval '! grep -qs "\"half\"" /run/nbench/topo/*.json' || true
	out=$(client topo down --all 2>&1) || fail "$k: topo down --all on the client host (exit $?): $out"
	client_same "after the $k client's kill -9 and topo down --all there"
done

# the agent killed mid-run: `topo down --all` in the server namespace puts everything back
client_mid_run bridge
kill -9 "$AGENT"
wait "$AGENT" 2>/dev/null || true
AGENT=
name=$(grep "path bridge up" "$LOG" | tail -1 | sed 's/.*up (\([a-z0-9-]*\)).*/\1/')
if [ -n "${REMOTE_DOWN_ONE:-}" ]; then
	ip netns exec "$S" "$NBENCH" topo down "$name" || fail "topo down $name in the server namespace"
else
	ip netns exec "$S" "$NBENCH" topo down --all || fail "topo down --all in the server namespace"
fi
for _ in $(seq 300); do kill -0 "$CL" 2>/dev/null || break; sleep 0.1; done # its test ends, it removes its route
kill -9 "$CL" 2>/dev/null || true
wait "$CL" 2>/dev/null || true
same_as_before "after the agent's kill -9 and topo down"
[ ! -e "/run/nbench/topo/$name.json" ] || fail "the half's state file is still there"
[ ! -e "/run/netns/nb-$name-ctr" ] || fail "the half's netns entry is still there"
ip -n "$C" route | grep -q 172.31. && fail "the client left its route to the container subnet"
end_checks
