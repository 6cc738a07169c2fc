#!/bin/bash
# SPDX-License-Identifier: MIT
# topo state is trusted only as far as nbench wrote it (issue 10, item 6): crafted state files whose pids
# and cgroup point elsewhere, a symlinked state file, someone else's or a world-writable one, a symlinked
# VM run directory and a world-writable state folder. `nbench topo down NAME` and `down --all` touch none
# of the decoys (a process, a directory standing in for a cgroup, files) and say what they refused. The
# normal path still works around them.
. "$(dirname "$0")/../netns/lib.sh"

STATE=/run/nbench/topo
[ -n "$CGROOT" ] || skip "no cgroup v2 (the crafted host instance needs one)"

sleep 300 &
DECOY=$!
trap 'rc=$?; set +e; kill "$DECOY" 2>/dev/null; chmod 0700 "$STATE"; rm -f "$STATE/$TAG"*.json; rm -rf "/run/nbench/vm/$TAG"*; (exit $rc); cleanup' EXIT
start=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$DECOY/stat")
sleep_exe=$(readlink -f "/proc/$DECOY/exe")

# A directory laid out as the cgroup nbench-NAME under a root the state file names; old nbench wrote
# cgroup.kill there and killed every pid of its cgroup.procs.
CG="$TMP/cg"
decoy_cgroup() {
	mkdir -p "$CG/nbench-$1"
	echo "$DECOY" >"$CG/nbench-$1/cgroup.procs"
	echo 0 >"$CG/nbench-$1/cgroup.kill"
}

# state NAME KIND PROCS-JSON [CGROUP-JSON]: a state file as nbench writes them, with crafted contents.
state() {
	cat <<-JSON
	{
		"schema_version": 1, "name": "$1", "kind": "$2", "complete": true, "creator_pid": 1,
		"server_port": 0, "publish_port": 0, "netns": [], "cgroup": ${4:-null},
		"links": [], "sysctls": [], "nft_tables": [], "procs": $3
	}
	JSON
}

# expect_down STATUS REGEX ARGS...: `nbench topo down ARGS`'s exit status and a stderr line matching REGEX.
expect_down() {
	local want=$1 re=$2 rc=0
	shift 2
	"$NBENCH" topo down "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ "$rc" = "$want" ] || fail "down $*: exit $rc, want $want; stderr: $(cat "$TMP/err")"
	grep -qE "$re" "$TMP/err" || fail "down $*: stderr '$(cat "$TMP/err")' !~ $re"
}

decoys_intact() {
	alive "$DECOY" || fail "$1: the decoy process $DECOY was killed"
	[ "$(cat "$CG/nbench-$2/cgroup.kill")" = 0 ] || fail "$1: the decoy cgroup.kill was written"
	[ "$(cat "$CG/nbench-$2/cgroup.procs")" = "$DECOY" ] || fail "$1: the decoy cgroup.procs changed"
}

# the folders as nbench makes them (on a machine where no VM path has run since boot, vm/ is not there yet)
mkdir -p "$STATE" /run/nbench/vm
chmod 0700 /run/nbench "$STATE" /run/nbench/vm

# --- an old state file (pids without identity) whose cgroup points at a decoy directory
n=$(name old)
decoy_cgroup "$n"
state "$n" host "[{\"pid\": $DECOY}]" "\"$CG/nbench-$n\"" >"$STATE/$n.json"
expect_down 0 "pid $DECOY left alone: the state file does not say which process" "$n"
grep -q "cgroup is not under this machine's cgroup root" "$TMP/err" || fail "old: no note on the foreign cgroup: $(cat "$TMP/err")"
decoys_intact "old state file" "$n"
check_clean "$n"
log "old state file with a foreign cgroup: nothing touched"

# --- the decoy's true start time and program, forged: it is not in the instance's namespaces
n=$(name forge)
decoy_cgroup "$n"
state "$n" host "[{\"pid\": $DECOY, \"start_ticks\": $start, \"exe\": [\"$sleep_exe\"]}]" \
	"\"$CG/nbench-$n\"" >"$STATE/$n.json"
expect_down 0 "pid $DECOY left alone: not in the instance's namespaces" "$n"
decoys_intact "forged identity" "$n"
log "forged identity: nothing touched"

# --- a wrong start time (a pid reused since it was recorded)
n=$(name reuse)
state "$n" native "[{\"pid\": $DECOY, \"start_ticks\": $((start + 1)), \"exe\": [\"$sleep_exe\"]}]" >"$STATE/$n.json"
expect_down 0 "pid $DECOY left alone: no longer the process that was recorded" "$n"
alive "$DECOY" || fail "reused pid: the decoy was killed"
log "reused pid: left alone"

