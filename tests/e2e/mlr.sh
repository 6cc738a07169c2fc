#!/bin/bash
# MLRsearch against RFC 2544's binary search on one veth path whose capacity an nft policer sets (RATE
# datagrams/s to the data port; Max Load is RATE / 0.8):
#  - a transient: a burst of datagrams dropped once, during the second trial (an nft quota rule added when
#    the first trial's line appears: it drops QUOTA bytes of data datagrams and then matches nothing). The
#    binary search's second trial is at half Max Load, within capacity: taking that trial as the truth, its
#    result falls to below that. MLRsearch measures the load again and finds the capacity (within its
#    resolution and the policer's burst);
#  - a steady loss (every 50th data datagram): both find nothing at goal loss 0;
#  - without either, MLRsearch finds the capacity; the binary search is run as a control and its results
#    printed (a loaded host's own pauses make it fall too, so they are not asserted).
# Every rule matches the data datagrams alone (by UDP length), not the flows' hellos.
. "$(dirname "$0")/lib.sh"
command -v nft > /dev/null || skip "nft is not installed"
veth_pair 10.199.3
port=$(free_port)
RESP_ADDR=10.199.3.2 start_responder "$port" "$S" || exit 1
T=$(mktemp -d); CLEANUPS+=("[ -n \"${KEEP:-}\" ] || rm -rf $T")
FRAME=128 RATE=5000
ULEN=$((FRAME - 46 + 8))
MAX_BPS=$((RATE * 10 / 8 * (FRAME + 20) * 8))
QUOTA=$((300 * (ULEN + 20))) # 300 datagrams, counted as IP packets
HT=(-H 10.199.3.2 -p "$port" --sizes "$FRAME" --max-rate "$MAX_BPS" --resolution 2%)
H=("${HT[@]}" --json)

ip netns exec "$S" nft -f - << NFT || exit 1
table inet nbt_mlr {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport $port udp length $ULEN limit rate over $RATE/second burst 200 packets counter drop
	}
}
NFT
CLEANUPS+=("ip netns exec $S nft delete table inet nbt_mlr")

