#!/bin/bash
# nbench diff A B and --baseline FILE --tolerance PCT: the golden reports against themselves (no change),
# against copies with a latency 20% worse (worse; significant with repeated runs), against another kind of test
# (refused, exit 2, one line naming the key); a real rr run against a baseline it cannot reach (exit 1 naming
# p50) and with a generous tolerance (exit 0, the report unchanged but for a note); a warning on stderr, before
# any figure, when the two sides differ in their hosts or NICs (kernel, driver, firmware), and none when not.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
G=$(dirname "$0")/../golden

run() { # run args...: sets rc, out, err
	rc=0
	"$NBENCH" "$@" > "$T/out" 2> "$T/err" || rc=$?
	out=$(cat "$T/out") err=$(cat "$T/err")
}
# jq-free JSON queries: py EXPR evaluates EXPR with d = the JSON on stdin
py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
metric() { # metric NAME FIELD: a metric's FIELD from diff --json on stdin
	py "[m for m in d['metrics'] if m['metric']=='$1'][0]['$2']"
}
one_line_naming() { one_line_err "$T/err" "$1"; }
exits_naming() { [ "$rc" = "$1" ] && grep -q -- "$2" "$T/err"; }
# doctor IN OUT PYTHON: OUT is IN with d changed by the statement
doctor() { python3 -c "import json; d=json.load(open('$1')); $3; json.dump(d, open('$2','w'))"; }

# 1. each golden report against itself: every metric unchanged, exit 0
for g in rr_tcp crr_tcp stream_tcp stream_udp; do
	run diff "$G/$g.json" "$G/$g.json" --json --tolerance 0
	check "$g against itself exits 0 ($err)" [ "$rc" = 0 ]
	check "$g against itself: every verdict 'no change'" \
		[ "$(py "sorted(set(m['verdict'] for m in d['metrics']))" <<< "$out")" = "['no change']" ]
	check "$g against itself: single runs are untested" \
		[ "$(py "sorted(set(m['test'] for m in d['metrics']))" <<< "$out")" = "['none']" ]
	check "$g against itself: no warning" [ ! -s "$T/err" ]
	check "$g against itself: hosts and NICs the same" [ "$(py "d['hosts_or_nics_differ']" <<< "$out")" = False ]
done
run diff "$G/rr_tcp.json" "$G/rr_tcp.json"
check "text diff names the missing interval" grep -q "untested: single runs" "$T/out"

# 2. a latency 20% worse, single runs: worse, untested, a regression at 5%, none at 30%
doctor "$G/rr_tcp.json" "$T/worse.json" "d['end']['latency_ns']['p50'] *= 1.2; d['start']['client']['kernel'] = '6.19.0-x'"
run diff "$G/rr_tcp.json" "$T/worse.json" --json
check "worse p50: exit 0 without --tolerance ($err)" [ "$rc" = 0 ]
check "worse p50: verdict worse" [ "$(metric p50_ns verdict <<< "$out")" = worse ]
check "worse p50: change +20%" [ "$(py "round([m for m in d['metrics'] if m['metric']=='p50_ns'][0]['change_pct'], 6) == 20" <<< "$out")" = True ]
check "worse p50: p99 unchanged" [ "$(metric p99_ns verdict <<< "$out")" = "no change" ]
check "a kernel difference is context, not a refusal" \
	[ "$(py "[c['b'] for c in d['context'] if c['key']=='client.kernel'][0]" <<< "$out")" = 6.19.0-x ]
check "a kernel difference: a warning naming it ($err)" \
	grep -q "^nbench diff: warning: A and B differ in their hosts or NICs.*client.kernel .* -> 6.19.0-x" "$T/err"
check "a kernel difference: hosts_or_nics_differ" [ "$(py "d['hosts_or_nics_differ']" <<< "$out")" = True ]
run diff "$G/rr_tcp.json" "$T/worse.json" --tolerance 5%
check "worse p50 beyond 5%: exit 1" [ "$rc" = 1 ]
check "worse p50 beyond 5%: one regression line naming p50_ns, after the warning" \
	[ "$(grep -c 'regression' "$T/err")" = 1 ] && grep -q 'regression.*p50_ns' "$T/err" && head -1 "$T/err" | grep -q 'warning:'
