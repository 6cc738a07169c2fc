#!/bin/bash
# Dependencies point down (ARCHITECTURE.md): each directory includes only the public headers of its own layer and
# of the layers below it. meson links each layer as its own static library, so a call the wrong way fails to link
# in the tests that link one layer alone; this catches the include before anyone writes the call.
#   lib/        core headers only
#   gen/        core + gen.h, hops.h, mlr.h            responder/  core + serve.h
#   topo/       core + topo.h, guest.h    cli/        anything
set -u
cd "$(dirname "$0")/.."
core="cfg clock cpu engine hist proto result report sysinfo units workload auth fsutil nic tcpinfo"
allowed() { # allowed DIR: the nbench headers DIR may include
	case $1 in
	lib) echo "$core" ;;
	gen) echo "$core gen hops mlr" ;;
	responder) echo "$core serve" ;;
	topo) echo "$core topo guest" ;;
	esac
}
fails=0 checks=0
for dir in lib gen responder topo; do
	ok=" $(allowed $dir) "
	while IFS=: read -r file hdr; do
		checks=$((checks + 1))
		case "$ok" in
		*" $hdr "*) ;;
		*) echo "FAIL: $file includes nbench/$hdr.h, which is not of its layer or below it"; fails=$((fails + 1)) ;;
		esac
	done < <(grep -o '#include "nbench/[a-z_]*\.h"' -r "$dir" --include='*.c' --include='*.h' |
		sed 's|#include "nbench/\(.*\)\.h"|\1|')
done
# every public header belongs to exactly one layer
for h in include/nbench/*.h; do
	n=$(basename "$h" .h)
	checks=$((checks + 1))
	case " $core gen hops mlr serve topo guest " in
	*" $n "*) ;;
	*) echo "FAIL: $h belongs to no layer (add it to tests/layers.sh)"; fails=$((fails + 1)) ;;
	esac
done
echo "layers: $checks checks, $fails failed"
[ "$fails" = 0 ]