# --- a symlinked state file, someone else's, a world-writable one: refused, left as they are
n=$(name link)
state "$n" host "[{\"pid\": $DECOY}]" "\"$CG/nbench-$n\"" >"$TMP/decoy.json"
cp "$TMP/decoy.json" "$TMP/decoy.json.orig"
ln -s "$TMP/decoy.json" "$STATE/$n.json"
expect_down 1 "^nbench topo: $STATE/$n.json: is a symlink; not trusted" "$n"
cmp -s "$TMP/decoy.json" "$TMP/decoy.json.orig" || fail "symlink: the decoy file changed"
[ -L "$STATE/$n.json" ] || fail "symlink: the link was not left alone"
expect_down 1 "$STATE/$n.json: is a symlink; not trusted" --all
cmp -s "$TMP/decoy.json" "$TMP/decoy.json.orig" || fail "symlink, --all: the decoy file changed"
"$NBENCH" topo up native --name "$n" >/dev/null 2>"$TMP/err" && fail "up over a symlinked state file succeeded"
cmp -s "$TMP/decoy.json" "$TMP/decoy.json.orig" || fail "symlink, up: the decoy file changed"
rm "$STATE/$n.json"
alive "$DECOY" || fail "symlink: the decoy was killed"

n=$(name owner)
state "$n" native "[{\"pid\": $DECOY}]" >"$STATE/$n.json"
chown 65534 "$STATE/$n.json"
expect_down 1 "$STATE/$n.json: is owned by uid 65534, not root; not trusted" "$n"
chown 0 "$STATE/$n.json"
chmod 0666 "$STATE/$n.json"
expect_down 1 "$STATE/$n.json: mode 0666 is group/world-writable; not trusted" "$n"
[ -e "$STATE/$n.json" ] || fail "untrusted state file removed"
rm "$STATE/$n.json"
log "symlinked, foreign and world-writable state files refused"

# --- a VM run directory that is a symlink to a decoy directory holding a pid file and logs
n=$(name vmdir)
mkdir "$TMP/vmdecoy"
echo "$DECOY" >"$TMP/vmdecoy/qemu.pid"
echo "$DECOY" >"$TMP/vmdecoy/testpmd.pid"
echo keep >"$TMP/vmdecoy/guest.json"
ln -s "$TMP/vmdecoy" "/run/nbench/vm/$n"
expect_down 1 "^nbench topo: /run/nbench/vm/$n: is a symlink; refusing to use it" "$n"
[ -e "$TMP/vmdecoy/guest.json" ] && [ -e "$TMP/vmdecoy/qemu.pid" ] || fail "vm dir: decoy files removed"
alive "$DECOY" || fail "vm dir: the decoy was killed"
rm "/run/nbench/vm/$n"
log "symlinked VM run directory refused"

# --- a world-writable state folder: refused by down, down --all, show and up; nothing done
n=$(name mode)
chmod 0777 "$STATE"
expect_down 1 "^nbench topo: $STATE: mode 0777 is group/world-writable; refusing to use it" --all
expect_down 1 "^nbench topo: $STATE: mode 0777 is group/world-writable; refusing to use it" "$n"
rc=0
"$NBENCH" topo show >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -q "$STATE: mode 0777" "$TMP/err" || fail "show in a world-writable folder: exit $rc: $(cat "$TMP/err")"
rc=0
"$NBENCH" topo up native --name "$n" >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -q "$STATE: mode 0777" "$TMP/err" || fail "up in a world-writable folder: exit $rc: $(cat "$TMP/err")"
chmod 0700 "$STATE"
check_clean "$n"
log "world-writable state folder refused"

# --- the normal path still works: up, a spawned server, down --all
alive "$DECOY" || fail "the decoy died"
n=$(name ok)
"$NBENCH" topo up native --name "$n" >/dev/null
[ "$(stat -c %a "$STATE")" = 700 ] || fail "state folder mode $(stat -c %a "$STATE"), want 700"
[ "$(stat -c %u%a "$STATE/$n.json")" = 0644 ] || fail "state file: $(stat -c '%u %a' "$STATE/$n.json")"
p=$("$NBENCH" topo spawn "$n" -- sleep 300)
alive "$p" || fail "spawned server not running"
grep -q "\"exe\"" "$STATE/$n.json" || fail "the state file records no program for $p"
"$NBENCH" topo down --all >/dev/null
! alive "$p" || fail "down --all left the server $p"
check_clean "$n"
alive "$DECOY" || fail "the decoy died"
log "normal path ok"
end_checks
