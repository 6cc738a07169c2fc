# SPDX-License-Identifier: MIT
# Sourced by the netns suite: skip rules, names, decoys, traffic and leak checks. Every name a test makes
# starts with its TAG, so a test only ever looks at (and cleans up) its own instances.
set -euo pipefail

NBENCH=${NBENCH:?set NBENCH to the nbench binary}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../common.sh"

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
log() {
	echo "# $*"
}

[ "$(id -u)" = 0 ] || skip "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)"
command -v ip >/dev/null || skip "no iproute2"
PY=$(command -v python3) || skip "no python3"
# pyenv shims re-resolve on every start; the real interpreter keeps `ip netns exec` quick
PY=$("$PY" -c 'import sys; print(sys.executable)')

TAG=q$(printf '%04x' $((RANDOM % 65536)))
PROBE=nbprobe-$TAG
if ! ip netns add "$PROBE" 2>/dev/null; then
	skip "cannot create network namespaces (CAP_SYS_ADMIN / CONFIG_NET_NS)"
fi
if ! ip -n "$PROBE" link add nbp0 type veth peer name nbp1 2>/dev/null; then
	ip netns del "$PROBE"
	skip "kernel has no veth"
fi
HAVE_BRIDGE=1
ip -n "$PROBE" link add nbpb type bridge 2>/dev/null || HAVE_BRIDGE=0
HAVE_NFT=1
printf 'table ip nbprobe {\n\tchain c {\n\t\ttype nat hook postrouting priority 100; policy accept;\n\t}\n}\n' |
	ip netns exec "$PROBE" nft -f - 2>/dev/null || HAVE_NFT=0
ip netns del "$PROBE"
CGROOT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)

# The kinds of "$@" this machine can build go to KINDS; the others are noted, and end_checks then ends the
# test as a skip: a path left out for a missing feature is not a pass.
LEFT_OUT=()
runnable() {
	local k
	KINDS=()
	for k in "$@"; do
		case $k in
		bridge) [ "$HAVE_BRIDGE" = 1 ] || { LEFT_OUT+=("bridge (no bridge support)"); continue; } ;;
		nat) [ "$HAVE_BRIDGE" = 1 ] && [ "$HAVE_NFT" = 1 ] || { LEFT_OUT+=("nat (no bridge or nft NAT)"); continue; } ;;
		host) [ -n "$CGROOT" ] || { LEFT_OUT+=("host (no cgroup v2)"); continue; } ;;
		esac
		KINDS+=("$k")
	done
}
end_checks() {
	[ ${#LEFT_OUT[@]} = 0 ] || skip "the rest passed; left out: ${LEFT_OUT[*]}"
}

TMP=$(mktemp -d /tmp/nbtopo-test.XXXXXX)
NAMES=()
DECOYS=()

cleanup() {
	local rc=$?
	set +e
	for n in "${NAMES[@]}"; do
		"$NBENCH" topo down "$n" >/dev/null 2>&1
	done
	for d in "${DECOYS[@]}"; do
		case $d in
		netns:*) ip netns del "${d#netns:}" 2>/dev/null ;;
		cgroup:*) rmdir "${d#cgroup:}" 2>/dev/null ;;
		esac
	done
	pkill -f "$TMP/" 2>/dev/null
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT

# A fresh instance name owned by this test.
name() {
	local n="$TAG$1"
	NAMES+=("$n")
	echo "$n"
}

# Objects that look like nbench's but are not its pattern: they must survive everything.
make_decoys() {
	local ns
	for ns in "nb-$TAG" "nb-$TAG-hostx" "nbx-$TAG-host" "nb-${TAG^^}-host" "nb-${TAG}toolongname-ctr"; do
		ip netns add "$ns"
		DECOYS+=("netns:$ns")
	done
	ip -n "nb-$TAG" link add "nb-$TAG-r" type veth peer name "nb-$TAG-h"
	if [ -n "$CGROOT" ]; then
		mkdir "$CGROOT/nbenchx-$TAG" "$CGROOT/nbench-${TAG}toolongname"
		DECOYS+=("cgroup:$CGROOT/nbenchx-$TAG" "cgroup:$CGROOT/nbench-${TAG}toolongname")
	fi
}

check_decoys() {
	local d
	for d in "${DECOYS[@]}"; do
		case $d in
		netns:*) [ -e "/run/netns/${d#netns:}" ] || fail "decoy ${d#netns:} was removed" ;;
		cgroup:*) [ -d "${d#cgroup:}" ] || fail "decoy ${d#cgroup:} was removed" ;;
		esac
	done
	ip -n "nb-$TAG" link show "nb-$TAG-r" >/dev/null || fail "decoy link nb-$TAG-r was removed"
}

# Nothing of instance $1 (or, without $1, of any instance of this test) is left.
check_clean() {
	# exactly nbench's pattern: a name of at most 10 characters
	local pat
	if [ -n "${1:-}" ]; then
		pat="$1"
	else
		pat="$TAG[a-z0-9-]{0,$((10 - ${#TAG}))}"
	fi
	local left
	left=$(ls /run/netns 2>/dev/null | grep -E "^nb-$pat-(remote|host|ctr)$" || true)
	[ -z "$left" ] || fail "netns left behind: $left"
	if [ -n "$CGROOT" ]; then
		left=$(ls "$CGROOT" | grep -E "^nbench-$pat$" || true)
		[ -z "$left" ] || fail "cgroup left behind: $left"
	fi
	left=$(ls /run/nbench/topo 2>/dev/null | grep -E "^$pat\.json" || true)
	[ -z "$left" ] || fail "state file left behind: $left"
	if pgrep -f "$TMP/" >/dev/null; then
		fail "process left behind: $(pgrep -af "$TMP/")"
	fi
}

# field FIELD: reads `nbench topo up` output on stdin.
field() {
	awk -v f="$1" '$1 == f { print $2; exit }'
}

# Runs the traffic server in netns $1 on port $2 (background), the client in netns $3 dialing $4:$2
# (or $5 as port), and prints the client's output ("tcp <peer seen by server>", "udp <peer>").
traffic() {
	local sns=$1 port=$2 cns=$3 addr=$4 dport=${5:-$2}
	local ready="$TMP/ready.$sns"
	cp "$HERE/traffic.py" "$TMP/traffic.py" 2>/dev/null || true
	rm -f "$ready"
	ip netns exec "$sns" "$PY" "$TMP/traffic.py" serve "$port" "$ready" &
	local spid=$!
	for _ in $(seq 100); do
		[ -e "$ready" ] && break
		sleep 0.05
	done
	[ -e "$ready" ] || fail "server in $sns did not start"
	ip netns exec "$cns" "$PY" "$TMP/traffic.py" client "$addr" "$dport" || {
		kill "$spid" 2>/dev/null
		fail "traffic $cns -> $addr:$dport failed"
	}
	wait "$spid" || fail "server in $sns saw no traffic"
}

# Whether pid $1 runs (a zombie waiting for its reaper does not count).
alive() {
	local st
	st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
