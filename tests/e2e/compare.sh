#!/bin/bash
# compare end to end on paths it builds (run inside scripts/fresh): the rounds and their JSON (verdicts,
# paired ratios with the unpaired interval and the correlation beside, merged percentiles, the stop), the
# verdict lines of the text, --seed replaying the order, --precision stopping at the first stage, --max-time
# said at once after the minimum rounds, --hist-out, and a path left out failing the compare (exit 3)
# unless --allow-missing. Invariants only, never speed.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (CAP_NET_ADMIN) to build paths"
ip netns add nbt-probe-$$ 2>/dev/null || skip "cannot create network namespaces"
ip netns del nbt-probe-$$
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")

cmp() { # cmp NAME args...: compare's stdout in T/NAME.out, stderr in T/NAME.err, exit status in rc
	local name=$1; shift
	rc=0
	timeout 300 "$NBENCH" compare "$@" > "$T/$name.out" 2> "$T/$name.err" || rc=$?
}

# 1. three rounds with a seed: the JSON's shape
cmp seed1 --paths native,bridge --tests rr-tcp,stream -t 0.3 --runs 3 --seed 42 --json -q --hist-out "$T/h"
check "compare --json exits 0 ($(tail -1 "$T/seed1.err"))" [ "$rc" = 0 ]
check "compare json: rounds, verdicts, paired ratios, merged percentiles" python3 - "$T/seed1.out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["start"]["seed"] == "42" and d["start"]["reference"] == "native", d["start"]
st = d["stop"]
assert st["reason"] == "rounds" and st["rounds"] == 3, st
assert len(d["runs"]) == 3 * 2 * 2, len(d["runs"])
# a run a loaded machine starved of its whole window fails and says so; the pairs are the rounds both completed
assert all(r["complete"] or "nothing measured" in r["error"] for r in d["runs"]), d["runs"]
for k in range(1, 4):  # every cell once per round
    cells = sorted((r["test"], r["path"]) for r in d["runs"] if r["round"] == k)
    assert cells == sorted((t, p) for t in ("rr-tcp", "stream") for p in ("native", "bridge")), cells
v = {(x["test"], x["path"]): x for x in d["verdicts"]}
assert set(v) == {("rr-tcp", "bridge"), ("stream", "bridge")}, v
for x in v.values():
    assert x["lo"] <= x["ratio"] <= x["hi"] and x["text"].startswith("bridge: "), x
row = [s for s in d["summary"] if s["path"] == "bridge" and s["test"] == "rr-tcp"][0]
r = row["p50_ns"]["ratio"]
assert r["to"] == "native" and 2 <= r["rounds"] <= 3 and r["method"] == "t", r
assert r["lo"] <= r["value"] <= r["hi"] and r["unpaired_lo"] is not None and "correlation" in r, r
h = row["p50_ns"]["hop"]
assert h["from"] == "native" and h["lo"] <= h["delta"] <= h["hi"], h
assert isinstance(row["p50_ns"]["outlier_rounds"], list)
pts = row["latency_merged"]["percentiles"]
assert pts[0]["percentile"] == 0 and pts[-1]["percentile"] >= 99, pts
assert all(a["ns"] <= b["ns"] for a, b in zip(pts, pts[1:])), pts
p50 = [p["ns"] for p in pts if abs(p["percentile"] - 50) < 1e-9]
assert p50 and abs(p50[0] - row["p50_ns"]["mean"]) < 1e-6, (p50, row["p50_ns"]["mean"])
native = [s for s in d["summary"] if s["path"] == "native" and s["test"] == "stream"][0]
assert native["goodput_bps"]["ratio"]["value"] == 1 and native["goodput_bps"]["ratio_vs_native"] == 1
assert "latency_merged" not in native
PY
for p in native bridge; do
	check "--hist-out: $p's merged histogram" grep -q "Total count" "$T/h-rr-tcp-same-core-$p.hgrm"
done
check "--hist-out: none for a stream" [ ! -e "$T/h-stream-unpinned-native.hgrm" ]

