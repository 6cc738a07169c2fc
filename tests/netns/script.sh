#!/bin/bash
# SPDX-License-Identifier: MIT
# `nbench topo script P` is the same path: build one instance through netlink (nbench topo up) and one by
# running the script with bash, then compare their netlink dumps (links, kinds, masters, addresses,
# routes, sysctls) and nft rulesets with the instance names normalised; the script records its instance as up
# does, so topo show lists it and topo down removes it.
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
	# the scripted instance is an instance, as topo up's is (issue 19: show called its namespaces orphans):
	# its state file makes show list it up, and down take it down by its record
	show=$("$NBENCH" topo show | awk -v n="$b" '$1 == n')
	[ "$(awk '{print $2, $3}' <<< "$show")" = "$kind up" ] || fail "$kind: topo show says of the scripted instance: $show"
	bash "$TMP/$b.sh" 2>"$TMP/again.err" && fail "$kind: the script ran twice on one name"
	grep -q "instance $b is in use" "$TMP/again.err" || fail "$kind: a second run says: $(cat "$TMP/again.err")"
	"$NBENCH" topo down "$a" "$b"
	check_clean "$a"
	check_clean "$b"
done
end_checks
