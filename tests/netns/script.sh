#!/bin/bash
# SPDX-License-Identifier: MIT
# `nbench topo script P` is the same path: build one instance through netlink (nbench topo up) and one by
# running the script with bash, then compare their netlink dumps (links, kinds, masters, addresses,
# routes, sysctls) and nft rulesets with the instance names normalised.
. "$(dirname "$0")/lib.sh"

runnable loopback native host bridge nat
kinds="${KINDS[*]}"

for kind in $kinds; do
	a=$(name "${kind:0:2}n")
	b=$(name "${kind:0:2}s")
	"$NBENCH" topo up "$kind" --name "$a" >/dev/null
	"$NBENCH" topo script "$kind" --name "$b" >"$TMP/$b.sh"
	bash "$TMP/$b.sh" || fail "$kind: the script failed"
	"$PY" "$HERE/dump.py" "$a" >"$TMP/$a.dump"
	"$PY" "$HERE/dump.py" "$b" >"$TMP/$b.dump"
	diff -u "$TMP/$a.dump" "$TMP/$b.dump" || fail "$kind: netlink and script builds differ"
	[ -s "$TMP/$a.dump" ] || fail "$kind: empty dump"
	if [ "$kind" = host ]; then
		[ -d "$CGROOT/nbench-$a" ] && [ -d "$CGROOT/nbench-$b" ] || fail "host: cgroup missing"
	fi
	log "$kind: $(grep -c . "$TMP/$a.dump") dump lines agree"
	# the scripted instance has no state file; down finds it by its names
	"$NBENCH" topo down "$a" "$b"
	check_clean "$a"
	check_clean "$b"
done
end_checks
