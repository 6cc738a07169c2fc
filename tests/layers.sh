#!/bin/bash
# Dependencies point down (doc/design.md): each folder includes only the public headers of its own layer and of
# the layers below it, as doc/design.md's table of folders says; this test reads that table, so the document
# cannot drift from the code. meson links each layer as its own static library, so a call the wrong way fails to
# link in the tests that link one layer alone; this catches the include before anyone writes the call.
# Then, with the build directory as $1: no circle between files. A file calls another when its object file
# uses a symbol the other defines (nm); files that reach each other through such calls form a circle, which
# makes the two one room in all but name.
set -u
cd "$(dirname "$0")/.."
fails=0 checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The table's rows: "| folder/ | its headers | may include | owns |" -> own[folder], below[folder]
declare -A own=() below=()
while IFS='|' read -r _ folder hdrs may _; do
	folder=$(echo "$folder" | tr -d ' `/')
	[ -n "$folder" ] && [ "$folder" != folder ] && [ "${folder#-}" = "$folder" ] || continue
	own[$folder]=$(echo "$hdrs" | xargs)
	below[$folder]=$(echo "$may" | xargs)
done < <(sed -n '/^| folder | its headers/,/^$/p' doc/design.md)
[ ${#own[@]} -gt 0 ] || { echo "FAIL: doc/design.md has no table of folders"; exit 1; }
allowed() { # allowed DIR: the nbench headers DIR may include
	local l out=${own[$1]}
	for l in ${below[$1]}; do out+=" ${own[$l]}"; done
	echo "$out"
}

# every source folder has a row, and includes only what its row allows
for dir in $(ls -d */ | tr -d / | grep -vxE 'tests|scripts|doc|systemd|include|data|build.*'); do
	ls "$dir"/*.c >/dev/null 2>&1 || continue
	checks=$((checks + 1))
	[ -n "${own[$dir]+x}" ] || { fail "$dir/ has no row in doc/design.md's table of folders"; continue; }
	ok=" $(allowed "$dir") "
	while IFS=: read -r file hdr; do
		checks=$((checks + 1))
		case "$ok" in
		*" $hdr "*) ;;
		*) fail "$file includes nbench/$hdr.h, which is not of its layer or below it (doc/design.md)" ;;
		esac
	done < <(grep -o '#include "nbench/[a-z_]*\.h"' -r "$dir" --include='*.c' --include='*.h' |
		sed 's|#include "nbench/\(.*\)\.h"|\1|')
done
# every public header belongs to exactly one row
for h in include/nbench/*.h; do
	n=$(basename "$h" .h)
	checks=$((checks + 1))
	rows=$(for f in "${!own[@]}"; do case " ${own[$f]} " in *" $n "*) echo "$f" ;; esac; done | wc -l)
	[ "$rows" = 1 ] || fail "$h belongs to $rows rows of doc/design.md's table of folders (one, please)"
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
