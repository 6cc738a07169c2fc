#!/bin/bash
# Dependencies point down (ARCHITECTURE.md): each directory includes only the public headers of its own layer and
# of the layers below it. meson links each layer as its own static library, so a call the wrong way fails to link
# in the tests that link one layer alone; this catches the include before anyone writes the call.
# Then, with the build directory as $1: no circle between files. A file calls another when its object file
# uses a symbol the other defines (nm); files that reach each other through such calls form a circle, which
# makes the two one room in all but name (see doc/design.md).
#   lib/        core headers only
#   gen/        core + gen.h, hops.h, pathcap.h  responder/  core + serve.h
#   topo/       core + topo.h, guest.h    cli/        anything
set -u
cd "$(dirname "$0")/.."
core="cfg clock cpu engine hist proto result report sysinfo units workload auth fsutil nic tcpinfo"
allowed() { # allowed DIR: the nbench headers DIR may include
	case $1 in
	lib) echo "$core" ;;
	gen) echo "$core gen hops pathcap pcapng" ;;
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
	case " $core gen hops pathcap pcapng serve topo guest " in
	*" $n "*) ;;
	*) echo "FAIL: $h belongs to no layer (add it to tests/layers.sh)"; fails=$((fails + 1)) ;;
	esac
done
# no circle between files: objects of nbench's own sources (not the tests'), from the build's compile commands
if [ -n "${1:-}" ]; then
	checks=$((checks + 1))
	if ! out=$(python3 - "$1" <<'PY'
import json, os, subprocess, sys
build = sys.argv[1]
cmds = json.load(open(os.path.join(build, "compile_commands.json")))
src = {}  # object path -> source path relative to the tree
top = os.path.dirname(os.path.abspath(os.path.join(build, "x")))
for c in cmds:
    f = os.path.relpath(os.path.normpath(os.path.join(c["directory"], c["file"])))
    if f.startswith(("tests/", "build")) or not f.endswith(".c"):
        continue
    o = os.path.join(c["directory"], c["output"])
    if os.path.exists(o):
        src[o] = f
defs, uses = {}, {}
for o, f in src.items():
    out = subprocess.run(["nm", "-g", o], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            uses.setdefault(f, set()).add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRVWG":
            defs.setdefault(parts[2], set()).add(f)
edges = {}
for f, syms in uses.items():
    for s in syms:
        for g in defs.get(s, ()):
            if g != f:
                edges.setdefault(f, {}).setdefault(g, set()).add(s)
# Tarjan's strongly connected components
index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in edges.get(v, {}):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        c = []
        while True:
            w = stack.pop(); on.discard(w); c.append(w)
            if w == v: break
        if len(c) > 1: sccs.append(sorted(c))
sys.setrecursionlimit(10000)
for v in sorted(set(src.values())):
    if v not in index: visit(v)
for c in sccs:
    print("FAIL: a circle between files: " + ", ".join(c))
    for a in c:
        for b in c:
            if b in edges.get(a, {}):
                print("  %s -> %s: %s" % (a, b, ", ".join(sorted(edges[a][b])[:6])))
print("# %d files, %d calls between files, %d circles" % (len(set(src.values())), sum(len(e) for e in edges.values()), len(sccs)))
sys.exit(1 if sccs else 0)
PY
	); then
		fails=$((fails + 1))
	fi
	echo "$out"
fi
echo "layers: $checks checks, $fails failed"
[ "$fails" = 0 ]
