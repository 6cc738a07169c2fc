#!/bin/bash
# SPDX-License-Identifier: MIT
# overlay and macvlan (issue 22 item 5): each builds, carries TCP and UDP between its ends (and nbench's rr),
# describes itself (overlay: VXLAN devices and container veths at MTU 1450, bridges on both sides; macvlan:
# the container's macvlan on the wire's server end), and goes away clean. The overlay's packets cross the wire
# inside VXLAN (the tunnel devices count them). Then both over --wire (a veth pair of this namespace standing in
# for two cabled ports), which are put back as they were.
. "$(dirname "$0")/lib.sh"

ip link add nbvx$$ type vxlan id 1 dstport 4789 2>/dev/null || skip "kernel has no VXLAN (CONFIG_VXLAN)"
ip link del nbvx$$
ip link add nbmp$$ type veth peer name nbmq$$
ip link add nbmv$$ link nbmp$$ type macvlan mode bridge 2>/dev/null || {
	ip link del nbmp$$
	skip "kernel has no macvlan (CONFIG_MACVLAN)"
}
ip link del nbmp$$
[ "$HAVE_BRIDGE" = 1 ] || skip "kernel has no bridge"
make_decoys

link_stat() { # link_stat NETNS IF FIELD: a counter of the link (tx_packets, rx_packets)
	ip -n "$1" -j -s link show "$2" | "$PY" -c "import json,sys; s=json.load(sys.stdin)[0]['stats64']; print(s['${3%%_*}']['${3#*_}'])"
}

# path_check KIND [--wire A,B]: up, traffic, describe, rr, down, nothing left
path_check() {
	local kind=$1 n out cns dial sns listen res
	shift
	n=$(name "${kind:0:2}")
	out=$("$NBENCH" topo up "$kind" --name "$n" "$@") || fail "$kind $*: topo up"
	cns=$(field client <<<"$out")
	dial=$(field dial <<<"$out")
	sns=$(awk '$1 == "server" { print $2 }' <<<"$out")
	listen=$(awk '$1 == "server" { print $3 }' <<<"$out")
	local tx0=0
	[ "$kind" = overlay ] && tx0=$(link_stat "nb-$n-host" "nb-$n-x" rx_packets)
	res=$(traffic "$sns" "${listen##*:}" "$cns" "${dial%:*}" "${dial##*:}")
	log "$kind $*: $(echo $res)"
	case $kind in
	overlay) # one L2 segment: the server sees the client container's own address
		[ "$(echo $res)" = "tcp 172.31.77.3 udp 172.31.77.3" ] || fail "overlay: server saw: $res"
		[ "$cns" = "nb-$n-cli" ] && [ "$sns" = "nb-$n-ctr" ] || fail "overlay: ends $cns $sns"
		local tx1
		tx1=$(link_stat "nb-$n-host" "nb-$n-x" rx_packets)
		[ "$tx1" -gt "$tx0" ] || fail "overlay: no packet came out of the VXLAN tunnel ($tx0 -> $tx1)"
		;;
	macvlan) # the wire's segment: the server is a station of it, beside the host
		[ "$(echo $res)" = "tcp 10.77.0.1 udp 10.77.0.1" ] || fail "macvlan: server saw: $res"
		[ "${dial%:*}" = 10.77.0.3 ] || fail "macvlan: dial $dial"
		;;
	esac
	"$NBENCH" topo describe "$n" --json >"$TMP/describe.json"
	"$PY" - "$TMP/describe.json" "$kind" <<'PYEOF' || fail "$kind: describe"
import json, sys
d = json.load(open(sys.argv[1])); kind = sys.argv[2]
ifs = {i["name"].rsplit("-", 1)[-1] if i["name"] != "lo" else "lo": i for i in d["interfaces"]}
if kind == "overlay":
    assert ifs["x"]["kind"] == "vxlan" and ifs["y"]["kind"] == "vxlan", ifs
    for l in "xyvwck":
        assert ifs[l]["mtu"] == 1450, (l, ifs[l])
    assert ifs["x"]["master"].endswith("-b") and ifs["y"]["master"].endswith("-g")
    assert ifs["v"]["master"].endswith("-b") and ifs["w"]["master"].endswith("-g")
    assert sorted(n["name"].rsplit("-", 1)[1] for n in d["netns"]) == ["cli", "ctr", "host", "remote"]
else:
    assert ifs["m"]["kind"] == "macvlan", ifs
    assert [n for n in d["netns"] if n["name"].endswith("-ctr")]
PYEOF
	"$NBENCH" rr --topo "$n" -t 1 --json >"$TMP/rr.json" || fail "$kind: rr --topo"
	"$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]; assert e["complete"] and e["transactions"] > 0, e' \
		"$TMP/rr.json" || fail "$kind: rr report"
	"$NBENCH" topo down "$n"
	check_clean "$n"
	[ -z "$(ls /run/netns | grep -E "^nb-$n-")" ] || fail "$kind: netns left: $(ls /run/netns)"
}

for kind in overlay macvlan; do
	path_check "$kind"
done

# --wire: two ports of this namespace (a veth pair standing in for a cable) carry the underlay
A=nbwa$$
B=nbwb$$
ip link add "$A" type veth peer name "$B"
ip link set "$A" up
ip link set "$B" up
wire_state() { ip -j -d link show "$1" | "$PY" -c 'import json,sys; l=json.load(sys.stdin)[0]; print(l["ifname"], l["mtu"], l["operstate"] != "DOWN", l.get("address"))'; }
before="$(wire_state "$A") $(wire_state "$B")"
for kind in overlay macvlan; do
	path_check "$kind" --wire "$A,$B"
	[ "$(wire_state "$A") $(wire_state "$B")" = "$before" ] || fail "$kind --wire: ports not as before"
done
ip link del "$A"
check_decoys
log "overlay and macvlan ok, on a veth pair and over --wire"
end_checks
