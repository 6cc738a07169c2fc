#!/bin/bash
# --capture FILE.pcapng: tshark reads the file; it has one interface per interface of the path (named, with
# its namespace); each interface carries every request and response of the run (counted by the payload's
# marker against the report's transactions); the snap length and the size cap cut what they say and the
# report counts it; crr's handshakes and a stream are there too; compare writes a file per run.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (CAP_NET_ADMIN, CAP_NET_RAW) to build paths and capture"
command -v tshark > /dev/null || skip "tshark missing (scripts/setup installs it)"
ip netns add nbt-probe-$$ 2>/dev/null || skip "cannot create network namespaces"
ip netns del nbt-probe-$$
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
before=$(ip netns list | awk '/^nb-/{print $1}' | sort)

# count.py FILE REPORT.json: per interface of the file, the packets and the marked requests (nbHq) and
# responses (nbHr) at the start of the UDP or TCP payload (after crr's hello frame too); checks them against
# the report
cat > "$T/count.py" <<'PY'
import collections, json, subprocess, sys
f, rep, mode = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
e, cap = rep["end"], rep["end"]["capture"]
out = subprocess.run(["tshark", "-r", f, "-T", "fields", "-E", "separator=|", "-e", "frame.interface_name",
                      "-e", "frame.interface_description", "-e", "udp.payload", "-e", "tcp.payload",
                      "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "frame.cap_len"],
                     capture_output=True, text=True, check=True).stdout
pkts, req, resp, syn, caplen = (collections.Counter() for _ in range(5))
descr = {}
for line in out.splitlines():
    name, d, up, tp, s, a, cl = line.split("|")
    descr[name] = d
    pkts[name] += 1
    caplen[name] = max(caplen[name], int(cl))
    pl = bytes.fromhex(up or tp)
    i = pl.find(b"nbH")
    if i >= 12 and pl[i + 3:i + 4] in (b"q", b"r"):
        (req if pl[i + 3:i + 4] == b"q" else resp)[name] += 1
    if s == "1" and a == "0":
        syn[name] += 1
names = [x["name"] for x in cap["interfaces"]]
assert sorted(pkts) == sorted(names), (sorted(pkts), names)
assert all(x["netns"] is None or x["netns"] in descr[x["name"]] for x in cap["interfaces"]), descr
assert sum(pkts.values()) == cap["packets"], (sum(pkts.values()), cap["packets"])
assert all(pkts[x["name"]] == x["packets"] for x in cap["interfaces"])
assert all(c <= cap["snap_bytes"] for c in caplen.values()), (caplen, cap["snap_bytes"])
n, flows = e.get("transactions", 0), rep["start"]["settings"]["flows"]
for name in names:
    if mode == "rr":   # every measured transaction's request and response, and at most those in flight more
        assert n <= req[name] <= n + e.get("timeouts", 0) + 4 * flows, (name, req[name], n)
        assert n <= resp[name] <= req[name], (name, resp[name], n)
    elif mode == "crr":  # a SYN per connection, and its request
        assert n <= syn[name] <= n + 4 * flows, (name, syn[name], n)
        assert n <= req[name] <= syn[name], (name, req[name], n)
    else:
        assert pkts[name] > 0
print(" ".join("%s:%d/%d" % (x, req[x], pkts[x]) for x in names), "transactions", n)
PY

cap_run() { # cap_run NAME MODE NIFS test args...: the run, then its file against its report
	local name=$1 mode=$2 nifs=$3; shift 3
	if timeout 120 "$NBENCH" "$@" -t 1 --json --capture "$T/$name.pcapng" > "$T/$name.json" 2> "$T/$name.err"; then
		ok
		check "$name: $nifs interfaces, nothing cut or dropped" json_check "$T/$name.json" \
			"(len(e['capture']['interfaces']) == $nifs and e['capture']['error'] is None and
			  e['capture']['over_cap'] == 0 and e['capture']['packets'] > 0 and
			  any('--capture' in n for n in e['notes']))"
		check "$name: tshark's counts" python3 "$T/count.py" "$T/$name.pcapng" "$T/$name.json" "$mode"
	else
		bad "$name exited non-zero: $(cat "$T/$name.err")"
	fi
}
# rr open loop: a bounded number of packets whatever the machine's speed (closed loop on a quiet machine
# filled the 64 MiB default cap in a second)
cap_run nat_udp rr 5 rr --path nat --proto udp --rate 5000
cap_run native_tcp rr 2 rr --path native --rate 5000
cap_run bridge_crr crr 5 crr --path bridge
cap_run native_stream stream 2 stream --path native

