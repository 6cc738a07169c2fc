#!/bin/bash
# nbench throughput's searches on a wire of known capacity: a veth pair between two throwaway namespaces whose
# client side a tbf qdisc shapes to 50 Mbit/s. The zero-loss rate the binary search (--search binary) finds
# is that rate (within a generous 15%: tbf counts the frame without FCS, the search stops at its
# resolution), and so is MLRsearch's conditional throughput; with an nft rule dropping every 50th datagram
# nothing passes at --loss 0, and --loss 5 (above the 2% drop ratio) finds the shaped rate again. rr --load
# reports the idle probe, the loaded one and the load achieved. (tests/e2e/mlr.sh sets the two searches
# against a transient loss.)
. "$(dirname "$0")/lib.sh"
command -v nft > /dev/null || skip "nft is not installed"
command -v tc > /dev/null || skip "tc is not installed"
veth_pair 10.199.1
SHAPED_BPS=50000000
tc -n "$C" qdisc add dev veth0 root tbf rate 50mbit burst 32kb latency 20ms || skip "no tbf qdisc"
port=$(free_port)
RESP_ADDR=10.199.1.2 start_responder "$port" "$S" || exit 1
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
# The bound is twice the shaped rate (L1 of 1518-byte frames), so the search does not depend on how fast
# this machine's sender is; 2% of it is the resolution.
H=(-H 10.199.1.2 -p "$port" --sizes 1518 --trial 1 --max-rate 100M --resolution 2% --json -q --search binary)

tput() {
	local name=$1; shift
	if ! ip netns exec "$C" "$NBENCH" throughput "${H[@]}" "$@" > "$T/$name.json" 2> "$T/$name.err"; then
		bad "throughput $name exited non-zero: $(cat "$T/$name.err")"; return 1
	fi
	ok
}
# tbf counts the frame as the kernel sends it: the L2 frame without its 4-byte FCS.
near_shaped="abs(s['rate_fps'] * (s['frame_bytes'] - 4) * 8 - $SHAPED_BPS) <= 0.15 * $SHAPED_BPS"
size_check() { # FILE EXPR on s, the first size
	python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["sizes"][0]
ok = d["kind"] == "throughput" and eval(sys.argv[2])
if not ok:
    print(json.dumps(s, indent=1), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

tput shaped && check "zero-loss rate is tbf's 50 Mbit/s" size_check "$T/shaped.json" \
	"s['found'] and s['udp_payload_bytes'] == 1472 and $near_shaped and s['frames_lost'] == 0 and \
	s['trials'] >= 2 and s['fail_fps'] > s['rate_fps'] and abs(s['l1_bps'] - s['rate_fps'] * 1538 * 8) < 1"

# MLRsearch (the default; the last --search wins) on the same wire: its conditional throughput is the
# shaped rate, below its relevant upper bound, and its trials name the bounds they decided
tput mlr --search mlr && check "MLRsearch: the conditional throughput is tbf's 50 Mbit/s" size_check "$T/mlr.json" \
	"s['found'] and s['regular'] and $near_shaped and s['relevant_lower_fps'] < s['relevant_upper_fps'] and \
	d['start']['search'] == 'mlr' and len(s['trial_results']) == s['trials'] and \
	{t['bound'] for t in s['trial_results']} == {None, 'lower', 'upper'}"

# --latency: the probe at 10/50/90/100% of the rate found, each with the load achieved
tput latency --latency --resolution 10% && check "--latency probes at four loads" size_check "$T/latency.json" \
	"s['found'] and [l['load_pct'] for l in s['latency']] == [10, 50, 90, 100] and \
	all(l['complete'] and l['transactions'] > 0 and 0 < l['latency_ns']['p50'] <= l['latency_ns']['max'] and \
	abs(l['achieved_fps'] - l['offered_fps']) <= 0.15 * l['offered_fps'] for l in s['latency'])"

# sizes the engine cannot send are named, the others searched
tput small --sizes 32,64 --max-rate 20M --resolution 10% && check "a frame below 64 bytes is named" \
	python3 -c "import json,sys; d=json.load(open('$T/small.json')); a,b=d['sizes']; \
sys.exit(0 if 'unsupported' in a and a['frame_bytes']==32 and 'unsupported' not in b and b['udp_payload_bytes']==18 else 1)"

# Every 50th datagram to the data port dropped on the way in (the control connection is TCP).
ip netns exec "$S" nft -f - <<NFT || exit 1
table inet nbt_tput {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport $port numgen inc mod 50 == 0 counter drop
	}
}
NFT
tput dropped && check "every 50th dropped: no zero-loss rate" size_check "$T/dropped.json" \
	"not s['found'] and s['rate_fps'] == 0 and 1.5 <= s['fail_loss_pct'] <= 2.5"
tput partial --loss 5 && check "--loss 5 above the 2% drops finds the shaped rate" size_check \
	"$T/partial.json" "s['found'] and $near_shaped and 1.5 <= s['loss_pct'] <= 5"
ip netns exec "$S" nft delete table inet nbt_tput

# Latency under load: a UDP probe beside a 20 Mbit/s stream on the 50 Mbit/s wire.
if ip netns exec "$C" "$NBENCH" rr -H 10.199.1.2 -p "$port" -t 1 --load 20M --json > "$T/load.json" \
	2> "$T/load.err"; then
	ok
	check "rr --load: idle and loaded probes, the load achieved" json_check "$T/load.json" \
		"e['load']['offered_bps'] == 20e6 and 0.8 * 20e6 <= e['load']['achieved_bps'] <= 1.1 * 20e6 and \
		e['load']['idle']['transactions'] > 0 and e['transactions'] > 0 and \
		0 < e['load']['idle']['latency_ns']['p50'] <= e['load']['idle']['latency_ns']['max'] and \
		e['latency_ns']['p50'] > 0 and e['load']['proto'] == 'udp'"
else
	bad "rr --load exited non-zero: $(cat "$T/load.err")"
fi
finish
