#!/bin/bash
# SPDX-License-Identifier: MIT
# 50 up/down cycles over the paths leave nothing: no netns, bind mount, cgroup, state file or nft table.
. "$(dirname "$0")/lib.sh"

make_decoys
runnable nat bridge native host loopback
kinds=("${KINDS[@]}")
n=$(name cyc)
mounts_before=$(grep -c " /run/netns/nb-$n-" /proc/self/mountinfo || true)
for i in $(seq 0 49); do
	kind=${kinds[$((i % ${#kinds[@]}))]}
	"$NBENCH" topo up "$kind" --name "$n" >/dev/null || fail "cycle $i ($kind): up"
	"$NBENCH" topo down "$n" || fail "cycle $i ($kind): down"
	check_clean "$n"
done
mounts_after=$(grep -c " /run/netns/nb-$n-" /proc/self/mountinfo || true)
[ "$mounts_before" = "$mounts_after" ] || fail "netns bind mounts: $mounts_before before, $mounts_after after"
check_decoys
log "50 cycles of ${kinds[*]}: nothing left"
end_checks
