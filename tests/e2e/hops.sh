#!/bin/bash
# --hops across the paths, both backends: segments that add up to the round trip, the overhead, compare's
# subtraction beside the hops that bridge and nat add; ebpf: crr's handshake, the records checked against the
# generator's log, the refusals where BPF cannot run (a missing BTF file, no capabilities), and programs gone
# with the process that loaded them (kill -9).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF) to build paths and capture"
ip netns add nbt-probe-$$ 2>/dev/null || skip "cannot create network namespaces"
ip netns del nbt-probe-$$
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
before=$(ip netns list | awk '/^nb-/{print $1}' | sort)

# the JSON's hops: ordered segments, each p50 <= p90 <= p99, the means adding up to the mean round trip of the
# decomposed transactions (rounding only), shares to 1, and both runs' round trips
HOPS_OK='(lambda e, h, c: len(h) >= 5 and h[0]["segment"] in ("client stack out", "client syscall", "client connect")
 and h[-1]["segment"] in ("client stack in", "client wake-up")
 and sum(s["segment"] == "server" for s in h) == 1 and all(s["p50_ns"] <= s["p90_ns"] <= s["p99_ns"] for s in h)
 and abs(sum(s["mean_ns"] for s in h) - c["rtt_mean_ns"]) <= 1e-6 * c["rtt_mean_ns"] + 1e-3
 and abs(sum(s["share"] for s in h) - 1) < 1e-6 and c["decomposed"] > 0.9 * c["transactions"]
 and c["runs_without"] == 1 and c["runs_with"] == 1 and c["rtt_mean_without_capture_ns"] > 0
 and abs(c["overhead_ns"] - (c["rtt_mean_with_capture_ns"] - c["rtt_mean_without_capture_ns"])) < 1
 and all(s["samples"] == c["decomposed"] for s in h))(d["end"], d["end"]["hops"], d["end"]["hops_capture"])'
# ebpf: its probes counted; the newest transactions' records start at the send time the generator logged and
# end before its receive; the hops' interfaces are the path's
EBPF_OK='(lambda c: c["backend"] == "ebpf" and c["probe_hits_per_txn"] >= len([h for h in d["end"]["hops"] if h["to_if"]])
 and c["records_checked"] > 1000 and c["records_consistent"] == c["records_checked"] and 0 <= c["tail_ns"] < 1e6
 and c["clock"].startswith("bpf_ktime_get_ns"))(d["end"]["hops_capture"])'

hops_run() { # hops_run NAME BACKEND NSEGMENTS args...
	local name=$1 backend=$2 nseg=$3; shift 3
	if timeout 120 "$NBENCH" rr --hops="$backend" -t 1 --json "$@" > "$T/$name.json" 2> "$T/$name.err"; then
		ok
		check "$name: segments add up to the round trip" json_check "$T/$name.json" "${HOPS_OK/0.9 \*/${SEEN:-0.9} *}"
		check "$name: $nseg segments" json_check "$T/$name.json" "len(d['end']['hops']) == $nseg"
		check "$name: backend $backend" json_check "$T/$name.json" "d['end']['hops_capture']['backend'] == '$backend'"
		[ "$backend" = ebpf ] && check "$name: probes and records" json_check "$T/$name.json" "$EBPF_OK"
	else
		bad "$name exited non-zero: $(cat "$T/$name.err")"
	fi
}
# pcap: native has 2 interfaces (the wire's ends): 5 segments; bridge and nat 5 interfaces, 11 segments.
# ebpf adds the sockets' points: TCP's departure at both ends, the receiving socket at both ends and the
# generator's receive (native 9, bridge and nat 15); UDP has no departure point (native 7, bridge 13).
hops_run native_tcp_ebpf ebpf 9 --path native
hops_run bridge_udp_ebpf ebpf 13 --path bridge --proto udp
hops_run nat_tcp_ebpf ebpf 15 --path nat
# two transactions in flight per flow: no notes from the generator, so TCP's send call and the receive call
# are hooked instead (the same points, from other hooks)
# are hooked instead (the same points, from other hooks); a message that shares a packet with the one before
# is not seen on the interfaces, so fewer are decomposed
SEEN=0.25 hops_run native_depth2_ebpf ebpf 9 --path native --depth 2
hops_run native_tcp_pcap pcap 5 --path native
hops_run bridge_udp_pcap pcap 11 --path bridge --proto udp
hops_run nat_tcp_pcap pcap 11 --path nat
# issue 19: a message crosses a path's interfaces back in the order it crossed them out, whatever the protocol
# (pcap stamps a bridge and its port with one time on the way back: UDP's order came out c > b > v)
hops_run bridge_tcp_pcap pcap 11 --path bridge
ORDER='(lambda h: [x["to_if"] for x in h if x["direction"] == "back" and x["to_if"]] == [x["to_if"] for x in h if x["direction"] == "out" and x["to_if"]][::-1][1:])(d["end"]["hops"])'
for n in bridge_udp_pcap bridge_tcp_pcap bridge_udp_ebpf nat_tcp_ebpf nat_tcp_pcap; do
	check "$n: back through the interfaces in the reverse of the way out" json_check "$T/$n.json" "$ORDER"
