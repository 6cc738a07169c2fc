#!/bin/bash
# SPDX-License-Identifier: MIT
# kill -9 of a run on a Docker path mid-way (issue 22 item 3): its containers and network stay in the
# engine with their label, its namespaces, wire and state file here; `nbench topo down --all` removes them
# all, and the engine's containers, networks and rules are then as before. Also a build killed between
# steps, and the label sweep alone (the state file gone too).
source "$(dirname "$0")/../netns/lib.sh"
source "$(dirname "$0")/lib.sh"
docker_cleanup() {
	local rc=$?
	set +e
	"$NBENCH" topo down --all >/dev/null 2>&1
	engine_stop || rc=1
	(exit $rc)
	cleanup
}
trap docker_cleanup EXIT
engine_start
"$NBENCH" image build >/dev/null || fail "nbench image build"
engine_snapshot

labelled() { # how many containers the engine has with nbench's label
	api GET '/containers/json?all=1&filters=%7B%22label%22%3A%5B%22nbench.instance%22%5D%7D' |
		"$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
running_rr() { # the run's client has sent its first transactions: the path is up
	[ "$(labelled)" -ge "$1" ] && [ -s "$TMP/run.out" ]
}
nothing_left() {
	engine_clean
	check_clean
	[ -z "$(ls /run/nbench/topo 2>/dev/null | grep -v '^\.')" ] || fail "$1: state files left: $(ls /run/nbench/topo)"
	[ -z "$(ls /run/netns 2>/dev/null | grep '^nb-')" ] || fail "$1: netns left: $(ls /run/netns)"
	[ -z "$(ip -br link | awk '$1 ~ /^nb-/')" ] || fail "$1: links left: $(ip -br link | awk '$1 ~ /^nb-/')"
	engine_same "$1"
}

for kind in docker-nat docker-bridge docker-host docker-proxy; do
	want=1
	[ "$kind" = docker-bridge ] && want=2
	: >"$TMP/run.out"
	"$NBENCH" rr --path "$kind" -t 60 -i 1 >"$TMP/run.out" 2>&1 &
	pid=$!
	wait_for 60 "$kind: the run under way" running_rr "$want" || fail "$kind: $(cat "$TMP/run.out")"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	[ "$(labelled)" -ge "$want" ] || fail "$kind: the killed run's containers are gone already?"
	"$NBENCH" topo show | grep -q "$kind" || fail "$kind: not in topo show after kill -9"
	"$NBENCH" topo down --all || fail "$kind: topo down --all"
	nothing_left "$kind killed mid-run, then topo down --all"
done

# killed while building (between its steps), then down --all
NBENCH_TOPO_STEP_DELAY_MS=400 "$NBENCH" topo up docker-bridge --name "$(name kb)" >/dev/null 2>&1 &
pid=$!
wait_for 60 "docker-bridge build under way" eval '[ "$(labelled)" -ge 1 ]' || fail "build: no container"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
"$NBENCH" topo down --all || fail "topo down --all after a killed build"
nothing_left "docker-bridge killed while it was built"

# the state file lost as well: the label alone finds the containers and network
n=$(name ks)
"$NBENCH" topo up docker-bridge --name "$n" >/dev/null || fail "topo up docker-bridge"
rm -f "/run/nbench/topo/$n.json"
"$NBENCH" topo show | grep -qE "^$n " || fail "an instance known only by its label is not listed"
"$NBENCH" topo down --all || fail "topo down --all without the state file"
nothing_left "docker-bridge without its state file"
log "kill -9 and down --all ok"
