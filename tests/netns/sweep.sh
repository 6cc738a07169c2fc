#!/bin/bash
# SPDX-License-Identifier: MIT
# nbench sweep (issue 13 item 3) on the host path's veth wire: offloads, MTU, channels and the qdisc change
# during the run (read back from the test while the sweep runs), rings and coalescing are refused and
# reported, the interfaces come back exactly after the sweep and after kill -9 + `topo down --all`, and a bad
# --set is one line and exit 2.
source "$(dirname "$0")/lib.sh"
command -v ethtool >/dev/null || skip "no ethtool"
command -v tc >/dev/null || skip "no tc"

NAME=sw$TAG
NAMES+=("$NAME" "${NAME}k")
A=nbsw$$a
sweep_cleanup() {
	local rc=$?
	set +e
	ip link del "$A" 2>/dev/null
	(exit $rc)
	cleanup
}
trap sweep_cleanup EXIT
"$NBENCH" topo up host --name "$NAME" >/dev/null || fail "topo up host"
NS=nb-$NAME-remote
IF=nb-$NAME-r
state() { # the whole state of the client's end of the wire
	ip netns exec "$NS" ip -j link show "$IF" | python3 -c 'import json,sys; l=json.load(sys.stdin)[0]; print(l["mtu"], l["operstate"])'
	ip netns exec "$NS" ethtool -k "$IF" | grep -v fixed
	ip netns exec "$NS" ethtool -l "$IF" 2>&1
	ip netns exec "$NS" tc -j qdisc show dev "$IF"
	ip netns exec "$NS" ip -j addr show "$IF" | python3 -c 'import json,sys; print([a["local"] for a in json.load(sys.stdin)[0]["addr_info"]])'
}
before=$(state)

# bad syntax: one line, exit 2
rc=0; out=$("$NBENCH" sweep --set mtu=abc -- rr --topo "$NAME" 2>&1) || rc=$?
[ $rc = 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] || fail "bad --set: rc $rc: $out"
rc=0; out=$("$NBENCH" sweep --set nonsense=1 -- rr 2>&1) || rc=$?
[ $rc = 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] || fail "unknown knob: rc $rc: $out"

# a sweep whose knobs are visible: watch them change while it runs
watch() {
	set +e # a grep that finds nothing must not end the watcher (lib.sh's errexit is inherited)
	while sleep 0.2; do
		ip netns exec "$NS" ip -j link show "$IF" 2>/dev/null | grep -o '"mtu":[0-9]*'
		ip netns exec "$NS" ethtool -k "$IF" 2>/dev/null | grep '^generic-receive-offload'
		ip netns exec "$NS" ethtool -l "$IF" 2>/dev/null | sed -n '/Current/,$p' | grep '^RX:'
		ip netns exec "$NS" tc qdisc show dev "$IF" 2>/dev/null | grep -o 'qdisc tbf'
	done
}
watch >"$TMP/seen" &
WATCH=$!
"$NBENCH" sweep --topo "$NAME" --runs 1 --json -o "$TMP/sweep.json" --set gro=off --set mtu=1400,9000 \
	--set rx-channels=1 --set qdisc=tbf:1G --set rx-ring=256 -- rr -t 1 >/dev/null 2>"$TMP/err" ||
	fail "sweep failed: $(cat "$TMP/err")"
kill $WATCH 2>/dev/null || true; wait $WATCH 2>/dev/null || true
grep -q '"mtu":1400' "$TMP/seen" || fail "mtu 1400 never seen"
grep -q '"mtu":9000' "$TMP/seen" || fail "mtu 9000 never seen"
grep -q 'generic-receive-offload: off' "$TMP/seen" || fail "gro off never seen"
grep -q 'qdisc tbf' "$TMP/seen" || fail "tbf never seen"
python3 - "$TMP/sweep.json" <<'PY' || fail "sweep JSON"
import json, sys
j = json.load(open(sys.argv[1]))
c = j["combinations"]
assert len(c) == 2, c
for x in c:
    assert any("rx-ring: refused by veth (EOPNOTSUPP)" == r for r in x["refused"]), x["refused"]
    assert x["runs"] == 1 and x["metrics"]["transactions_per_s"]["mean"] > 0, x
assert c[0]["metrics"]["transactions_per_s"]["ratio"] == 1
# where it ran, as a single run's report says it: the hosts, the interfaces (the wire's veth), the settings
x = j["context"]
assert x["client"]["kernel"] and x["server"]["kernel"] and x["same_host"] is True, x
assert any(i["driver"] == "veth" for i in x["interfaces"]), x["interfaces"]
assert x["settings"]["kind"] == "rr", x["settings"]
PY
# diff of two sweeps warns when their NICs differ (a driver changed between them), before any figure
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); j['context']['interfaces'][0]['driver']='ice'; json.dump(j, open(sys.argv[2], 'w'))" \
	"$TMP/sweep.json" "$TMP/sweep_ice.json"
"$NBENCH" diff "$TMP/sweep.json" "$TMP/sweep_ice.json" >"$TMP/diff.out" 2>"$TMP/diff.err" || fail "sweep diff: $(cat "$TMP/diff.err")"
grep -q "warning: A and B differ in their hosts or NICs.*context.interfaces\[0\]\.driver veth -> ice" "$TMP/diff.err" ||
	fail "no warning of the driver: $(cat "$TMP/diff.err")"
"$NBENCH" diff "$TMP/sweep.json" "$TMP/sweep.json" >/dev/null 2>"$TMP/diff.err" && [ ! -s "$TMP/diff.err" ] ||
	fail "a sweep against itself warned: $(cat "$TMP/diff.err")"
[ "$(state)" = "$before" ] || fail "state after the sweep differs: $(diff <(echo "$before") <(state))"

# coalescing refused too, in the text row
out=$("$NBENCH" sweep --topo "$NAME" --runs 1 --set rx-usecs=10 -- rr -t 0.3 2>/dev/null) || fail "rx-usecs sweep"
echo "$out" | grep -q 'rx-usecs: refused by veth (EOPNOTSUPP)' || fail "rx-usecs not reported: $out"

# kill -9 mid-sweep, then topo down --all restores (a root-namespace veth as --on, so it outlives the path)
ip link add "$A" type veth peer name "${A}p" || fail "veth"
ethtool -K "$A" gro on >/dev/null 2>&1
b2=$(ip -j link show "$A" | grep -o '"mtu":[0-9]*'; ethtool -k "$A" | grep -v fixed; tc qdisc show dev "$A")
"$NBENCH" topo up host --name "${NAME}k" >/dev/null || fail "topo up 2"
"$NBENCH" sweep --topo "${NAME}k" --on "$A" --runs 50 --set mtu=1300 --set gro=off --set qdisc=pfifo \
	-- rr -t 1 >/dev/null 2>&1 &
SW=$!
for _ in $(seq 50); do ip -j link show "$A" | grep -q '"mtu":1300' && break; sleep 0.2; done
ip -j link show "$A" | grep -q '"mtu":1300' || fail "--on mtu never applied"
kill -9 $SW; wait $SW 2>/dev/null || true
"$NBENCH" topo down --all >/dev/null || fail "topo down --all"
a2=$(ip -j link show "$A" | grep -o '"mtu":[0-9]*'; ethtool -k "$A" | grep -v fixed; tc qdisc show dev "$A")
[ "$a2" = "$b2" ] || fail "not restored after kill -9: $(diff <(echo "$b2") <(echo "$a2"))"
ls /run/nbench/sweep/*.json >/dev/null 2>&1 && fail "sweep file left behind"
echo "ok sweep"
