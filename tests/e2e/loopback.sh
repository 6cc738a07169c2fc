#!/bin/bash
# The CLI as a user runs it, on loopback: every test kind, JSON invariants, text and CSV output.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
start_responder "$port" "" || exit 1
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
H=(-H 127.0.0.1 -p "$port" -t 1)

run() { # run NAME args...: json report in $T/NAME.json
	local name=$1; shift
	if ! "$NBENCH" "$@" "${H[@]}" --json > "$T/$name.json" 2> "$T/$name.err"; then
		bad "$name exited non-zero: $(cat "$T/$name.err")"; return 1
	fi
	ok
}

run rr_tcp rr && check "rr tcp invariants" json_check "$T/rr_tcp.json" "$RR_OK and e['timeouts'] == 0"
# the CPU split is a partition of busy (issue 19: the tick samples summed to 560 ms of a 330 ms busy)
CPU_SPLIT='(lambda c: c["user_ns"] + c["system_ns"] + c["softirq_ns"] + c["irq_ns"] in (0, c["busy_ns"]))(e["cpu"])'
check "rr tcp: user + system + softirq + irq = busy" json_check "$T/rr_tcp.json" "$CPU_SPLIT"
run rr_udp rr --proto udp && check "rr udp invariants" json_check "$T/rr_udp.json" "$RR_OK"
# (requests in flight at once, as the responder sees them, are checked in tests/core/test_workload.c)
run rr_depth rr --depth 8 -r 64,1000 && check "rr depth 8" json_check "$T/rr_depth.json" "$RR_OK"
run rr_rate rr --rate 2000 && check "rr open loop ~2000/s" json_check "$T/rr_rate.json" "$RR_OK and 1500 < e['transactions_per_s'] < 2100"
run rr_par rr -P 3 --spin && check "rr 3 flows spinning" json_check "$T/rr_par.json" "$RR_OK and len(e['flows']) == 3"
run rr_udp_spin rr --proto udp --spin --cpu-gen 0 --cpu-resp 1 && check "udp rr spinning ends and reports" json_check "$T/rr_udp_spin.json" "$RR_OK"
run st_udp_spin stream --proto udp --spin && check "udp stream spinning ends" json_check "$T/st_udp_spin.json" "$STREAM_OK"
run rr_pin rr --cpu-gen 0 --cpu-resp 0 && check "rr pinned" json_check "$T/rr_pin.json" "$RR_OK and d['start']['placement']['gen_cpus'] == '0' and d['start']['placement']['resp_cpus'] == '0'"
# an unpinned round trip says why it is slower than compare's pinned one, and how to pin (on more than one CPU)
UNPINNED='any(n.startswith("unpinned:") for n in e["notes"])'
check "unpinned rr: the placement note" json_check "$T/rr_tcp.json" "$UNPINNED or d['start']['client']['ncpus'] == 1"
check "pinned rr: no placement note" json_check "$T/rr_pin.json" "not $UNPINNED"
# (SO_BUSY_POLL is read back with getsockopt in tests/core/test_engine_sock.c)
run rr_bp rr --busy-poll 50 && check "rr busy-poll runs" json_check "$T/rr_bp.json" "$RR_OK"
run crr crr && check "crr invariants" json_check "$T/crr.json" "$RR_OK"
# the responder's CPU in crr is its worker's (issue 19: it was '-', all of it unattributed)
check "crr: the responder's CPU is measured" json_check "$T/crr.json" "e['cpu']['resp_cpu_ns'] > 0"
run st_tcp stream && check "stream tcp balances" json_check "$T/st_tcp.json" "$STREAM_OK and $TCP_BALANCE"
run st_rev stream --reverse -P 2 && check "reverse stream balances" json_check "$T/st_rev.json" "$STREAM_OK and $TCP_BALANCE and len(e['flows']) == 2"
run st_udp stream --proto udp && check "udp stream counts" json_check "$T/st_udp.json" "$STREAM_OK and e['packets_received'] <= e['packets_sent']"
run st_udp_rev stream --proto udp --reverse && check "udp reverse stream" json_check "$T/st_udp_rev.json" "$STREAM_OK and e['packets_received'] <= e['packets_sent']"
# the receiver's window is the run: goodput x duration is what arrived (a window stretched to the STOP was 10% off)
UDP_WINDOW="abs(e['goodput_bps'] * e['duration_s'] - e['bytes_received'] * 8) <= 0.03 * e['bytes_received'] * 8"
run st_paced stream --proto udp -b 50M && check "udp stream paced to 50 Mbit/s" json_check "$T/st_paced.json" "$STREAM_OK and 0 < e['goodput_bps'] <= 5e7 * 1.02 and $UDP_WINDOW"
run st_paced_rev stream --reverse -P 2 --rate 200M && check "reverse tcp stream paced to 200 Mbit/s" json_check "$T/st_paced_rev.json" "$STREAM_OK and $TCP_BALANCE and 0 < e['goodput_bps'] <= 2e8 * 1.02"
run st_warm stream --warmup 0.5 -i 0.25 && check "warm-up intervals marked" json_check "$T/st_warm.json" "$STREAM_OK and any(i['warmup'] for i in d['intervals']) and not d['intervals'][-1]['warmup'] and abs(e['duration_s'] - 1) < 0.05"