done

# crr: the handshake (the connect call, the SYN out, the server's SYN-ACK, back, established) before the
# transaction: 4 SYN hops and 4 SYN-ACK hops on nat's 5 interfaces
if timeout 120 "$NBENCH" crr --hops -t 1 --json --path nat > "$T/crr.json" 2> "$T/crr.err"; then
	ok
	check "crr: segments add up" json_check "$T/crr.json" "$HOPS_OK"
	check "crr: the handshake apart" json_check "$T/crr.json" \
		"(lambda n: n.count('SYN hop out') == 4 and n.count('SYN-ACK hop back') == 4 and
		  n.count('server handshake') == 1 and n.count('hop out') == 4 and n.index('hop out') > n.index('connect in')
		  and all(s['direction'] in ('connect', 'server') for s in d['end']['hops'][:n.index('connect in') + 1])
		 )([s['segment'] for s in d['end']['hops']])"
	check "crr: records" json_check "$T/crr.json" "$EBPF_OK"
else
	bad "crr --hops exited non-zero: $(cat "$T/crr.err")"
fi

# another test on the same port in other namespaces at the same time (tracepoints see every namespace): none
# of its transactions may land in this run's decomposition
"$NBENCH" rr --path native -t 8 -q > /dev/null 2>&1 &
other=$!
PIDS+=($other)
sleep 2
if timeout 120 "$NBENCH" rr --hops=ebpf --path native -t 2 --json > "$T/beside.json" 2> "$T/beside.err"; then
	ok
	check "beside another test: only this run's transactions" json_check "$T/beside.json" \
		"(lambda c: c['decomposed'] <= c['transactions'] + 2 and
		  all(s['unmatched'] <= 0.01 * c['transactions'] for s in d['end']['hops']))(d['end']['hops_capture'])"
else
	bad "beside another test: $(cat "$T/beside.err")"
fi
wait $other

# text: the waterfall and the overhead line; CSV: the second table
if timeout 120 "$NBENCH" rr --hops -t 0.5 --path native -q > "$T/text.txt" 2>&1; then
	ok
	check "text waterfall" grep -q "^  client stack out socket > " "$T/text.txt"
	check "text overhead" grep -q "probe overhead: mean round trip" "$T/text.txt"
	check "text probes" grep -q "^  probes: .* hits per transaction" "$T/text.txt"
else
	bad "rr --hops text: $(cat "$T/text.txt")"
fi
# live text: the head once, the run without capture's lines, then the run with capture's, said as such
if timeout 120 "$NBENCH" rr --hops -t 1 -i 0.5 --path native > "$T/live.txt" 2>&1; then
	ok
	check "live text: head once, two runs' lines, the second announced" python3 - "$T/live.txt" <<'PY'
import sys
t = open(sys.argv[1]).read().split("\n")
runs = [i for i, l in enumerate(t) if l.startswith("[  0.00-")]
said = [i for i, l in enumerate(t) if l.startswith("(the same test again, with its hops timed")]
assert t[0].startswith("nbench ") and sum(l.startswith("settings:") for l in t) == 1, t[:3]
assert len(runs) == 2 and said == [runs[1] - 1], (runs, said)
PY
else
	bad "rr --hops live text: $(cat "$T/live.txt")"
fi
if timeout 120 "$NBENCH" rr --hops=pcap -t 0.5 --path native --csv > "$T/h.csv" 2>&1; then
	ok
	check "csv hops table" grep -q "^path,segment,from_if,to_if,direction,netns,unseen,p50_ns" "$T/h.csv"
else
	bad "rr --hops csv: $(cat "$T/h.csv")"
fi

expect_usage() { local rc=0; "$NBENCH" "$@" > /dev/null 2> "$T/usage.err" || rc=$?; check "usage error: $*" test "$rc" = 2; }
expect_usage rr --hops -H 127.0.0.1 -t 1
expect_usage rr --hops --path native -r 8,8 -t 1
expect_usage stream --hops --path native -t 1
expect_usage rr --hops=bogus --path native -t 1
expect_usage crr --hops=pcap --path native -t 1

