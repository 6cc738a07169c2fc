#!/bin/bash
# SPDX-License-Identifier: MIT
# --wire and --wire-rate (issue 11 items 1-2, issue 23 item 3): a veth pair made here in the root namespace
# stands in for two cabled ports. Their state (address, MTU, an offload, qdiscs, routes through them in
# other tables and scopes, tc filters on clsact and ingress) must come back exactly after a run and
# teardown, after a failure half way, after SIGINT during up and after kill -9 + `topo down --all`; ports
# carrying the default route, enslaved or down without carrier are refused; a decoy stays untouched.
source "$(dirname "$0")/lib.sh"
command -v ethtool >/dev/null || skip "no ethtool"
command -v tc >/dev/null || skip "no tc"

A=nbtw$$a
B=nbtw$$b
DECOY=nbtw$$d
BR=nbtw$$br
DRNS=nbtw-$TAG-dr
wire_cleanup() {
	local rc=$?
	set +e
	# the test's topologies down while their ports exist, so a failure half way leaves no state behind
	for n in "${NAMES[@]}"; do "$NBENCH" topo down "$n" >/dev/null 2>&1; done
	ip link del "$A" 2>/dev/null
	ip link del "$DECOY" 2>/dev/null
	ip link del "$BR" 2>/dev/null
	ip netns del "$DRNS" 2>/dev/null
	(exit $rc) # cleanup exits with the test's status
	cleanup
}
trap wire_cleanup EXIT

ip link add "$A" type veth peer name "$B"
ip link add "$DECOY" type veth peer name "${DECOY}p"
ip addr add 192.0.2.1/24 dev "$A"
ip link set "$A" mtu 1400
ethtool -K "$A" tso off >/dev/null
tc qdisc add dev "$B" root handle 5: tbf rate 1gbit burst 100k limit 200k
ip addr add 198.51.100.7/24 dev "$DECOY"
ip link set "$A" up
ip link set "$B" up
ip link set "$DECOY" up
# what moving a port to another namespace drops besides its addresses: routes that are not the kernel's
# own (via a gateway, in other tables, scope link, IPv6) and tc filters (u32 with mirred, a classic
# cls_bpf) on a clsact and on an ingress qdisc
routes_add() { # a link set down loses them: the refusals below add them again
	ip route add 198.18.5.0/24 via 192.0.2.254 dev "$A"
	ip route add 198.18.6.0/24 via 192.0.2.254 dev "$A" table 100 metric 7
	ip route add 198.18.7.0/24 dev "$A" scope link table 101 proto static
	ip -6 route add 2001:db8:77::/64 dev "$A" table 100 metric 9
}
routes_add
tc qdisc add dev "$A" clsact
tc filter add dev "$A" ingress protocol ip prio 10 u32 match ip src 192.0.2.9/32 \
	action mirred egress redirect dev "$DECOY"
tc filter add dev "$A" egress protocol all prio 20 bpf bytecode '1,6 0 0 4294967295,' classid 1:1
tc qdisc add dev "$B" ingress
tc filter add dev "$B" parent ffff: protocol ip prio 5 u32 match ip dst 192.0.2.1/32 \
	action mirred egress mirror dev "$DECOY"
# an eBPF classifier (direct action), whose program lives only as long as its filter, where clang builds
# one; tc keeps its object's maps in a bpf filesystem, as nbench keeps the program while the port is away
EBPF=
cat >"$TMP/cls.c" <<'EOF'
__attribute__((section("classifier"), used)) int pass(void *skb) { return 0; }
char nb_license[] __attribute__((section("license"), used)) = "GPL";
EOF
if command -v clang >/dev/null && clang -O2 -target bpf -c "$TMP/cls.c" -o "$TMP/cls.o" 2>"$TMP/clang.err"; then
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || fail "no bpf filesystem at /sys/fs/bpf"
	tc filter add dev "$A" ingress prio 30 bpf da obj "$TMP/cls.o" sec classifier || fail "eBPF filter"
	EBPF=1
else
	log "clang built no eBPF classifier: the eBPF filter is left out ($(head -c 200 "$TMP/clang.err"))"
fi

# Everything a port's state is made of, as iproute2 and ethtool see it; waits out IPv6 DAD first (a
# link-local address is "tentative" for a moment after each up).
snap() {
	local i
	for _ in $(seq 50); do
		ip -j addr show | grep -q tentative || break
		sleep 0.1
	done
	for i in "$A" "$B" "$DECOY"; do
		ip -d -j link show "$i"
		ip -j addr show "$i"
		ethtool -k "$i"
		tc -j qdisc show dev "$i"
		ethtool -l "$i" 2>&1 || true
		echo "$i: routes"
		ip -d route show table all dev "$i"
		echo "$i: filters"
		tc -d filter show dev "$i" ingress
		tc -d filter show dev "$i" egress
	done
}
snap >"$TMP/before"
# the set-up took: what follows compares something
for want in "198.18.5.0/24 via 192.0.2.254" "198.18.6.0/24 via 192.0.2.254 table 100" \
	"198.18.7.0/24 table 101 proto static scope link" "2001:db8:77::/64 table 100" "u32 chain 0 fh 800::800" \
	"mirred (Egress Redirect to device $DECOY)" "bytecode '1,6 0 0 4294967295'" "mirred (Egress Mirror to device $DECOY)" \
	${EBPF:+"cls.o:[classifier] direct-action"}; do
	grep -qF "$want" "$TMP/before" || fail "set-up: no '$want' in $(cat "$TMP/before")"
