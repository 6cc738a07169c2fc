#!/bin/bash
# SPDX-License-Identifier: MIT
# Every path builds, carries TCP and UDP between its endpoints, describes itself, and goes away clean.
# nat: the server sees the host's bridge address and conntrack holds the DNAT entry. host: a server
# spawned there runs as pid 2 under a small init in its own pid, uts and mount namespaces and cgroup.
. "$(dirname "$0")/lib.sh"

make_decoys
runnable loopback native host bridge nat
kinds="${KINDS[*]}"

for kind in $kinds; do
	n=$(name "${kind:0:2}")
	out=$("$NBENCH" topo up "$kind" --name "$n")
	[ "$(field name <<<"$out")" = "$n" ] || fail "$kind: up printed: $out"
	cns=$(field client <<<"$out")
	dial=$(field dial <<<"$out")
	sns=$(awk '$1 == "server" { print $2 }' <<<"$out")
	listen=$(awk '$1 == "server" { print $3 }' <<<"$out")
	"$NBENCH" topo show | grep -qE "^$n +$kind +up" || fail "$kind: not in topo show"

	res=$(traffic "$sns" "${listen##*:}" "$cns" "${dial%:*}" "${dial##*:}")
	log "$kind: $(echo $res)"
	grep -q '^tcp ' <<<"$res" && grep -q '^udp ' <<<"$res" || fail "$kind: traffic: $res"
	case $kind in
	nat)
		# MASQUERADE: the server sees the host's bridge address, not the remote's 10.77.0.1
		[ "$(echo $res)" = "tcp 172.31.77.1 udp 172.31.77.1" ] || fail "nat: server saw: $res"
		if ! ip netns exec "nb-$n-host" test -r /proc/net/nf_conntrack; then
			log "nat: no /proc/net/nf_conntrack (CONFIG_NF_CONNTRACK_PROCFS off): conntrack entry not checked"
		else
			# original direction remote -> host:published, reply from the container to the bridge
			ct=$(ip netns exec "nb-$n-host" cat /proc/net/nf_conntrack)
			for p in tcp udp; do
				grep -qE "$p .*src=10\.77\.0\.1 dst=10\.77\.0\.2 .*dport=${dial##*:} src=172\.31\.77\.2 dst=172\.31\.77\.1" <<<"$ct" ||
					fail "nat: no $p DNAT entry in conntrack: $ct"
			done
		fi
		;;
	bridge | native | host)
		[ "$(echo $res)" = "tcp 10.77.0.1 udp 10.77.0.1" ] || fail "$kind: server saw: $res"
		;;
	loopback)
		[ "$(echo $res)" = "tcp 127.0.0.1 udp 127.0.0.1" ] || fail "$kind: server saw: $res"
		;;
	esac

	"$NBENCH" topo describe "$n" --json >"$TMP/describe.json"
	# the text form: a line per interface of the JSON, each namespace named, the NAT table's rules shown
	"$NBENCH" topo describe "$n" >"$TMP/describe.txt"
	[ "$(grep -c '^  [a-z]' "$TMP/describe.txt")" = "$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["interfaces"]))' "$TMP/describe.json")" ] ||
		fail "$kind: describe's text has not a line per interface: $(cat "$TMP/describe.txt")"
	head -n 1 "$TMP/describe.txt" | grep -qx "$n: $kind" || fail "$kind: describe's text starts: $(head -n 1 "$TMP/describe.txt")"
	[ "$kind" != nat ] || grep -q '^    .*masquerade' "$TMP/describe.txt" || fail "nat: describe's text has no masquerade rule"
	"$PY" - "$TMP/describe.json" "$kind" <<'PYEOF' || fail "$kind: describe"
import json, sys
d = json.load(open(sys.argv[1]))
kind = sys.argv[2]
assert d["kind"] == kind, d["kind"]
ifs = {i["name"]: i for i in d["interfaces"]}
assert all(i["mtu"] > 0 and i["qdisc"] for i in ifs.values())
kinds = sorted({i["kind"] for i in ifs.values()})
want = {"loopback": ["loopback"], "native": ["loopback", "veth"], "host": ["loopback", "veth"],
        "bridge": ["bridge", "loopback", "veth"], "nat": ["bridge", "loopback", "veth"]}[kind]
assert kinds == want, kinds
for i in ifs.values():
    if i["kind"] == "veth":
        assert i["tso"] is True and i["gro"] is False, i   # veth defaults here
hostns = [n for n in d["netns"] if n["name"].endswith("-host")][0]
assert hostns["conntrack"]["nat"] == (kind == "nat"), hostns["conntrack"]
assert ("masquerade" in hostns["nft_ruleset"]) == (kind == "nat")
if kind in ("bridge", "nat"):
    assert [i for i in ifs.values() if i.get("master", "").endswith("-b")], "no bridge port"
    assert hostns["ip_forward"] == 1
PYEOF

	if [ "$kind" = host ]; then
		cat >"$TMP/who.py" <<'PYEOF'
import os, socket, time
open(os.environ["OUT"], "w").write("%d %s %s\n" % (os.getpid(), socket.gethostname(),
    open("/proc/self/cgroup").read().strip().splitlines()[-1]))
time.sleep(60)
PYEOF
		pid=$(OUT="$TMP/who.out" "$NBENCH" topo spawn "$n" -- "$PY" "$TMP/who.py")
		for _ in $(seq 100); do
			[ -s "$TMP/who.out" ] && break
			sleep 0.05
		done
		read -r wpid whost wcg <"$TMP/who.out" || fail "host: spawned server did not run"
		log "host: spawned $pid: pid-in-ns $wpid, hostname $whost, cgroup $wcg"
		[ "$wpid" = 2 ] || fail "host: server is pid $wpid in its pid namespace, want 2 (under init)"
		[ "$whost" = "nb-$n-host" ] || fail "host: hostname $whost"
		[ "$wcg" = "0::/nbench-$n" ] || fail "host: cgroup $wcg"
		[ "$(readlink /proc/$pid/ns/net)" = "$(ip netns exec "nb-$n-host" readlink /proc/self/ns/net)" ] ||
			fail "host: server not in the host netns"
		[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || fail "host: shares our mount ns"
		"$NBENCH" topo show | grep -E "^$n " | grep -q "1 process" || fail "host: spawned pid not on record"
	fi

	[ "$("$NBENCH" topo down "$n")" = "$n down" ] || fail "$kind: topo down does not say what it did"
	"$NBENCH" topo down "$n" 2>/dev/null # twice is fine
	check_clean "$n"
	[ "$kind" != host ] || ! alive "$pid" || fail "host: server $pid survived down"
done
if [ "$HAVE_NFT" = 1 ] && [ "$HAVE_BRIDGE" = 1 ]; then
	# a published port other than the server's (docker run -p 8080:5201)
	n=$(name pub)
	out=$("$NBENCH" topo up nat --name "$n" --port 5201 --publish 8080)
	[ "$(field dial <<<"$out")" = 10.77.0.2:8080 ] || fail "publish: $out"
	res=$(traffic "nb-$n-ctr" 5201 "nb-$n-remote" 10.77.0.2 8080)
	[ "$(echo $res)" = "tcp 172.31.77.1 udp 172.31.77.1" ] || fail "publish: server saw: $res"
	"$NBENCH" topo down "$n"
	check_clean "$n"
	log "nat --publish 8080 -> 5201: $(echo $res)"
fi
check_decoys
log "paths ok: $kinds"
end_checks