# 2. the same seed replays the order; the text leads with the verdicts
cmp seed2 --paths native,bridge --tests rr-tcp,stream -t 0.3 --runs 3 --seed 42 --json -q
order() { python3 -c "import json,sys; print([(r['round'], r['test'], r['path']) for r in json.load(open(sys.argv[1]))['runs']])" "$1"; }
check "--seed 42 replays the order" [ "$(order "$T/seed1.out")" = "$(order "$T/seed2.out")" ]
cmp seed3 --paths native,bridge --tests rr-tcp,stream -t 0.3 --runs 3 --seed 43 --json -q
check "another seed, another order" [ "$(order "$T/seed1.out")" != "$(order "$T/seed3.out")" ]
cmp text --paths native,host --tests rr-tcp -t 0.3 --runs 3
check "text exits 0" [ "$rc" = 0 ]
check "text: the seed is printed" grep -q "seed [0-9]" "$T/text.err"
check "text: a progress line per round" [ "$(grep -c '^round [0-9]* of' "$T/text.err")" = 3 ]
check "text: the verdict leads" grep -Eq '^  rr-tcp same-core +host: p50 [0-9.]+× native \[[0-9.]+, [0-9.]+\]' "$T/text.out"
check "text: ratios with their intervals" grep -Eq 'host +[0-9.]+ ± [0-9.]+ +[0-9.]+x \[[0-9.]+, [0-9.]+\]' "$T/text.out"

# 3. --precision: judged after the minimum rounds, stops there when every interval is within it
# (a loaded machine may spread even these past the first stage: then the later stages or the budget decide)
cmp prec --paths native,native.2 --tests rr-tcp -t 0.3 --precision 100 --p99-precision 100 --cpu-precision 100 --max-time 90s --json -q
check "--precision 100: judged from 5 rounds, stops on precision when every interval is within it" python3 -c "
import json, sys; s = json.load(open('$T/prec.out'))['stop']
ok = s['rounds'] >= 5 and ((s['reason'] == 'precision' and s['unmet'] == 0) or (s['reason'] == 'max_time' and s['unmet'] > 0))
sys.exit(not ok)"
check "--precision: each ratio says when it first reached its target" python3 -c "
import json, sys; d = json.load(open('$T/prec.out')); r = [x for x in d['summary'] if x['path'] == 'native.2'][0]['p50_ns']['ratio']
sys.exit(not (r['target_pct'] == 100 and (r['met_at_round'] is None or r['met_at_round'] >= 2)))"

# 4. --max-time: after the minimum rounds the projection past the budget is said at once, before the end
cmp budget --paths native,native.2 --tests rr-tcp -t 0.2 --precision 0.01 --max-time 15s
check "--max-time: the projection said ($(head -c 300 "$T/budget.err"))" grep -Eq 'needs ~[0-9]+ rounds .*stopping at the budget \(--max-time 15 s\)' "$T/budget.err"
check "--max-time: said before the rounds ended" python3 -c "
import sys; e = open('$T/budget.err').read(); a = e.find('stopping at the budget'); b = e.find('stopped after')
sys.exit(not (0 <= a < b))"
check "--max-time: the table says it stopped on max_time" grep -q "stopped on max_time" "$T/budget.out"

# 5. a path this machine cannot build: exit 3, unless --allow-missing (issue 19)
if [ ! -e /dev/vhost-net ]; then
	cmp missing --paths native,vhost --tests rr-tcp -t 0.2 --runs 2 -q
	check "a path left out: exit 3 ($rc)" [ "$rc" = 3 ]
	check "a path left out: named" grep -q "path vhost left out" "$T/missing.err"
	cmp allowed --paths native,vhost --tests rr-tcp -t 0.2 --runs 2 -q --allow-missing
	check "--allow-missing: exit 0 ($rc)" [ "$rc" = 0 ]
fi

# 6. bad usage: one line, exit 2
expect_usage() { # expect_usage WORD args...: exit 2 and one stderr line naming WORD
	local word=$1; shift
	cmp usage "$@"
	check "usage: $* -> 2 naming $word" [ "$rc" = 2 ] && check "usage: $* one line" [ "$(wc -l < "$T/usage.err")" = 1 ] &&
		check "usage: $* names $word" grep -q -- "$word" "$T/usage.err"
}
expect_usage --precision --ci 95,5
expect_usage --max-rounds --max-runs 9
expect_usage --precision --precision 2 --runs 3
expect_usage --precision --p99-precision 5
expect_usage --reference --reference warp --paths native,nat
expect_usage KIND.N --paths native,native.x
expect_usage --seed --seed -1
expect_usage --precision --precision 0
finish
