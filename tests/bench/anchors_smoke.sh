#!/bin/bash
# scripts/bench-anchors --quick as a user runs it: it ends, reports every target row with a ratio, writes its
# JSON and leaves no namespace or process behind. Never speed: the ratios are not judged here, so its runs are
# 1 s rather than --quick's 2 (the check's time).
. "$(dirname "$0")/../e2e/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for tool in iperf3 nuttcp sockperf qperf; do
	command -v "$tool" > /dev/null || skip "$tool is not installed (scripts/setup installs it)"
done
[ "$(id -u)" = 0 ] || skip "needs root for the veth namespaces"
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
before_ns=$(ip netns list | grep -c '^nbb-' || true)
# servers of the kinds the script starts; ones that were running before it (someone else's) are not its
servers() { pgrep -f "sockperf sr |qperf -lp|iperf3 -s|nuttcp -S|nbench serve" | sort; }
before_servers=$(servers)

rc=0; NBENCH=$NBENCH "$ROOT/scripts/bench-anchors" --quick --time 1 --rr-time 1 --json "$T/b.json" > "$T/out" 2> "$T/err" || rc=$?
check "bench-anchors --quick exits 0 (rc $rc: $(tail -3 "$T/err"))" test "$rc" = 0
check "prints the summary" grep -q '^Summary' "$T/out"
check "every target row has a ratio, on both paths" python3 - "$T/b.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = [s for s in d['summary'] if s['target']]
paths = {s['path'] for s in rows}
ok = paths == {'loopback', 'veth'} and len(rows) >= 2 * 9 and all(s['ratio'] and s['ratio'] > 0 for s in rows)
ok = ok and all(r['ok'] for r in d['runs'])
sys.exit(not ok)
PY
check "no namespace left" test "$(ip netns list | grep -c '^nbb-' || true)" = "$before_ns"
check "no process left: $(comm -13 <(echo "$before_servers") <(servers) | tr '\n' ' ')" \
	test -z "$(comm -13 <(echo "$before_servers") <(servers))"
finish
