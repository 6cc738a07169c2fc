#!/bin/bash
# Every report names its interfaces and says what they counted in the measured window: on a path nbench
# builds (veth), with drops made on its wire, in JSON, text and CSV; and for -H, the interface the route
# to the responder takes.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (CAP_NET_ADMIN) to build paths"
ip netns add nbt-probe-$$ 2>/dev/null || skip "cannot create network namespaces"
ip netns del nbt-probe-$$
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")

# 1. a path's interfaces: both veth ends, named, with driver veth, and traffic counted over the window
# (the counters are snapshotted just after MEASURE and before STOP: a window a fraction of a millisecond
# shorter than the transactions' own, hence the 0.9)
if timeout 120 "$NBENCH" rr --path native -t 1 --json > "$T/rr.json" 2> "$T/rr.err"; then
	ok
	check "rr --path native names its veth interfaces" json_check "$T/rr.json" \
		"len(d['start']['interfaces']) == 2 and all(i['driver'] == 'veth' and i['name'].startswith('nb-') and i['netns'].startswith('nb-') for i in d['start']['interfaces'])"
	check "rr --path native counts its packets" json_check "$T/rr.json" \
		"[i['name'] for i in e['interfaces']] == [i['name'] for i in d['start']['interfaces']] and all(i['counters']['rx_packets'] >= 0.9 * e['transactions'] for i in e['interfaces'])"
	check "a clean run has no drop note" json_check "$T/rr.json" \
		"not any('DROPS' in n for n in e['notes']) and not any(v for i in e['interfaces'] for k, v in i['counters'].items() if 'drop' in k)"
else
	bad "rr --path native failed: $(cat "$T/rr.err")"
fi

# 2. drops on the wire: the server end's MTU below the datagrams sent at it during the run, so veth
# drops them (rx_dropped on one end, tx_dropped on the other) while the small rr packets pass
N=nic$$; N=${N:0:10}
if "$NBENCH" topo up native --name "$N" > /dev/null 2> "$T/up.err"; then
	CLEANUPS+=("$NBENCH topo down $N")
	ip netns exec "nb-$N-host" ip link set "nb-$N-h" mtu 1000
	(
		while :; do
			ip netns exec "nb-$N-remote" bash -c 'head -c 1400 /dev/zero > /dev/udp/10.77.0.2/9' 2> /dev/null
			sleep 0.05
		done
	) &
	sender=$!
	PIDS+=($sender)
	for fmt in json text csv counters; do
		flag=(); [ $fmt = text ] || flag=(--$fmt)
		[ $fmt = counters ] && flag=(-v)
		timeout 60 "$NBENCH" rr --topo "$N" -t 1 --warmup 0.5 "${flag[@]}" > "$T/drop.$fmt" 2> "$T/drop.err" ||
			bad "rr --topo $N --$fmt failed: $(cat "$T/drop.err")"
	done
	kill $sender; wait $sender 2> /dev/null
	check "the drops are counted" json_check "$T/drop.json" \
		"[i['counters'].get('rx_dropped', 0) > 0 for i in e['interfaces']] == [False, True] and e['interfaces'][0]['counters'].get('tx_dropped', 0) > 0"
	check "the drops are noted" json_check "$T/drop.json" \
		"any('DROPS' in n and 'nb-$N-h: rx_dropped +' in n for n in e['notes'])"
	check "text: one line per interface, the drops named" grep -q "^  rx [0-9]* packets .*; DROPS/ERRORS: .*rx_dropped +[1-9]" "$T/drop.text"
	check "text: no counter block by default" bash -c "! grep -q '^  rx_packets ' '$T/drop.text'"
	check "-v shows the non-zero deltas" grep -q "^  rx_dropped  *+[1-9]" "$T/drop.counters"
	check "text note" grep -q "^note: DROPS/ERRORS.*nb-$N-h: rx_dropped" "$T/drop.text"
	check "-v hides zero deltas" bash -c "! grep -q '^  .* +0\$' '$T/drop.counters'"
	check "csv has the columns, the drops in them" python3 - "$T/drop.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 1, rows
r = rows[0]
assert r["drivers"] == "veth", r
assert int(r["if_drops"]) > 0 and int(r["if_errors"]) == 0, r
PY
	"$NBENCH" topo down "$N" > /dev/null
else
	bad "topo up native: $(cat "$T/up.err")"
fi

# 3. -H: the interface the route takes (here lo), counted the same way; and the responder's own side, which
# it reports in its result: by default the interface its route to the client takes (lo again)
PORT=$(free_port)
start_responder "$PORT"
if timeout 60 "$NBENCH" rr -H 127.0.0.1 -p "$PORT" -t 1 --json > "$T/lo.json" 2> "$T/lo.err"; then
	check "-H names the route's interface" json_check "$T/lo.json" \
		"[i['name'] for i in d['start']['interfaces']] == ['lo'] and e['interfaces'][0]['counters']['rx_packets'] >= 1.8 * e['transactions']"
	check "-H names the server's interface" json_check "$T/lo.json" \
		"[i['name'] for i in d['start']['server_interfaces']] == ['lo'] and d['start']['server_interfaces'][0]['netns'] is None and e['server_interfaces'][0]['counters']['tx_packets'] >= 1.8 * e['transactions'] and e['server_interfaces'][0]['counters_left_out'] == 0"
else
	bad "rr -H failed: $(cat "$T/lo.err")"
fi

# 4. serve --nic: the interfaces named, in the namespace named, instead of the route's; text and CSV carry
# them as the server's
N2=nicb$$; N2=${N2:0:10}
if "$NBENCH" topo up native --name "$N2" > /dev/null 2> "$T/up2.err"; then
	CLEANUPS+=("$NBENCH topo down $N2")
	PORT=$(free_port)
	start_responder "$PORT" "" --nic "nb-$N2-host:nb-$N2-h" --nic lo
	for fmt in json text csv; do
		flag=(); [ $fmt = text ] || flag=(--$fmt)
		timeout 60 "$NBENCH" rr -H 127.0.0.1 -p "$PORT" -t 1 "${flag[@]}" > "$T/nic.$fmt" 2> "$T/nic.err" ||
			bad "rr -H with serve --nic, --$fmt: $(cat "$T/nic.err")"
	done
	check "serve --nic: both, in order, the veth in its namespace, lo counting the run" json_check "$T/nic.json" \
		"[(i['name'], i['netns'], i['driver']) for i in d['start']['server_interfaces']] == [('nb-$N2-h', 'nb-$N2-host', 'veth'), ('lo', None, None)] and e['server_interfaces'][1]['counters']['rx_packets'] >= 1.8 * e['transactions']"
	check "text: the server's interfaces marked" grep -q "^nic:       (server) nb-$N2-h in nb-$N2-host: driver veth" "$T/nic.text"
	check "text: the server's lo after the client's" python3 - "$T/nic.text" <<'PY'
import sys
t = open(sys.argv[1]).read()
c, s = t.find("nic:       lo: "), t.find("nic:       (server) lo: ")
assert 0 <= c < s, t
PY
	check "csv: the server's columns" python3 - "$T/nic.csv" <<'PY'
import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))[0]
assert r["server_drivers"] == "veth;unknown" and r["server_if_drops"] == "0" and r["server_if_errors"] == "0", r
PY
	"$NBENCH" topo down "$N2" > /dev/null
else
	bad "topo up native: $(cat "$T/up2.err")"
fi
out=$("$NBENCH" serve --nic bad/name 2>&1) && bad "serve --nic bad/name started"
check "serve --nic refuses a bad name in one line" test "$(wc -l <<< "$out")" = 1
finish