check "text: the header shows the kernel difference too" [ "$(grep -c "client.kernel" "$T/out")" = 1 ]
check "text shows the regression" grep -q "REGRESSION" "$T/out"
run diff "$G/rr_tcp.json" "$T/worse.json" --tolerance 30
check "worse p50 within 30%: exit 0" [ "$rc" = 0 ]

# 3. repeated runs (files A1,A2,A3 and a directory): an interval, Welch's t-test, significant
mkdir -p "$T/A" "$T/B"
for i in 0 1 2; do
	j=$(echo "0.99 1.00 1.01" | cut -d' ' -f$((i + 1)))
	doctor "$G/rr_tcp.json" "$T/A/r$i.json" "d['end']['latency_ns']['p50'] *= $j"
	doctor "$G/rr_tcp.json" "$T/B/r$i.json" "d['end']['latency_ns']['p50'] *= $j * 1.2"
done
run diff "$T/A/r0.json,$T/A/r1.json,$T/A/r2.json" "$T/B" --json
check "repeated runs: exit 0 ($err)" [ "$rc" = 0 ]
check "repeated runs: Welch's t-test" [ "$(metric p50_ns test <<< "$out")" = welch ]
check "repeated runs: p50 20% worse is significant" [ "$(metric p50_ns significant <<< "$out")" = True ]
check "repeated runs: verdict worse" [ "$(metric p50_ns verdict <<< "$out")" = worse ]
check "repeated runs: an interval" [ "$(metric p50_ns change_ci_pct <<< "$out")" != None ]
run diff "$T/A" "$T/A/r1.json" --json
check "repeated against one run: tested against the interval" [ "$(metric p50_ns test <<< "$out")" = interval ]
run diff "$T/A" "$T/B" --csv
check "csv: a header" [ "$(head -1 "$T/out" | cut -d, -f1)" = metric ]
check "csv: p50's row" [ "$(grep -c '^p50_ns,lower,3,' "$T/out")" = 1 ]

# 4. apples and oranges: refused with one line naming the key, exit 2
expect_refused() { # expect_refused KEY DIFF-ARGS...
	local key=$1; shift
	run diff "$@"
	if [ "$rc" = 2 ] && [ "$(grep -c . "$T/err")" = 1 ] && grep -q -- "$key" "$T/err" && [ ! -s "$T/out" ]; then ok
	else bad "diff $*: exit $rc, expected 2 and one line naming $key: $err"; fi
}
expect_refused "kind rr vs stream" "$G/rr_tcp.json" "$G/stream_tcp.json"
expect_refused "settings.proto udp vs tcp" "$G/stream_udp.json" "$G/stream_tcp.json"
doctor "$G/rr_tcp.json" "$T/bigreq.json" "d['start']['settings']['req_bytes'] = 1000"
expect_refused "settings.req_bytes" "$G/rr_tcp.json" "$T/bigreq.json"
expect_refused "crr_tcp.json: different tests: kind rr vs crr" "$T/A/r0.json,$G/crr_tcp.json" "$T/B"
echo '{"hello": 1}' > "$T/junk.json"
expect_refused "not an nbench report" "$G/rr_tcp.json" "$T/junk.json"
expect_refused "cannot read" "$G/rr_tcp.json" "$T/absent.json"
expect_refused "two reports" "$G/rr_tcp.json"
expect_refused "--tolerance" "$G/rr_tcp.json" "$G/rr_tcp.json" --tolerance=lots

# 5. a real run against a baseline: a doctored p50 of 1 ns no machine reaches fails, naming p50
PORT=$(free_port)
start_responder "$PORT" || { bad "responder"; finish; }
# every other figure given a wide berth, so p50 alone is named whatever this machine's noise
berth="e = d['end']; l = e['latency_ns']; l.update({k: v * 1000 for k, v in l.items()}); \
e['transactions_per_s'] /= 1000; e['cpu']['cycles_per_transaction'] *= 1000; e['timeouts'] = 1e9"
doctor "$G/rr_tcp.json" "$T/fast.json" "$berth; l['p50'] = 1"
run rr -H 127.0.0.1 -p "$PORT" -t 1 --json --baseline "$T/fast.json"
check "rr against an unreachable baseline: exit 1 ($err)" [ "$rc" = 1 ]
check "the failure names p50_ns on one line" [ "$(grep -c 'regression: p50_ns ' "$T/err")" = 1 ]
check "p50 alone is named: $(cat "$T/err")" [ "$(grep -c 'regression: ' "$T/err")" = 1 ]
check "the report is still written, with the verdict as a note" \
	[ "$(py "[n for n in d['end']['notes'] if n.startswith('baseline ')][0].split(':')[1].split()[0]" <<< "$out")" -ge 1 ]
