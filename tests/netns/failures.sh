#!/bin/bash
# SPDX-License-Identifier: MIT
# Nothing is left behind: bad input (one line on stderr, exit 2 or 1), a failure injected before every
# step, a missing kernel feature, SIGINT during up, and kill -9 followed by `nbench topo down --all`
# (which must also stop spawned servers and remove cgroups). Decoys named almost like nbench's objects
# survive all of it.
. "$(dirname "$0")/lib.sh"

make_decoys

# expect STATUS REGEX CMD...: exit status and a single stderr line matching REGEX
expect() {
	local want=$1 re=$2 rc=0
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ "$rc" = "$want" ] || fail "$*: exit $rc, want $want; stderr: $(cat "$TMP/err")"
	[ "$(wc -l <"$TMP/err")" = 1 ] || fail "$*: want one line on stderr, got: $(cat "$TMP/err")"
	grep -qE "^nbench topo: .*$re" "$TMP/err" || fail "$*: stderr '$(cat "$TMP/err")' !~ $re"
}

# --- bad input
expect 2 "unknown path kind 'warp'" "$NBENCH" topo up warp
expect 2 "missing path KIND" "$NBENCH" topo up
expect 2 "invalid instance name" "$NBENCH" topo up native --name Bad_Name
expect 2 "invalid instance name" "$NBENCH" topo up native --name waytoolongname
expect 2 "invalid instance name" "$NBENCH" topo up native --name -x
expect 2 "unknown option" "$NBENCH" topo up native --frobnicate
expect 2 "--port" "$NBENCH" topo up nat --port 70000
expect 2 "unknown command" "$NBENCH" topo sideways
expect 2 "unknown path kind" "$NBENCH" topo script warp
n=$(name use)
"$NBENCH" topo up native --name "$n" >/dev/null
expect 1 "'$n' is in use" "$NBENCH" topo up bridge --name "$n"
[ -e "/run/netns/nb-$n-remote" ] && [ ! -e "/run/netns/nb-$n-ctr" ] || fail "name in use: first instance touched"
"$NBENCH" topo down "$n"
check_clean "$n"
if setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null &&
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$NBENCH"; then
	n=$(name priv)
	expect 1 "CAP_NET_ADMIN" setpriv --reuid=65534 --regid=65534 --clear-groups "$NBENCH" topo up native --name "$n"
	check_clean "$n"
else
	log "unprivileged run skipped: nobody cannot run $NBENCH"
fi
log "bad input ok"

# --- missing kernel feature (the bridge step made to fail as a kernel without CONFIG_BRIDGE does)
n=$(name feat)
step=$("$NBENCH" topo script bridge --name "$n" | grep -vE '^(#|set |install |\(umask|\{|NBENCH_STATE|sed )' | grep -n 'type bridge$' | cut -d: -f1)
expect 1 "CONFIG_BRIDGE" env NBENCH_TOPO_FAIL_AT=$((step - 1)):EOPNOTSUPP "$NBENCH" topo up bridge --name "$n"
check_clean "$n"
log "missing feature ok (bridge at step $((step - 1)))"

# --- a failure before every step of the richest paths
runnable nat host
for kind in "${KINDS[@]}"; do
	n=$(name "f${kind:0:1}")
	i=0
	while :; do
		rc=0
		NBENCH_TOPO_FAIL_AT=$i "$NBENCH" topo up "$kind" --name "$n" >/dev/null 2>"$TMP/err" || rc=$?
		[ "$rc" = 0 ] && break # past the last step
		[ "$rc" = 1 ] || fail "$kind: injected failure at $i: exit $rc"
		grep -q "injected at step $i" "$TMP/err" || fail "$kind: $(cat "$TMP/err")"
		check_clean "$n"
		i=$((i + 1))
	done
	"$NBENCH" topo down "$n"
	check_clean "$n"
	log "$kind: failure before each of $i steps leaves nothing"
done

# --- SIGINT during up, at several points
n=$(name int)
for delay in 0.05 0.15 0.3 0.42 0.6; do
	NBENCH_TOPO_STEP_DELAY_MS=20 "$NBENCH" topo up nat --name "$n" >/dev/null 2>"$TMP/err" &
	pid=$!
	sleep "$delay"
	kill -INT "$pid" 2>/dev/null || true
	rc=0
	wait "$pid" || rc=$?
	if [ "$rc" = 0 ]; then
		"$NBENCH" topo down "$n" # finished before the signal: fine, but say so
		log "SIGINT after ${delay}s came too late"
	else
		[ "$rc" = 130 ] || fail "SIGINT: exit $rc: $(cat "$TMP/err")"
		grep -qE "interrupted at (step|the end)" "$TMP/err" || fail "SIGINT: $(cat "$TMP/err")"
		log "SIGINT after ${delay}s: $(cat "$TMP/err")"
	fi
	check_clean "$n"