# the snap length and the size cap: what they cut is counted, the file still reads to its end
if timeout 120 "$NBENCH" rr --path native --proto udp -t 1 --json --capture "$T/cut.pcapng" --capture-snap 64 \
	--capture-max 64K > "$T/cut.json" 2> "$T/cut.err"; then
	ok
	check "cut: counted" json_check "$T/cut.json" \
		"(e['capture']['truncated'] > 0 and e['capture']['over_cap'] > 0 and
		  e['capture']['file_bytes'] <= 65536 and e['capture']['snap_bytes'] == 64)"
	check "cut: the file's size" test "$(stat -c %s "$T/cut.pcapng")" -le 65536
	check "cut: tshark reads it all" python3 - "$T/cut.pcapng" "$T/cut.json" <<'PY'
import json, subprocess, sys
cap = json.load(open(sys.argv[2]))["end"]["capture"]
r = subprocess.run(["tshark", "-r", sys.argv[1], "-T", "fields", "-e", "frame.cap_len", "-e", "frame.len"],
                   capture_output=True, text=True)
assert r.returncode == 0, r.stderr
rows = [tuple(map(int, l.split())) for l in r.stdout.splitlines()]
assert len(rows) == cap["packets"], (len(rows), cap["packets"])
assert all(c <= 64 for c, _ in rows) and sum(c < l for c, l in rows) == cap["truncated"]
PY
else
	bad "cut: exited non-zero: $(cat "$T/cut.err")"
fi

expect_usage() { local rc=0; "$NBENCH" "$@" > /dev/null 2>&1 || rc=$?; check "usage error: $*" test "$rc" = 2; }
expect_usage rr -H 127.0.0.1 --capture "$T/x.pcapng" -t 1
expect_usage rr --path native --hops --capture "$T/x.pcapng" -t 1
expect_usage rr --path native --capture "$T/x.pcapng" --capture-snap 10 -t 1
expect_usage rr --path native --capture "$T/x.pcapng" --capture-max 1K -t 1
expect_usage compare --paths native --capture "$T/x" --hops -t 1
check "no file from a refused run" test ! -e "$T/x.pcapng"

# compare: a file per run, each readable, named after its path, test, placement and round
if timeout 300 "$NBENCH" compare --paths native,nat --tests rr-udp -t 0.5 --runs 2 --json -q --capture "$T/cmp.pcapng" \
	> "$T/cmp.json" 2> "$T/cmp.err"; then
	ok
	check "compare: a file per run" test "$(ls "$T"/cmp-*.pcapng | wc -l)" = 4
	for f in "$T"/cmp-nat-rr-udp-same-core-r1.pcapng "$T"/cmp-native-rr-udp-same-core-r2.pcapng; do
		check "compare: $(basename "$f") reads" bash -c "tshark -r '$f' -c 1 > /dev/null 2>&1"
	done
	check "compare: the runs' JSON name their files" python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d['runs']) == 4 and all(r['capture']['file'].endswith('-r%d.pcapng' % r['round']) and
                                   r['capture']['packets'] > 0 for r in d['runs'])" "$T/cmp.json"
else
	bad "compare --capture failed: $(cat "$T/cmp.err")"
fi

after=$(ip netns list | awk '/^nb-/{print $1}' | sort)
check "no namespace left behind" test "$before" = "$after"
finish