done
same() {
	snap >"$TMP/after"
	diff "$TMP/before" "$TMP/after" >"$TMP/diff" || fail "$1: the ports are not as before: $(head -c 2000 "$TMP/diff")"
	[ ! -e /sys/fs/bpf/nbench ] || fail "$1: eBPF programs still pinned: $(ls /sys/fs/bpf/nbench)"
}

log "up, traffic, down: everything back"
n=$(name w1)
"$NBENCH" topo up native --name "$n" --wire "$A,$B" >"$TMP/up" || fail "topo up --wire failed"
[ "$(ip -n "nb-$n-host" -j link show "nb-$n-h" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["mtu"])')" = 1400 ] ||
	fail "IF_A is not the server's side"
ip -n "nb-$n-remote" link show "nb-$n-r" >/dev/null || fail "IF_B is not the client's side"
ip link show "$A" >/dev/null 2>&1 && fail "IF_A is still in the root namespace"
grep -q '"saved"' "/run/nbench/topo/$n.json" || fail "no recorded wire state in the state file"
"$PY" - "/run/nbench/topo/$n.json" <<'PY' || fail "the state file lacks the ports' routes or filters"
import json, sys
a, b = json.load(open(sys.argv[1]))["wire"]["saved"]
assert len(a["routes"]) == 4 and len(a["filters"]) >= 2 and len(b["filters"]) >= 1, (a["routes"], a["filters"])
PY
[ -z "$EBPF" ] || [ -n "$(ls /sys/fs/bpf/nbench)" ] || fail "the eBPF filter's program is not kept while $A is away"
"$NBENCH" rr --topo "$n" -t 1 -q >"$TMP/rr" || fail "rr over the wire failed: $(cat "$TMP/rr")"
# the report names the ports as the path has them, with what each counted
"$NBENCH" rr --topo "$n" -t 1 -q --json >"$TMP/rr.json" || fail "rr --json over the wire failed"
"$PY" - "$TMP/rr.json" "$n" <<'PY' || fail "the report does not name the wire's ports: $(head -c 600 "$TMP/rr.json")"
import json, sys
d, n = json.load(open(sys.argv[1])), sys.argv[2]
ids = [(i["name"], i["netns"], i["driver"]) for i in d["start"]["interfaces"]]
assert ("nb-%s-h" % n, "nb-%s-host" % n, "veth") in ids and ("nb-%s-r" % n, "nb-%s-remote" % n, "veth") in ids, ids
e = d["end"]
assert all(i["counters"]["rx_packets"] >= 0.9 * e["transactions"] for i in e["interfaces"]), e["interfaces"]
PY
"$NBENCH" topo down "$n" || fail "topo down failed"
same "after down"
check_clean "$n"

log "a failure half way (a nat step after the ports moved)"
n=$(name w2)
NBENCH_TOPO_FAIL_AT=12 "$NBENCH" topo up nat --name "$n" --wire "$A,$B" 2>"$TMP/err" && fail "injected failure did not fail"
grep -q injected "$TMP/err" || fail "unexpected error: $(cat "$TMP/err")"
same "after a failure half way"
check_clean "$n"

log "SIGINT during up"
n=$(name w3)
NBENCH_TOPO_STEP_DELAY_MS=300 "$NBENCH" topo up bridge --name "$n" --wire "$A,$B" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do
	ip netns exec "nb-$n-host" true 2>/dev/null && ip -n "nb-$n-host" link show "nb-$n-h" >/dev/null 2>&1 && break
	sleep 0.05
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 130 ] || fail "SIGINT: exit status $rc, not 130"
same "after SIGINT"
check_clean "$n"

log "kill -9 during up, then topo down --all"
n=$(name w4)
NBENCH_TOPO_STEP_DELAY_MS=300 "$NBENCH" topo up bridge --name "$n" --wire "$A,$B" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do
	ip -n "nb-$n-remote" link show "nb-$n-r" >/dev/null 2>&1 && break
	sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
"$NBENCH" topo down --all >/dev/null || fail "topo down --all failed"
same "after kill -9 and down --all"
check_clean "$n"

log "--wire-rate: a tbf on the wire during the run, none after"
n=$(name w5)
NBENCH_TOPO_STEP_DELAY_MS=0 "$NBENCH" topo up native --name "$n" --wire "$A,$B" --wire-rate 10G >/dev/null ||
	fail "topo up --wire-rate failed"
