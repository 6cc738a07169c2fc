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

# Titles, labels and legends use words, never a JSON key of the reports drawn (issue 19:
# "cycles_per_transaction"); a file's stem in a line's title ("(rr_hops_ebpf)") is a name, not a key.
python3 - "$SRC"/tests/golden/*.json "$SRC"/tests/plot/*.json > "$T/keys" <<'PY'
import json, sys
keys = set()
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if "_" in k:
                keys.add(k)
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
for f in sys.argv[1:]:
    walk(json.load(open(f)))
print("\n".join(sorted(keys)))
PY
for f in "$C"/*.svg "$H"/*.svg "$G"/*.svg; do
	found=$(texts "$f" | grep -owFf "$T/keys" | sort -u)
	[ -z "$found" ] && ok || bad "$(basename "$f"): JSON keys in its texts: $(echo $found)"
done
check "cycles per transaction in words" bash -c "texts() { $(declare -f texts | tail -n +2); }; texts '$C/compare_cycles_per_transaction.svg' | grep -q '^cpu cycles/transaction: mean'"

# Whiskers: an end beyond the value axis is marked (an arrowhead at the edge, its value beside it), every
# other end drawn whole; the fixture's cycles/transaction intervals (2 runs) go from below 0 to twice the bars.
whiskers_ok() { # whiskers_ok NAME: the .gp's marks are exactly the interval ends beyond its axis
	python3 - "$1" <<'PY'
import re, sys
name = sys.argv[1]
gp, dat = open(name + ".gp").read(), open(name + ".dat").read()
top = float(re.search(r"set yrange \[0:([0-9.e+-]+)\]", gp).group(1))
table = [l for l in dat.split("\n\n\n")[0].split("\n") if l.startswith('"')]
want = []
for row in table:
    v = [float(x) for x in row.split('"')[2].split()]
    for mean, ci in zip(v[0::2], v[1::2]):
        want += [end for end in (mean - ci, mean + ci) if ci > 0 and (end > top or end < 0)]
got = [float(x) for x in re.findall(r"^set label '([^']*)' at", gp, re.M)]
heads = len(re.findall(r"^set arrow .* head filled", gp, re.M))
# the .dat's figures are rounded to 6 digits, the labels to 3 or to units
same = lambda a, b: abs(a - b) <= max(1.0, 0.01 * abs(b))
assert len(got) == len(want) == heads and all(any(same(g, w) for g in got) for w in want), (got, want, heads)
print(len(want))
PY
}
for f in "$C"/compare_*_*.gp "$H"/compare_hops_*.gp; do
	n=${f%.gp}
	case $n in *_latency_* | *_hops_hops_*) continue ;; esac
	marks=$(whiskers_ok "$n" 2>&1) && ok || bad "$(basename "$n"): whisker marks: $marks"
done
check "cycles/transaction: all four ends marked" test "$(whiskers_ok "$C/compare_cycles_per_transaction")" = 4
check "the marks are drawn" bash -c "texts() { $(declare -f texts | tail -n +2); }; texts '$C/compare_cycles_per_transaction.svg' | grep -qx -- -59607"

# The waterfall's colours: its 11 segments each in a colour well apart from every other (CIEDE2000 >= 20;
# the palette before had two greens 12 apart).
check "waterfall: 11 distinct colours" python3 - "$H/$W.gp" <<'PY'
import math, re, sys
def lab(h):
    r, g, b = [int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    f = lambda c: ((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92
    r, g, b = f(r), f(g), f(b)
    x, y, z = (r * .4124 + g * .3576 + b * .1805) / .95047, r * .2126 + g * .7152 + b * .0722, (r * .0193 + g * .1192 + b * .9505) / 1.08883
    t = lambda v: v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116
    return 116 * t(y) - 16, 500 * (t(x) - t(y)), 200 * (t(y) - t(z))
def de2000(p, q):
    (L1, a1, b1), (L2, a2, b2) = p, q
    Cb = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    G = 0.5 * (1 - math.sqrt(Cb ** 7 / (Cb ** 7 + 25 ** 7)))
    a1, a2 = (1 + G) * a1, (1 + G) * a2
    C1, C2 = math.hypot(a1, b1), math.hypot(a2, b2)
    h1, h2 = math.degrees(math.atan2(b1, a1)) % 360, math.degrees(math.atan2(b2, a2)) % 360
    dh = 0 if C1 * C2 == 0 else (h2 - h1 - 360 if h2 - h1 > 180 else h2 - h1 + 360 if h2 - h1 < -180 else h2 - h1)
    dH = 2 * math.sqrt(C1 * C2) * math.sin(math.radians(dh / 2))
    Lb, Cbp = (L1 + L2) / 2, (C1 + C2) / 2
    hb = h1 + h2 if C1 * C2 == 0 else (h1 + h2) / 2 if abs(h1 - h2) <= 180 else (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    T = 1 - .17 * math.cos(math.radians(hb - 30)) + .24 * math.cos(math.radians(2 * hb)) + .32 * math.cos(math.radians(3 * hb + 6)) - .2 * math.cos(math.radians(4 * hb - 63))
    Rc = 2 * math.sqrt(Cbp ** 7 / (Cbp ** 7 + 25 ** 7))
    Sl, Sc, Sh = 1 + .015 * (Lb - 50) ** 2 / math.sqrt(20 + (Lb - 50) ** 2), 1 + .045 * Cbp, 1 + .015 * Cbp * T
    Rt = -math.sin(math.radians(60 * math.exp(-((hb - 275) / 25) ** 2))) * Rc
    return math.sqrt(((L2 - L1) / Sl) ** 2 + ((C2 - C1) / Sc) ** 2 + (dH / Sh) ** 2 + Rt * (C2 - C1) / Sc * dH / Sh)
cols = re.findall(r"lc rgb '(#[0-9a-fA-F]{6})'", open(sys.argv[1]).read())
worst = min(de2000(lab(a), lab(b)) for i, a in enumerate(cols) for b in cols[i + 1:])
print(len(cols), round(worst, 1))
sys.exit(not (len(cols) == 11 and worst >= 20))
PY

# A run with one interval: the figure says so on an axis from 0, and gnuplot's warning about the empty
# range it used to get ("Warning: empty x range") does not reach the terminal.
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['intervals']=d['intervals'][:1]; json.dump(d, open(sys.argv[2],'w'))" \
	"$SRC/tests/golden/rr_tcp.json" "$T/one.json"
"$NBENCH" plot "$T/one.json" -o "$T/one" > "$T/one.out" 2> "$T/err"
check "one interval: exit 0" test $? = 0
check "one interval: nothing on stderr ($(cat "$T/err"))" test ! -s "$T/err"
check "one interval: the figure says so" bash -c "texts() { $(declare -f texts | tail -n +2); }; texts '$T/one/intervals_rr.svg' | grep -q '^one interval per run'"
check "one interval: time from 0" bash -c "texts() { $(declare -f texts | tail -n +2); }; texts '$T/one/intervals_rr.svg' | grep -qxE ' *0\\.2'"

# gnuplot's own messages: a warning stays off the terminal; an error is one line, the script's line named.
mkdir -p "$T/fakebin"
printf '#!/bin/sh\necho "Warning: something odd" >&2\nexit 0\n' > "$T/fakebin/gnuplot"
chmod +x "$T/fakebin/gnuplot"
rc=0; PATH="$T/fakebin:$PATH" "$NBENCH" plot "$SRC/tests/golden/rr_tcp.json" -o "$T/fake" > /dev/null 2> "$T/err" || rc=$?
check "gnuplot's warning: exit 0, not shown ($rc: $(cat "$T/err"))" bash -c "[ $rc = 0 ] && [ ! -s $T/err ]"
printf '#!/bin/sh\necho "         ^" >&2\necho "\\"$1\\" line 3: undefined variable: foo" >&2\necho >&2\nexit 1\n' > "$T/fakebin/gnuplot"
rc=0; PATH="$T/fakebin:$PATH" "$NBENCH" plot "$SRC/tests/golden/rr_tcp.json" -o "$T/fake" > /dev/null 2> "$T/err" || rc=$?
check "gnuplot's error: exit 1, a line per figure naming it ($rc: $(cat "$T/err"))" bash -c "[ $rc = 1 ] && [ \$(grep -c . $T/err) = \$(grep -c 'latency.gp: \"latency.gp\" line 3: undefined variable: foo\|intervals_rr.gp: \"intervals_rr.gp\" line 3' $T/err) ]"

# README's figures are files plot writes from the compare it shows (nbench plot compare.json ...): the
# fixture, given the ratios to native and merged latencies a compare now reports, draws every kind.
mkdir -p "$T/readme"
python3 - "$SRC/tests/plot/compare_hops.json" "$T/readme/compare.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["start"]["reference"] = "native"
ref = {(r["test"], r.get("placement")): r for r in d["summary"] if r["path"] == "native"}
for r in d["summary"]:
    base = ref.get((r["test"], r.get("placement")))
    for k, m in list(r.items()):
        if base and isinstance(m, dict) and isinstance(m.get("mean"), (int, float)) and k in base:
            v = m["mean"] / base[k]["mean"]
            m["ratio"] = {"value": v, "lo": v * 0.9, "hi": v * 1.1}
    if "p50_ns" in r:
        r["latency_merged"] = {"percentiles": [{"percentile": 0, "ns": r["p50_ns"]["mean"] * 0.8},
                                               {"percentile": 50, "ns": r["p50_ns"]["mean"]},
                                               {"percentile": 99, "ns": r["p50_ns"]["mean"] * 3}],
                               "transactions": 1000}
json.dump(d, open(sys.argv[2], "w"))
PY
(cd "$T/readme" && "$NBENCH" plot compare.json -o figures --format png > ../readme.out 2> /dev/null)
for f in $(grep -oE 'doc/figures/[A-Za-z0-9_.-]+\.png' "$SRC/README.md"); do
	check "README's $f is a file plot writes" grep -qx "figures/$(basename "$f")" "$T/readme.out"
	check "README's $f is in the repository" test -s "$SRC/$f"
done

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
