#!/bin/bash
# nbench plot and --hist-out: each figure kind drawn from the golden reports and the compare/hops fixtures, the
# SVG parsed as XML with one series per run/path named as expected, PNG's magic bytes, the data and script
# kept beside each figure, gnuplot missing (exit 1 after writing them), bad input (one line, exit 2), and
# --hist-out's HdrHistogram percentile distribution (header, monotone, footer total = the run's transactions).
. "$(dirname "$0")/lib.sh"
command -v gnuplot > /dev/null || skip "gnuplot is not installed (scripts/setup installs gnuplot-nox)"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")

# series SVG: the title of every plotted series (gnuplot's SVG groups each as <g id="gnuplot_plot_N">, the
# key's <text> first inside), one per line.
series() {
	python3 - "$1" <<'PY'
import re, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
for g in ET.parse(sys.argv[1]).iter(ns + "g"):
    if re.fullmatch(r"gnuplot_plot_\d+", g.get("id", "")):
        t = next(g.iter(ns + "text"), None)
        print("" if t is None else "".join(t.itertext()))
PY
}
# texts SVG: every text of the figure (tics, labels), one per line.
texts() {
	python3 -c 'import sys, xml.etree.ElementTree as ET
[print("".join(t.itertext())) for t in ET.parse(sys.argv[1]).iter("{http://www.w3.org/2000/svg}text")]' "$1"
}
expect_series() { # expect_series FILE.svg NAME...
	local f=$1; shift
	local want got
	want=$(printf '%s\n' "$@")
	got=$(series "$f" 2>&1)
	if [ "$got" = "$want" ]; then ok; else bad "$(basename "$f"): series [$(echo $got)], expected [$(echo $want)]"; fi
}
drawn() { # drawn DIR NAME FORMAT: the figure, its data and its script, each printed once
	local d=$1 n=$2 fmt=$3 e
	for e in dat gp "$fmt"; do
		check "$n.$e written" test -s "$d/$n.$e"
		check "$n.$e printed" grep -qx "$d/$n.$e" "$d.out"
	done
}