# where eBPF cannot run: no BTF (NBENCH_BTF names a file that is not there), or no capabilities. --hops=ebpf
# refuses in one line, exit 2, before building anything; crr (which pcap cannot split) too; --hops falls
# back to pcap, says why in one line and in the report.
rc=0; NBENCH_BTF=$T/no-btf "$NBENCH" rr --hops=ebpf --path native -t 1 > /dev/null 2> "$T/nobtf.err" || rc=$?
check "no BTF: --hops=ebpf exits 2" test "$rc" = 2
check "no BTF: one line naming the BTF file" one_line_err "$T/nobtf.err" "no kernel BTF at $T/no-btf"
rc=0; NBENCH_BTF=$T/no-btf "$NBENCH" crr --hops --path native -t 1 > /dev/null 2> "$T/nobtf-crr.err" || rc=$?
check "no BTF: crr --hops exits 2" test "$rc" = 2
if NBENCH_BTF=$T/no-btf timeout 120 "$NBENCH" rr --hops --path native -t 0.5 --json > "$T/fallback.json" 2> "$T/fallback.err"; then
	ok
	check "no BTF: --hops says so in one line" one_line_err "$T/fallback.err" "eBPF cannot run here (no kernel BTF"
	check "no BTF: --hops falls back to pcap" json_check "$T/fallback.json" \
		"(d['end']['hops_capture']['backend'] == 'pcap' and d['end']['hops_capture']['overhead_ns'] != 0 and
		  any('fell back to pcap' in n for n in d['end']['notes']))"
else
	bad "no BTF: --hops failed: $(cat "$T/fallback.err")"
fi
if command -v capsh > /dev/null; then
	rc=0
	capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin -- -c "exec $NBENCH rr --hops=ebpf --path native -t 1" \
		> /dev/null 2> "$T/nocap.err" || rc=$?
	check "no CAP_BPF: --hops=ebpf exits 2" test "$rc" = 2
	check "no CAP_BPF: one line naming the capability" one_line_err "$T/nocap.err" "CAP_BPF"
else
	echo "note: capsh missing (libcap2-bin): the capability refusal is not checked"
fi

# kill -9 in the middle of a run with the probes attached: the kernel drops the programs with the process's
# file descriptors (nothing is pinned); the ids are the ones its fdinfo listed
# (rr --hops runs without the probes first: they are attached in its second run)
"$NBENCH" rr --hops=ebpf --path native -t 5 -q > /dev/null 2>&1 &
pid=$!
PIDS+=($pid)
ids=
for _ in $(seq 100); do
	ids=$(grep -h '^prog_id:' /proc/$pid/fdinfo/* 2> /dev/null | awk '{print $2}' | sort -u)
	[ -n "$ids" ] && [ "$(grep -l '^link_id:' /proc/$pid/fdinfo/* 2> /dev/null | wc -l)" -ge 3 ] && break
	sleep 0.2
done
check "kill -9: the run had its programs attached" test -n "$ids"
kill -9 $pid; wait $pid 2> /dev/null
"$NBENCH" topo down --all > /dev/null 2>&1
left=
for _ in $(seq 50); do
	left=
	for id in $ids; do bpftool prog show id "$id" > /dev/null 2>&1 && left="$left $id"; done
	[ -z "$left" ] && break
	sleep 0.1
done
check "kill -9: no program left (ids:$left)" test -z "$left"

# compare --hops: the hops bridge and nat add against compare's subtraction of the round trips (runs without
# timestamps). Both are printed; the test asserts the sums and that each comparison is there, not that they
# agree: on a shared 2-vCPU machine the runs' spread is wider than the hops (scripts/bench-hops measures it).
if timeout 600 "$NBENCH" compare --hops --paths native,bridge,nat --tests rr-tcp -t 1 --runs 2 --json -q \
	> "$T/cmp.json" 2> "$T/cmp.err"; then
	ok
	check "compare --hops" python3 - "$T/cmp.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
hops = {h["path"]: h for h in d["hops"]}
assert set(hops) == {"native", "bridge", "nat"}, hops.keys()
for p, h in hops.items():
    s = sum(x["mean_ns"] for x in h["hops"])
    assert abs(s - h["rtt_mean_ns"]) <= 1e-6 * h["rtt_mean_ns"] + 1e-3, (p, s, h["rtt_mean_ns"])
    assert h["runs_with"] == 2, h["runs_with"]
    hs = sum(x["mean_ns"] for x in h["hops"] if x["segment"].startswith("hop "))
    assert abs(hs - h["hop_sum_ns"]) < 1e-3
for p, par in (("bridge", "native"), ("nat", "bridge")):
    v = hops[p]["vs_parent"]
    assert v["from"] == par and hops[p]["backend"] == "ebpf" and hops[p]["probe_hits_per_txn"] > 0
    assert v["hops_delta_less_probes_ns"] is not None and v["rtt_p50_delta_ns"] is not None
    ci = v["rtt_p50_delta_ci_ns"]
    diff = v["hops_delta_less_probes_ns"] - v["rtt_p50_delta_ns"]
    print(f"{p} - {par}: hops add {v['hops_delta_less_probes_ns']/1e3:+.2f} us (ebpf, less the probes), median "
          f"round trip {v['rtt_p50_delta_ns']/1e3:+.2f} ± {ci/1e3 if ci is not None else float('inf'):.2f} us "
          f"(compare): {'agree, apart' if ci is not None and abs(diff) <= ci else 'differ'} by {abs(diff)/1e3:.2f} us")
PY
else
	bad "compare --hops failed: $(cat "$T/cmp.err")"
fi

after=$(ip netns list | awk '/^nb-/{print $1}' | sort)
check "no namespace left behind" test "$before" = "$after"
finish
