#!/bin/bash
# TCP state (TCP_INFO) in stream and rr reports across a veth pair: present and sane on a clean path, on
# both sides (the responder's in its RESULT), in text, JSON and CSV; retransmits counted when an nft rule drops
# 1 in 50 of the data's packets (by the sender whichever side it is); none at all in UDP and crr reports.
. "$(dirname "$0")/lib.sh"
command -v nft > /dev/null || skip "nft is not installed"
veth_pair 10.197.0
port=$(free_port)
RESP_ADDR=10.197.0.2 start_responder "$port" "$S" || exit 1
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
H=(-H 10.197.0.2 -p "$port" -t 2 -i 0.5)

run() { # run NAME FORMAT ARGS...: the client's report (json, csv or txt) in $T/NAME.FORMAT
	local name=$1 fmt=$2 flag=(); shift 2
	[ "$fmt" = txt ] || flag=("--$fmt")
	if ! ip netns exec "$C" "$NBENCH" "$@" "${H[@]}" "${flag[@]}" > "$T/$name.$fmt" 2> "$T/$name.err"; then
		bad "$name exited non-zero: $(cat "$T/$name.err")"; return 1
	fi
	ok
}

# A sane TCP state object (python, of o): the kernel's figures, the sums of the flows' the total.
SANE='(lambda o: o is not None and o["cwnd_segments"] > 0 and o["mss_bytes"] > 0 and o["cwnd_bytes"] == o["cwnd_segments"] * o["mss_bytes"] and o["srtt_us"] > 0 and o["retransmits"] >= 0 and o["pacing_rate_bps"] > 0)'
FLOWS_SUM='all(sum(f[k]["retransmits"] for f in e["flows"]) == e[k]["retransmits"] and sum(f[k]["cwnd_bytes"] for f in e["flows"]) == e[k]["cwnd_bytes"] for k in ("tcp", "server_tcp"))'
EVERY_IV='len(d["intervals"]) >= 3 and all((lambda o: o is not None and o["cwnd_bytes"] > 0 and o["srtt_us"] > 0)(i["tcp"]) for i in d["intervals"])'
# the intervals' retransmits happened inside the window the end counts (its last sample comes a moment later)
IV_LE_END='sum(i["tcp"]["retransmits"] for i in d["intervals"] if not i["warmup"]) <= e["tcp"]["retransmits"]'

# A clean path: every figure there, on both sides, per flow and in every interval.
run st json stream -P 2 && check "stream: TCP state on both sides, per flow and per interval" json_check "$T/st.json" \
	"$STREAM_OK and $SANE(e['tcp']) and $SANE(e['server_tcp']) and all($SANE(f['tcp']) and $SANE(f['server_tcp']) for f in e['flows']) and $FLOWS_SUM and $EVERY_IV and $IV_LE_END"
run rr json rr && check "rr: TCP state on both sides" json_check "$T/rr.json" \
	"$RR_OK and $SANE(e['tcp']) and $SANE(e['server_tcp']) and $EVERY_IV and $IV_LE_END"
run st_txt txt stream
# text: iperf3's Retr and Cwnd columns on the interim lines, and a line for each side
check "stream text: interval columns" grep -qE '^\[  interval \(s\) \] +goodput +retr +cwnd +srtt$' "$T/st_txt.txt"
check "stream text: interim lines carry them" grep -qE '^\[ *[0-9.]+- *[0-9.]+ s\] +[0-9.]+ [GM]bit/s +[0-9]+ +[0-9.]+ [KMG]?i?B +[0-9.]+ [mu]?s$' "$T/st_txt.txt"
check "stream text: the client sends" grep -qE '^tcp client +sender: retransmits [0-9]+.*cwnd .*srtt .*pacing ' "$T/st_txt.txt"
check "stream text: the server receives" grep -qE '^tcp server +receiver: retransmits [0-9]+, cwnd ' "$T/st_txt.txt"
run st_csv csv stream && check "stream csv: the TCP columns filled" python3 -c '
import csv, sys
h, r = list(csv.reader(open(sys.argv[1])))
row = dict(zip(h, r))
sys.exit(not (len(h) == len(r) and all(row[k] != "" for k in h if "tcp_" in k) and int(row["tcp_cwnd_bytes"]) > 0 and int(row["server_tcp_srtt_us"]) > 0))' "$T/st_csv.csv"

# UDP and crr have no TCP state: no key of it, empty CSV columns
run udp json stream --proto udp && check "udp stream: no TCP state" json_check "$T/udp.json" \
	"$STREAM_OK and 'tcp' not in e and 'server_tcp' not in e and all('tcp' not in i for i in d['intervals']) and all('tcp' not in f for f in e['flows'])"
run udp_rr json rr --proto udp && check "udp rr: no TCP state" json_check "$T/udp_rr.json" "$RR_OK and 'tcp' not in e and all('tcp' not in i for i in d['intervals'])"
run crr json crr && check "crr: no TCP state" json_check "$T/crr.json" "$RR_OK and 'tcp' not in e"
run udp_csv csv stream --proto udp && check "udp csv: the TCP columns empty" python3 -c '
import csv, sys
h, r = list(csv.reader(open(sys.argv[1])))
sys.exit(not all(v == "" for k, v in zip(h, r) if "tcp_" in k))' "$T/udp_csv.csv"

# A lossy path: 1 in 50 of the TCP packets to NS's data port (or from it) dropped on the way in. The
# control connection shares the port and recovers as any TCP connection does.
drop_rule() { # drop_rule NS dport|sport
	ip netns exec "$1" nft -f - <<NFT
table inet nbt_tcploss {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp $2 $port numgen random mod 50 == 0 counter drop
	}
}
NFT
}
dropped() { ip netns exec "$1" nft list table inet nbt_tcploss | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }

drop_rule "$S" dport || exit 1
CLEANUPS+=("ip netns exec $S nft delete table inet nbt_tcploss")
run loss json stream && check "lossy forward stream: the client (sender) retransmitted ($(dropped "$S") packets dropped)" \
	json_check "$T/loss.json" "$STREAM_OK and $TCP_BALANCE and e['tcp']['retransmits'] > 0 and sum(i['tcp']['retransmits'] for i in d['intervals']) > 0 and $IV_LE_END and $SANE(e['server_tcp'])"
run loss_rr json rr && check "lossy rr: the client retransmitted requests" json_check "$T/loss_rr.json" \
	"$RR_OK and e['tcp']['retransmits'] > 0"
check "the rule dropped packets" test "$(dropped "$S")" -gt 0
ip netns exec "$S" nft delete table inet nbt_tcploss
# the responder sends: drop on the client's way in, and the responder's side counts its retransmits
drop_rule "$C" sport || exit 1
CLEANUPS+=("ip netns exec $C nft delete table inet nbt_tcploss")
run loss_rev json stream --reverse && check "lossy reverse stream: the responder (sender) retransmitted ($(dropped "$C") packets dropped)" \
	json_check "$T/loss_rev.json" "$STREAM_OK and $TCP_BALANCE and e['server_tcp']['retransmits'] > 0 and e['flows'][0]['server_tcp']['retransmits'] == e['server_tcp']['retransmits']"
ip netns exec "$C" nft delete table inet nbt_tcploss
check "responder alive" kill -0 "$RESP_PID"
finish