cp "$T/out" "$T/run.json"
run diff "$T/fast.json" "$T/run.json" --json
check "diff of the real run against the doctored file: p50 worse ($err)" [ "$(metric p50_ns verdict <<< "$out")" = worse ]
# a generous tolerance: this run's own figures as the baseline (p50 as it was; the others given the wide
# berth: two 1 s runs on a busy machine differ severalfold)
doctor "$T/run.json" "$T/own.json" "p50 = d['end']['latency_ns']['p50']; $berth; l['p50'] = p50"
run rr -H 127.0.0.1 -p "$PORT" -t 1 --json --baseline "$T/own.json" --tolerance 1000%
check "a generous tolerance: exit 0 ($err)" [ "$rc" = 0 ]
check "the note says no metric is worse" grep -q 'no metric worse by more than 1000%' "$T/out"
check "the report is unchanged but for the note" [ "$(py "sorted(d['end'].keys()) == sorted(json.load(open('$T/run.json'))['end'].keys())" <<< "$out")" = True ]
run rr -H 127.0.0.1 -p "$PORT" -t 1 -q --baseline "$T/fast.json" --tolerance 1000%
check "p50 of 1 ns is beyond even 1000%: exit 1 naming it ($err)" exits_naming 1 'regression: p50_ns ' 
run rr -H 127.0.0.1 -p "$PORT" -t 1 --baseline "$G/stream_tcp.json"
check "rr against a stream baseline: exit 2 naming the kind ($err)" exits_naming 2 "baseline: different tests: kind stream vs rr"
run rr -H 127.0.0.1 -p "$PORT" -t 1 --baseline "$T/absent.json"
check "an unreadable baseline: exit 2 before the run ($err)" exits_naming 2 "baseline: cannot read"
check "an unreadable baseline: no report" [ ! -s "$T/out" ]
run rr -H 127.0.0.1 -p "$PORT" -t 1 --tolerance 5
check "--tolerance without --baseline: exit 2" [ "$rc" = 2 ]

# throughput: diffable by frame size, and gated by --baseline (a baseline whose rate is out of reach)
TP=(throughput -H 127.0.0.1 -p "$PORT" --sizes 512 --trial 0.5 --max-rate 100M --resolution 20% -q)
run "${TP[@]}" --json
check "throughput --json ($err)" [ "$rc" = 0 ]
cp "$T/out" "$T/tput.json"
doctor "$T/tput.json" "$T/tput_fast.json" "s = d['sizes'][0]; s.update({k: s[k] * 100 for k in ('rate_fps', 'l2_bps', 'l1_bps')})"
run diff "$T/tput.json" "$T/tput_fast.json" --json
check "throughput diff: the 512-byte rate is better in B ($err)" [ "$(metric '512 rate_fps' verdict <<< "$out")" = better ]
check "throughput diff, same host and NICs: no warning ($err)" [ ! -s "$T/err" ]
# throughput reports carry the hosts and interfaces as a single run's do; a driver or firmware that differs
# is warned of
check "throughput's start: the hosts and the loopback interface" python3 -c "import json,sys; s=json.load(open('$T/tput.json'))['start']; \
sys.exit(0 if s['client']['kernel'] and s['server']['kernel'] == s['server_kernel'] and s['interfaces'][0]['name'] == 'lo' else 1)"
doctor "$T/tput_fast.json" "$T/tput_nic.json" "d['start']['interfaces'][0].update(driver='ice', firmware='4.40')"
run diff "$T/tput.json" "$T/tput_nic.json"
check "throughput diff across NICs: a warning naming the driver and firmware ($err)" \
	grep -q "warning: A and B differ in their hosts or NICs.*interfaces\[0\]\.driver null -> ice; interfaces\[0\]\.firmware null -> 4.40" "$T/err"
check "throughput diff across NICs: the figures still compared" grep -q "512 rate_fps" "$T/out"
run "${TP[@]}" --baseline "$T/tput_fast.json"
check "throughput against an unreachable baseline: exit 1 naming the rate ($err)" exits_naming 1 'regression: 512 rate_fps '
finish