for side in "host h" "remote r"; do
	set -- $side
	tc -n "nb-$n-$1" -j qdisc show dev "nb-$n-$2" | grep -q '"kind":"tbf"' || fail "no tbf on nb-$n-$2"
done
"$NBENCH" topo script native --name "$n" --wire-rate 10G | grep -q "tbf rate 10000000000bit" ||
	fail "topo script has no tbf"
"$NBENCH" rr --topo "$n" -t 1 -q >"$TMP/rr" || fail "rr over the shaped wire failed"
grep -qE "^shaping: +10.00 Gbit/s per direction \(tbf on nb-$n-[hr], nb-$n-[hr]\)" "$TMP/rr" ||
	fail "the report does not say the wire is shaped: $(grep -E '^(nic|shaping)' "$TMP/rr")"
"$NBENCH" topo down "$n" || fail "topo down failed"
same "after --wire-rate"
# the veth wire shaped too, through a --path run (the qdisc is read while the run goes)
"$NBENCH" rr --path native --wire-rate 10G -t 2 -q >"$TMP/rr" 2>&1 &
pid=$!
seen=0
for _ in $(seq 60); do
	for ns in $(ls /run/netns | grep -E '^nb-t[0-9a-f]{6}-host$' || true); do
		tc -n "$ns" qdisc show | grep -q "tbf 4e42:" && seen=1
	done
	[ "$seen" = 1 ] && break
	sleep 0.05
done
wait "$pid" || fail "rr --path native --wire-rate failed: $(cat "$TMP/rr")"
[ "$seen" = 1 ] || fail "no tbf seen on the veth wire during the run"

log "refusals"
expect_refusal() {
	local why=$1
	shift
	"$@" >/dev/null 2>"$TMP/err" && fail "not refused ($why)"
	grep -q "$why" "$TMP/err" || fail "refused without the reason '$why': $(cat "$TMP/err")"
}
n=$(name w6)
ip link add "$BR" type bridge
ip link set "$B" master "$BR"
expect_refusal "enslaved to $BR" "$NBENCH" topo up native --name "$n" --wire "$A,$B"
# --force takes it all the same (moving it to a namespace releases it), and down puts it back in its bridge
"$NBENCH" topo up native --name "$n" --wire "$A,$B" --force >/dev/null 2>"$TMP/err" ||
	fail "--force: the enslaved port was not taken: $(cat "$TMP/err")"
ip -j link show "$B" 2>/dev/null | grep -q '"master"' && fail "--force: $B still enslaved while it is the wire"
"$NBENCH" topo down "$n" || fail "--force: down failed"
master=$(ip -j link show "$B" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0].get("master", ""))')
[ "$master" = "$BR" ] || fail "--force: $B is back in '$master', not in $BR"
ip link set "$B" nomaster
ip link del "$BR"
ip link set "$A" down
expect_refusal "down and has no carrier" "$NBENCH" topo up native --name "$n" --wire "$A,$B"
ip link set "$A" up
routes_add
# a default route: in a throwaway namespace of its own, never the machine's
ip netns add "$DRNS"
ip -n "$DRNS" link add x0 type veth peer name x1
ip -n "$DRNS" addr add 203.0.113.1/24 dev x0
ip -n "$DRNS" link set x0 up
ip -n "$DRNS" link set x1 up
ip -n "$DRNS" route add default via 203.0.113.254 dev x0
expect_refusal "default route" ip netns exec "$DRNS" "$NBENCH" topo up native --name "$n" --wire x0,x1
ip -n "$DRNS" route show default | grep -q x0 || fail "the throwaway default route is gone"
ip netns del "$DRNS"
expect_refusal "no wire" "$NBENCH" topo up loopback --name "$n" --wire "$A,$B"
if [ -n "$EBPF" ]; then # no bpf filesystem to keep the eBPF filter's program in (a mount namespace of its own)
	expect_refusal "/sys/fs/bpf is none" unshare -m --propagation private sh -c \
		'umount /sys/fs/bpf && exec "$0" topo up native --name "$1" --wire "$2"' "$NBENCH" "$n" "$A,$B"
fi
check_clean "$n"
same "after the refusals"

log "a wire port deleted while the path is up: down notes it is gone and leaves no state"
"$NBENCH" topo up native --name "$n" --wire "$A,$B" >/dev/null || fail "topo up --wire (to lose a port) failed"
ip -n "nb-$n-host" link del "nb-$n-h" || fail "cannot delete the wire's veth inside the path"
"$NBENCH" topo down "$n" 2>"$TMP/err" || fail "down with the wire gone failed: $(cat "$TMP/err")"
grep -q "wire interface $A is gone" "$TMP/err" || fail "down did not say $A is gone: $(cat "$TMP/err")"
[ ! -e "/run/nbench/topo/$n.json" ] || fail "the state file stayed after the wire went away"
check_clean "$n"
log "ok"
end_checks
