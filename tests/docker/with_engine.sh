#!/bin/bash
# SPDX-License-Identifier: MIT
# with_engine.sh TEST: a netns test run once more with a Docker engine up in the same network namespace
# (issue 22 item 6: coexistence). dockerd sets ip_forward, its FORWARD policy drop and its own nat and filter
# tables here; nbench's paths must still build and carry traffic, and leave the engine's rules as they were.
source "$(dirname "$0")/../netns/lib.sh"
source "$(dirname "$0")/lib.sh"
TEST=${1:?usage: with_engine.sh TEST.sh}
docker_cleanup() {
	local rc=$?
	set +e
	engine_stop || rc=1
	(exit $rc)
	cleanup
}
trap docker_cleanup EXIT
engine_start
engine_snapshot
log "running $(basename "$TEST") with the engine up"
set +e
bash "$TEST"
rc=$?
set -e
[ "$rc" = 0 ] || [ "$rc" = 77 ] || fail "$(basename "$TEST") failed with the engine up (exit $rc)"
engine_same "after $(basename "$TEST")"
exit "$rc"