done

# --- kill -9 half way through up, and with servers running; then down --all
n1=$(name k1)
n2=$(name k2)
n3=$(name k3)
NBENCH_TOPO_STEP_DELAY_MS=20 "$NBENCH" topo up nat --name "$n1" >/dev/null &
pid=$!
sleep 0.25
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
[ -e "/run/nbench/topo/$n1.json" ] || fail "kill -9: no state file for the half-built $n1"
"$NBENCH" topo show | grep -E "^$n1 " | grep -q partial || fail "kill -9: show does not list $n1 as partial"
"$NBENCH" topo up host --name "$n2" >/dev/null
"$NBENCH" topo up native --name "$n3" >/dev/null
p2=$("$NBENCH" topo spawn "$n2" -- sleep 300)
p3=$("$NBENCH" topo spawn "$n3" -- sleep 300)
alive "$p2" && alive "$p3" || fail "spawned servers not running"
"$NBENCH" topo down --all >/dev/null
! alive "$p2" || fail "down --all left the host server $p2"
! alive "$p3" || fail "down --all left the native server $p3"
check_clean
"$NBENCH" topo down --all >/dev/null # twice is fine
log "kill -9 + down --all ok"

# --- a remote client's half whose agent's namespace is gone (kill -9, then `ip netns del`): down removes
# what is left (its container namespace, its state) and touches nothing in this namespace; a half whose
# namespace lives is refused from here
half_state() { # half_state NAME HOST-NETNS-INODE CTR-NETNS-INODE
	install -m 644 /dev/stdin "/run/nbench/topo/$1.json" <<JSON
{"schema_version": 1, "name": "$1", "kind": "bridge", "complete": true, "netns": ["nb-$1-ctr"],
 "server_port": 12865, "publish_port": 12865,
 "half": {"netns_inode": $2, "subnet": 77, "dial_addr": "10.232.0.2", "peer_addr": "10.232.0.1",
          "ctr_netns_inode": $3}}
JSON
}
n=$(name hg)
mkdir -p /run/nbench/topo
ip netns add "nb-$n-ctr"
ip netns add "nbt-$TAG-agent"
half_state "$n" "$(stat -L -c %i "/run/netns/nbt-$TAG-agent")" "$(stat -L -c %i "/run/netns/nb-$n-ctr")"
"$NBENCH" topo down "$n" 2>"$TMP/err" && fail "a half whose namespace lives was torn down from another"
grep -q "tear it down from there" "$TMP/err" || fail "no 'tear it down from there': $(cat "$TMP/err")"
[ -e "/run/netns/nb-$n-ctr" ] || fail "the refused half's container namespace went"
"$NBENCH" topo down --all 2>"$TMP/err" || fail "down --all failed on another namespace's live half: $(cat "$TMP/err")"
grep -q "left to the agent that built it" "$TMP/err" || fail "down --all did not say it left the half: $(cat "$TMP/err")"
[ -e "/run/netns/nb-$n-ctr" ] && [ -e "/run/nbench/topo/$n.json" ] || fail "down --all took another namespace's live half"
ip netns del "nbt-$TAG-agent"
sysctl -n net.ipv4.ip_forward >"$TMP/fwd"
if [ "$(stat -L -c %i /proc/self/ns/pid)" = 4026531836 ]; then
	"$NBENCH" topo down --all 2>"$TMP/err" || fail "down --all with a gone half's namespace: $(cat "$TMP/err")"
	grep -q "the namespace it was built in is gone" "$TMP/err" || fail "down did not say so: $(cat "$TMP/err")"
	[ ! -e "/run/netns/nb-$n-ctr" ] && [ ! -e "/run/nbench/topo/$n.json" ] || fail "the gone half's leftovers stayed"
	[ "$(sysctl -n net.ipv4.ip_forward)" = "$(cat "$TMP/fwd")" ] || fail "down changed this namespace's ip_forward"
	log "a half whose agent's namespace is gone: down --all removes what is left"
else # in a PID namespace of its own /proc does not show every process: nbench cannot know it is gone
	"$NBENCH" topo down "$n" 2>/dev/null && fail "a half torn down without knowing its namespace is gone"
	rm -f "/run/nbench/topo/$n.json"
	ip netns del "nb-$n-ctr"
	log "a half whose agent's namespace is gone: refused in a PID namespace of its own (it cannot tell)"
fi

check_decoys
log "decoys survived"
end_checks