# text: interim lines then the summary; CSV: a header and one row with the same columns
out=$("$NBENCH" rr "${H[@]}" 2>&1); check "text report has latency" grep -q 'p99.9' <<< "$out"
check "text report has interim lines" grep -q 'tx/s' <<< "$out"
# what runs where comes before the numbers, once (issue 19: the interim lines came first, with no context);
# a text -o file is the whole report with its head
check "text: the title line first" grep -q '^nbench [0-9.]*: rr tcp to 127.0.0.1' <<< "$(head -n 1 <<< "$out")"
check "text: settings and hosts before the first interim line" python3 -c '
import sys; t = sys.stdin.read().split("\n")
first = min(i for i, l in enumerate(t) if l.startswith("[  interval"))
head = [l.split(":")[0] for l in t[:first]]
sys.exit(not ("settings" in head and "hosts" in head and any(l.startswith("placement:") for l in t[first:])))' <<< "$out"
check "text: the head once" test "$(grep -c '^nbench [0-9.]*: \|^settings:\|^hosts:' <<< "$out")" = 3
"$NBENCH" rr "${H[@]}" -o "$T/out.txt" > /dev/null 2>&1
check "text -o: the whole report" test "$(grep -c '^nbench [0-9.]*: \|^settings:\|^hosts:\|^placement:' "$T/out.txt")" = 4
out=$("$NBENCH" rr "${H[@]}" -q 2>&1)
check "text -q: the head first, no interim lines" bash -c '[[ "$1" == "nbench "* ]] && ! grep -q "tx/s" <<< "$1"' _ "$out"
csv=$("$NBENCH" rr "${H[@]}" --csv)
check "csv has 2 lines" test "$(wc -l <<< "$csv")" = 2
check "csv columns match" python3 -c "import csv,sys; r=list(csv.reader(sys.stdin)); sys.exit(not (len(r) == 2 and len(r[0]) == len(r[1]) and r[1][0] == 'rr'))" <<< "$csv"
"$NBENCH" rr "${H[@]}" -q -o "$T/out.json" --json > /dev/null
check "-o writes the report" json_check "$T/out.json" "$RR_OK"

# the responder served all of that one test after another and is still alive
check "responder alive" kill -0 "$RESP_PID"

# A run that fails half way (the responder is killed) still reports what it measured, marked incomplete.
port2=$(free_port)
start_responder "$port2" "" || exit 1
( sleep 1.2; kill -9 "$RESP_PID" ) &
rc=0; "$NBENCH" rr -H 127.0.0.1 -p "$port2" -t 4 --json > "$T/inc.json" 2> "$T/inc.err" || rc=$?
check "failed run exits 1" test "$rc" = 1
check "failed run is marked incomplete, keeps its figures" json_check "$T/inc.json" "not e['complete'] and e['error'] and e['transactions'] > 0 and e['duration_s'] < 3"
finish