# tput NAME ARGS...: one search, its report in $T/NAME.json, its trials' lines in $T/NAME.err
tput() {
	local name=$1; shift
	if ! ip netns exec "$C" "$NBENCH" throughput "${H[@]}" "$@" > "$T/$name.json" 2> "$T/$name.err"; then
		bad "throughput $name exited non-zero: $(tail -3 "$T/$name.err")"; return 1
	fi
	ok
}
# tput_transient NAME ARGS...: as tput, with the quota rule added once the first trial has reported
tput_transient() {
	local name=$1; shift
	ip netns exec "$C" "$NBENCH" throughput "${H[@]}" "$@" > "$T/$name.json" 2> "$T/$name.err" &
	local pid=$!
	PIDS+=($pid)
	for _ in $(seq 300); do grep -q ' B  ' "$T/$name.err" 2> /dev/null && break; sleep 0.02; done
	ip netns exec "$S" nft add rule inet nbt_mlr input udp dport "$port" udp length "$ULEN" \
		quota until "$QUOTA" bytes counter drop
	if ! wait $pid; then
		bad "throughput $name exited non-zero: $(tail -3 "$T/$name.err")"; return 1
	fi
	ok
	# the rule dropped its quota, in the second trial (the first to start after it): one trial lost
	# frames at a load within capacity
	local dropped
	dropped=$(ip netns exec "$S" nft list chain inet nbt_mlr input | awk '/quota/ {for (i = 1; i < NF; i++) if ($i == "packets") print $(i+1)}')
	ip netns exec "$S" nft flush chain inet nbt_mlr input
	ip netns exec "$S" nft add rule inet nbt_mlr input udp dport "$port" udp length "$ULEN" \
		limit rate over $RATE/second burst 200 packets counter drop
	echo "  $name: the transient dropped ${dropped:-?} datagrams"
	[ "${dropped:-0}" -ge 250 ]
}
rate_of() { # FILE: the rate found (binary) or the conditional throughput (mlr), 0 when none
	python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['sizes'][0]; print('%.0f' % (s['rate_fps'] if s['found'] else 0))" "$1"
}
within() { # VALUE LO HI (floats)
	python3 -c "import sys; v, lo, hi = map(float, sys.argv[1:]); sys.exit(0 if lo <= v <= hi else 1)" "$@"
}
size_check() { # FILE EXPR on s (the size) and d (the report)
	python3 - "$1" "$2" << 'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["sizes"][0]
ok = eval(sys.argv[2])
if not ok:
    print(json.dumps(s, indent=1)[:3000], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# without a transient both find the policer's rate
tput mlr_clean && check "MLRsearch finds the policed rate ($(rate_of "$T/mlr_clean.json"))" \
	within "$(rate_of "$T/mlr_clean.json")" $((RATE * 85 / 100)) $((RATE * 106 / 100))
# The binary search without a transient of ours: the control. It takes each trial as the truth, so on a
# loaded host a pause of the receiver in one of its trials makes it fall too (the very thing MLRsearch is
# for): of up to three runs, one finding the rate is reported, none is not a failure of this test.
found=
for i in 1 2 3; do
	tput binary_clean$i --search binary --trial-duration 1 || break
	r=$(rate_of "$T/binary_clean$i.json")
	found="$found $r"
	within "$r" $((RATE * 85 / 100)) $((RATE * 106 / 100)) && break
done
if within "${r:-0}" $((RATE * 85 / 100)) $((RATE * 106 / 100)); then
	echo "  the binary search without a transient found the policed rate (runs:$found)"
else
	echo "  the binary search without a transient fell in three runs too (runs:$found): this host is busy"
fi

# MLRsearch's report: the goal in RFC 9971's terms; the relevant bounds within the width; every trial with
# its load, duration, frames sent and received, and the bound it decided; the lower bound's decided by at
# least one final-length low-loss trial, the upper's by high-loss ones
check "MLRsearch's report: goal, bounds, the trials that decided them" size_check "$T/mlr_clean.json" \
	"d['start']['search'] == 'mlr' and d['start']['goal']['loss_ratio'] == 0 and \
	d['start']['goal']['exceed_ratio'] == 0.5 and d['start']['goal']['final_trial_s'] == 1 and \
	d['start']['goal']['duration_sum_s'] == 2 and s['regular'] and \
	s['relevant_lower_fps'] < s['relevant_upper_fps'] <= s['relevant_lower_fps'] / 0.98 + 1 and \
	s['conditional_throughput_fps'] == s['rate_fps'] and s['trials'] == len(s['trial_results']) and \
	all(t['received'] <= t['sent'] and t['duration_s'] in (0.25, 0.5, 1) for t in s['trial_results']) and \
	any(t['bound'] == 'lower' and t['duration_s'] == 1 and t['loss_ratio'] == 0 for t in s['trial_results']) and \
	all(t['loss_ratio'] > 0 for t in s['trial_results'] if t['bound'] == 'upper' and t['duration_s'] == 1) and \
	s['trial_results'][0]['duration_s'] == 0.25 and s['trial_results'][-1]['duration_s'] == 1"

# the transient: the binary search's result falls, MLRsearch's does not
tput_transient binary_transient --search binary --trial-duration 1 && check "binary search with a transient falls below half Max Load ($(rate_of "$T/binary_transient.json"))" \
	within "$(rate_of "$T/binary_transient.json")" 1 $((RATE * 10 / 8 / 2))
tput_transient mlr_transient && check "MLRsearch with a transient still finds the policed rate ($(rate_of "$T/mlr_transient.json"))" \
	within "$(rate_of "$T/mlr_transient.json")" $((RATE * 85 / 100)) $((RATE * 106 / 100))
check "MLRsearch measured the transient's load again" size_check "$T/mlr_transient.json" \
	"(lambda t: len([u for u in t if u['load_fps'] == t[1]['load_fps']]) >= 2 and t[1]['loss_ratio'] > 0)(s['trial_results'])"

# the text report: a trials table at the relevant bounds
if ip netns exec "$C" "$NBENCH" throughput "${HT[@]}" -q --trial-duration 0.5 > "$T/text.txt" 2> "$T/text.err"; then
	ok
	check "text: the MLRsearch header, the row, the trials at both bounds" python3 - "$T/text.txt" << 'PY'
import re, sys
t = open(sys.argv[1]).read()
ok = "MLRsearch, RFC 9971" in t and "trials at the relevant bounds:" in t and \
    re.search(r"^ +128 +lower ", t, re.M) and re.search(r"^ +128 +upper ", t, re.M)
if not ok:
    print(t, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
else
	bad "text report: $(tail -3 "$T/text.err")"
fi

# a steady loss: every 50th data datagram, at every load; neither finds a rate at goal loss 0
ip netns exec "$S" nft add rule inet nbt_mlr input udp dport "$port" udp length "$ULEN" numgen inc mod 50 == 0 counter drop
tput mlr_steady -q && check "MLRsearch with every 50th dropped: nothing at goal loss 0 (Min Load an upper bound)" \
	size_check "$T/mlr_steady.json" "not s['found'] and s['relevant_lower_fps'] is None and \
	s['result'] == 'min load is an upper bound' and s['relevant_upper_fps'] == s['min_fps']"
tput binary_steady -q --search binary --trial-duration 1 && check "binary search with every 50th dropped: nothing either" \
	size_check "$T/binary_steady.json" "not s['found'] and s['rate_fps'] == 0"
# a goal loss ratio above the 2% dropped finds the policed rate again
tput mlr_steady_2pct -q --goal-loss-ratio 3% && check "--goal-loss-ratio 3%: the policed rate again ($(rate_of "$T/mlr_steady_2pct.json"))" \
	within "$(rate_of "$T/mlr_steady_2pct.json")" $((RATE * 80 / 100)) $((RATE * 106 / 100))
finish
