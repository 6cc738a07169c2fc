#!/bin/bash
# The CLI across the paths nbench builds itself: --path on every test, and a short compare.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (CAP_NET_ADMIN) to build paths"
ip netns add nbt-probe-$$ 2>/dev/null || skip "cannot create network namespaces"
ip netns del nbt-probe-$$
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
before=$(ip netns list | awk '/^nb-/{print $1}' | sort) # nbench's own; other suites' come and go

run() { # run NAME args...
	local name=$1; shift
	if ! timeout 120 "$NBENCH" "$@" -t 1 --json > "$T/$name.json" 2> "$T/$name.err"; then
		bad "$name exited non-zero: $(cat "$T/$name.err")"; return 1
	fi
	ok
}
PATH_OK='d["start"]["path"]["name"] == P and d["start"]["path"]["config"] is not None'
run rr_nat rr --path nat && check "rr --path nat" json_check "$T/rr_nat.json" "$RR_OK and ${PATH_OK/P/\"nat\"}"
run rr_udp_nat rr --path nat --proto udp && check "udp rr --path nat" json_check "$T/rr_udp_nat.json" "$RR_OK and e['timeouts'] == 0"
run st_bridge stream --path bridge && check "stream --path bridge" json_check "$T/st_bridge.json" "$STREAM_OK and $TCP_BALANCE and ${PATH_OK/P/\"bridge\"}"
run st_nat_udp stream --path nat --proto udp --reverse && check "udp reverse stream --path nat" json_check "$T/st_nat_udp.json" "$STREAM_OK"
run crr_host crr --path host && check "crr --path host" json_check "$T/crr_host.json" "$RR_OK and ${PATH_OK/P/\"host\"}"
run rr_lo rr --path loopback --cpu-gen 0 --cpu-resp 0 && check "rr --path loopback pinned" json_check "$T/rr_lo.json" "$RR_OK and d['start']['placement']['resp_cpus'] == '0'"

# a short compare: JSON carries every run and each ratio under ratio_vs_native
if timeout 300 "$NBENCH" compare --paths native,bridge,nat --tests rr-tcp,stream -t 0.5 --runs 2 --json -q > "$T/cmp.json" 2> "$T/cmp.err"; then
	ok
	check "compare json" python3 - "$T/cmp.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
runs, summ = d["runs"], d["summary"]
assert len(runs) == 3 * 2 * 2, len(runs)
assert all(r["complete"] for r in runs), [r for r in runs if not r["complete"]]
nat = [s for s in summ if s["path"] == "nat" and s["test"] == "rr-tcp"][0]
assert nat["p50_ns"]["ratio_vs_native"] > 0 and nat["p50_ns"]["hop"]["from"] == "bridge"
nat = [s for s in summ if s["path"] == "native" and s["test"] == "stream"][0]
assert abs(nat["goodput_bps"]["ratio_vs_native"] - 1) < 1e-9
PY
else
	bad "compare failed: $(cat "$T/cmp.err")"
fi
expect_usage() { local rc=0; "$NBENCH" "$@" > /dev/null 2>&1 || rc=$?; check "usage error: $*" test "$rc" = 2; }
expect_usage compare --paths native,warp
expect_usage compare --tests rr-sctp
expect_usage compare --ci 90,5 # gone: --precision (tests/e2e/compare.sh)
expect_usage rr --path warp -t 1

after=$(ip netns list | awk '/^nb-/{print $1}' | sort)
check "no namespace left behind" test "$before" = "$after"
finish