# The golden single-run reports: one line per run, the stream and rr intervals apart.
G=$T/golden
"$NBENCH" plot "$SRC"/tests/golden/*.json -o "$G" > "$G.out" 2> "$T/err"
check "plot golden: exit 0 ($(cat "$T/err"))" test $? = 0
for n in latency intervals_rr intervals_stream; do drawn "$G" $n svg; done
# (rr_hops.json and rr_hops_ebpf.json are both native rr-tcp: the second gets its file's stem)
expect_series "$G/latency.svg" "nat crr" "native rr-tcp" "native rr-tcp (rr_hops_ebpf)" "loopback rr-tcp"
expect_series "$G/intervals_rr.svg" "native rr-tcp: transactions/s" "native rr-tcp: mean latency" \
	"native rr-tcp (rr_hops_ebpf): transactions/s" "native rr-tcp (rr_hops_ebpf): mean latency" \
	"loopback rr-tcp: transactions/s" "loopback rr-tcp: mean latency"
expect_series "$G/intervals_stream.svg" "native stream-tcp" "192.0.2.7 stream-udp"
for tic in 50% 90% 99% 99.9%; do
	texts "$G/latency.svg" | grep -x "$tic" > /dev/null && ok || bad "latency.svg: no $tic tic"
done
check "latency.dat: loopback's p99 in µs" grep -qx '100 99 12.319' "$G/latency.dat"
check "every printed line is a file" bash -c "while read -r f; do test -s \"\$f\" || exit 1; done < $G.out"

# compare (a real one: native and bridge, rr-tcp and stream): bars per metric, a bar per path.
C=$T/cmp
"$NBENCH" plot "$SRC/tests/plot/compare.json" -o "$C" > "$C.out" 2> "$T/err"
check "plot compare: exit 0 ($(cat "$T/err"))" test $? = 0
for m in p50_ns p99_ns transactions_per_s cycles_per_transaction goodput_bps cycles_per_byte; do
	drawn "$C" "compare_$m" svg
	expect_series "$C/compare_$m.svg" native bridge
done
expect_series "$C/compare_latency_rr-tcp_same-core.svg" native bridge
check "no hops figure without hops" test ! -e "$C/compare_hops_rr-tcp_same-core.svg"
check "no latency figure for stream" test ! -e "$C/compare_latency_stream_unpinned.svg"
check "compare p50 bars with CI columns" grep -q '^"rr-tcp same-core" [0-9.]* [0-9.]* [0-9.]* [0-9.]*$' "$C/compare_p50_ns.dat"

# compare --hops (a real one, from this machine): the waterfall, a stacked bar per path, a block per segment,
# the same hop (by the roles of its interfaces) lined up across paths.
H=$T/hops
"$NBENCH" plot "$SRC/tests/plot/compare_hops.json" -o "$H" > "$H.out" 2> "$T/err"
check "plot hops: exit 0 ($(cat "$T/err"))" test $? = 0
W=compare_hops_hops_rr-tcp_same-core
drawn "$H" $W svg
expect_series "$H/$W.svg" "client stack out" "hop out r>h" "hop out h>b" "hop out b>v" "hop out v>c" \
	"server" "hop back c>v" "hop back v>b" "hop back b>h" "hop back h>r" "client stack in"
for p in native bridge nat; do
	texts "$H/$W.svg" | grep -x $p > /dev/null && ok || bad "$W.svg: no bar named $p"
	# the stack adds up to the path's mean round trip in the fixture (the sum of its segments' means)
	want=$(python3 -c "import json; r=[s for s in json.load(open('$SRC/tests/plot/compare_hops.json'))['hops'] if s['path']=='$p' and s['test']=='rr-tcp'][0]; print(round(sum(h['mean_ns'] for h in r['hops'])/1e3, 3))")
	got=$(awk -v p="\"$p\"" '$1 == p { s = 0; for (i = 2; i <= NF; i++) s += $i; printf "%.3f\n", s }' "$H/$W.dat")
	check "$p: stacked µs $got = $want" python3 -c "import sys; sys.exit(abs($got - $want) > 1e-6)"
done

# nbench study (a real one, from this machine: native, host, nat): bars per path with the study's markers,
# the Redis curves; a path's bars only where it has values, the study's marker only where it has its own value
# (host stands for --net=host, of which the study gives only its text's ratio).
S=$T/study
"$NBENCH" plot "$SRC/tests/plot/study.json" -o "$S" > "$S.out" 2> "$T/err"
check "plot study: exit 0, no gnuplot warning ($(cat "$T/err"))" test $? = 0 -a ! -s "$T/err"
for f in goodput cpb rr; do
	drawn "$S" "study_$f" svg
	expect_series "$S/study_$f.svg" native "" "" host "" nat "" RC25482
done
for f in redis_throughput redis_latency; do
	drawn "$S" "study_$f" svg
	expect_series "$S/study_$f.svg" native host nat
done
# the study's values in the data, in the figure's unit: native's transmit goodput (nuttcp.xlsx B5, Gbit/s),
# NAT's TCP_RR bar (figure 3, us), KVM has no bar (virtio was not run)
check "study goodput: nuttcp.xlsx's native" grep -q '^0 .* 9.34813$' "$S/study_goodput.dat"
check "study rr: figure 3's NAT bar" grep -q '^2 .* 72.8$' "$S/study_rr.dat"
check "study rr: three paths" test "$(grep -c '^# ' "$S/study_rr.dat")" = 5

# PNG: the same figures, as PNG files.
P=$T/png
"$NBENCH" plot "$SRC/tests/golden/rr_tcp.json" "$SRC/tests/plot/compare_hops.json" -o "$P" --format png > "$P.out" 2> "$T/err"
check "plot --format png: exit 0 ($(cat "$T/err"))" test $? = 0
for n in latency intervals_rr $W compare_hops_p50_ns; do
	drawn "$P" $n png
	check "$n.png is a PNG" test "$(head -c 8 "$P/$n.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a
done
check "png: no svg" test -z "$(ls "$P"/*.svg 2>/dev/null)"

# gnuplot missing: data and scripts written, one line naming it, exit 1; the scripts then draw by hand.
N=$T/nognuplot
rc=0; env PATH=/nonexistent "$NBENCH" plot "$SRC/tests/golden/rr_tcp.json" -o "$N" > "$N.out" 2> "$T/err" || rc=$?
check "no gnuplot: exit 1 (got $rc)" test $rc = 1
check "no gnuplot: one line naming it" bash -c "[ \$(wc -l < $T/err) = 1 ] && grep -q gnuplot $T/err"
check "no gnuplot: data and script written" test -s "$N/latency.dat" -a -s "$N/latency.gp" -a ! -e "$N/latency.svg"
(cd "$N" && gnuplot latency.gp) && check "the kept script draws by hand" test -s "$N/latency.svg"

# Bad input: one line, exit 2.
expect2() { # expect2 "what it must name" args...
	local name=$1; shift
	local rc=0
	"$NBENCH" plot "$@" -o "$T/bad" > "$T/out" 2> "$T/err" || rc=$?
	if [ "$rc" != 2 ]; then bad "plot $*: exit $rc, expected 2"; return; fi
	if [ "$(wc -l < "$T/err")" != 1 ]; then bad "plot $*: stderr not one line: $(cat "$T/err")"; return; fi
	grep -q -- "$name" "$T/err" && ok || bad "plot $*: error does not name '$name': $(cat "$T/err")"
}
echo 'not json {' > "$T/x.json"
echo '{"a": 1}' > "$T/other.json"
echo '{"schema_version": 1, "start": {}, "intervals": [], "end": {}}' > "$T/empty.json"
expect2 "not JSON" "$T/x.json"
expect2 "not an nbench report" "$T/other.json"
expect2 "nothing to draw" "$T/empty.json"
expect2 "cannot read" "$T/missing.json"
expect2 "no report given"
expect2 "svg or png" "$SRC/tests/golden/rr_tcp.json" --format jpg
check "bad input writes nothing" test ! -e "$T/bad"

# --hist-out on rr and crr: HdrHistogram's percentile distribution of the run's transactions.
port=$(free_port)
start_responder "$port" "" || exit 1
hgrm_ok() { # hgrm_ok FILE.hgrm REPORT.json
	python3 - "$1" "$2" <<'PY'
import json, re, sys
lines = open(sys.argv[1]).read().split("\n")
txns = json.load(open(sys.argv[2]))["end"]["transactions"]
assert lines[0].split() == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"], lines[0]
assert lines[1] == ""
rows = [l.split() for l in lines[2:] if l and not l.startswith("#")]
vals = [float(r[0]) for r in rows]; pct = [float(r[1]) for r in rows]; cnt = [int(r[2]) for r in rows]
assert len(rows) > 5 and all(len(r) == 4 for r in rows[:-1]) and len(rows[-1]) == 3, rows[-3:]
assert vals == sorted(vals) and pct == sorted(pct) and cnt == sorted(cnt), "not monotone"
assert pct[0] == 0 and pct[-1] == 1.0 and cnt[-1] == txns, (pct[-1], cnt[-1], txns)
for r in rows[:-1]:
    assert abs(float(r[3]) - 1 / (1 - float(r[1]))) < 0.01 * float(r[3]), r
foot = [l for l in lines if l.startswith("#[")]
assert re.match(r"#\[Mean    = +[0-9.]+, StdDeviation   = +[0-9.]+\]$", foot[0]), foot[0]
m = re.match(r"#\[Max     = +([0-9.]+), Total count    = +([0-9]+)\]$", foot[1])
assert m and int(m.group(2)) == txns, (foot[1], txns)
assert abs(float(m.group(1)) - vals[-1]) < 1e-3
lat = json.load(open(sys.argv[2]))["end"]["latency_ns"]
assert abs(float(m.group(1)) * 1000 - lat["max"]) < 1.0, (m.group(1), lat["max"])  # µs, as the report's max
PY
}
for kind in rr crr; do
	"$NBENCH" $kind -H 127.0.0.1 -p "$port" -t 1 -i 0 --json --hist-out "$T/$kind.hgrm" > "$T/$kind.json"
	check "$kind --hist-out: exit 0" test $? = 0
	check "$kind --hist-out: HdrHistogram's format, total = transactions" hgrm_ok "$T/$kind.hgrm" "$T/$kind.json"
done
"$NBENCH" plot "$T/rr.json" "$T/crr.json" -o "$T/live" > "$T/live.out" 2> "$T/err"
check "plot of live rr and crr reports: exit 0 ($(cat "$T/err"))" test $? = 0
expect_series "$T/live/latency.svg" "127.0.0.1 rr-tcp" "127.0.0.1 crr"
rc=0; "$NBENCH" stream -H 127.0.0.1 -p "$port" -t 1 --hist-out "$T/s.hgrm" > /dev/null 2> "$T/err" || rc=$?
check "stream --hist-out: exit 2, names rr and crr" bash -c "[ $rc = 2 ] && grep -q 'rr and crr' $T/err && [ ! -e $T/s.hgrm ]"
finish
