#!/bin/bash
# SPDX-License-Identifier: MIT
# nbench study (issue 25) end to end, short: on one host (paths built here, the wire shaped to 10G), and across
# two namespaces as two hosts (the agent in one, `study -H` from the other). Each run's JSON has the study's
# layout (every figure on every path, native the reference, the study's value and ratio beside, a verdict from
# the allowed set), the Redis row (every path at every count, the statements judged), every setting, and the
# paths it could not run named with why; its text has every figure; `nbench plot` draws its figures; nothing is
# left behind, and the server host's namespace is as before. The verdict logic itself is tests/unit/test_study.c's.
source "$(dirname "$0")/lib.sh"
command -v nft >/dev/null || skip "no nft"
runnable native host nat
[ ${#KINDS[@]} = 3 ] || skip "needs native, host and nat: ${LEFT_OUT[*]}"
# with a Docker engine up (tests/docker/with_engine.sh runs this so), the study's Docker paths too
ONE=native,host,nat
if [ -n "${DOCKER_HOST:-}" ] && curl -sf --max-time 5 --unix-socket "${DOCKER_HOST#unix://}" http://docker/_ping >/dev/null 2>&1; then
	ONE=native,host,docker-host,nat,docker-nat
fi

SHORT=(--rounds 2 -t 0.5 --redis-conns 1,4 --redis-rounds 2 --redis-time 0.5)
# study_check FILE WHAT TWO_HOSTS PATHS: the document's structure
study_check() {
	"$PY" - "$1" "$3" "$4" <<'PY' || fail "$2"
import json, sys
d = json.load(open(sys.argv[1])); two = sys.argv[2] == "1"; want = sys.argv[3].split(",")
s = d["start"]["settings"]; paths = s["paths"]
figs = ["goodput-tx", "goodput-rx", "cpb-tx", "cpb-rx", "tcp-rr-latency", "tcp-rr-tps", "udp-rr-latency", "udp-rr-tps"]
problems = []
def need(cond, what):
    if not cond: problems.append(what)
need(d["kind"] == "study" and d["study"]["name"] == "RC25482", "kind and study")
need(paths == want, "paths %s" % paths)
need(s["two_hosts"] == two and (s["wire_rate_bps"] == (0 if two else 1e10)), "two hosts / wire rate: %s" % s)
# two namespaces on one machine share its boot id: the system-wide figure is this machine's, both ends
need(s["cpu_of"] == "this host", "cpu_of %s" % s["cpu_of"])
need(s["tests"] == ["stream-reverse", "stream", "rr-tcp", "rr-udp"] and s["rr_depth"] == 1 and s["stream_flows"] == 1, "tests and defaults")
need("tcp_rmem" in s["socket_buffers"], "socket buffers")
rows = d["table"]
need([(r["figure"], r["path"]) for r in rows] == [(f, p) for f in figs for p in paths], "table layout")
verdicts = {"-", "reference", "holds", "holds (direction)", "differs", "unresolved"}
for r in rows:
    need(r["verdict"] in verdicts, "verdict %s" % r["verdict"])
    if r["path"] == "native":
        need(r["verdict"] == "reference" and r["study"]["value"] > 0, "native row %s" % r["figure"])
    else:
        need(r["study"] is not None and r["study"]["ratio"] > 0, "study ratio on %s %s" % (r["figure"], r["path"]))
    need(r["rounds"] >= 1 and r["value"] is not None and r["value"] > 0, "measured %s %s: %s" % (r["figure"], r["path"], r["value"]))
    if r["path"] != "native" and r["ratio"] is not None and r["verdict"] in ("differs", "holds (direction)", "unresolved"):
        need(r["diff_pct"] is not None, "diff on %s %s" % (r["figure"], r["path"]))
study_paths = {r["path"]: r["study_path"] for r in rows}
stands = {"native": "native", "host": "docker-host", "docker-host": "docker-host", "nat": "docker-nat", "docker-nat": "docker-nat"}
need(study_paths == {p: stands[p] for p in paths}, "study paths %s" % study_paths)
pts = d["redis"]["points"]
need(sorted((p["path"], p["connections"]) for p in pts) == sorted((p, c) for p in paths for c in (1, 4)), "redis points")
need(all((p["requests_per_s"]["value"] or 1) > 0 and (p["mean_latency_us"]["value"] or 1) > 0 for p in pts) and
     sum(p["requests_per_s"]["value"] is not None for p in pts) >= len(pts) / 2, "redis figures")
need(d["redis"]["settings"]["mix"] == "87:5,30:57" and d["redis"]["settings"]["depth"] == 10, "redis settings")
st = d["redis"]["statements"]
need({(x["study_path"], x["path"]) for x in st} >= {(stands[p], p) for p in paths if p != "native"}, "statements %s" % st)
left = {l["path"]: l["why"] for l in d["start"]["left_out"]}
need(not (set(left) & set(paths)) and all(left.values()), "left out %s" % left)
need(d["complete"] and d["matrix_rounds"] == 2, "complete")
runs = d["runs"]
# every run by round (a run a loaded machine starved is null; the table's rows above need one per cell)
fig = lambda r: r["goodput_bps"] if r["test"].startswith("stream") else r["transactions_per_s"]
need(len(runs) == 4 * len(paths) * 2 and all(fig(r) is None or fig(r) > 0 for r in runs), "runs")
need(len(d["redis"]["runs"]) == 2 * 2 * len(paths) and any(r["requests_per_s"] for r in d["redis"]["runs"]), "redis runs")
if problems:
    print("\n".join(problems), file=sys.stderr); sys.exit(1)
PY
}

# ---- one host ----
out=$("$NBENCH" study --paths $ONE,vhost "${SHORT[@]}" --json-out "$TMP/one.json" 2>"$TMP/one.err") ||
	{ cat "$TMP/one.err" >&2; fail "study on one host failed"; }
echo "$out" | head -12
study_check "$TMP/one.json" "one host ($ONE): the study's document" 0 "$ONE"
grep -q "path vhost left out: " "$TMP/one.err" || ls /dev/vhost-net >/dev/null 2>&1 ||
	fail "vhost was not named as left out: $(cat "$TMP/one.err")"
for t in "Goodput, SUT transmits" "CPU cycles per byte, SUT receives" "TCP_RR round trip" "UDP_RR transactions/s" \
	"Redis row" "buffers    TCP autotuning" "shaped to 10.00 Gbit/s"; do
	grep -qF "$t" <<<"$out" || fail "one host: the text has no '$t'"
done
log "one host: the table, the Redis row and every setting"
check_clean
[ -z "$(ls /run/netns 2>/dev/null | grep '^nb-')" ] || fail "namespaces left: $(ls /run/netns)"

if command -v gnuplot >/dev/null; then
	"$NBENCH" plot "$TMP/one.json" -o "$TMP/fig" --format png >"$TMP/plot.out" || fail "plot of the study failed"
	for f in one_goodput one_cpb one_rr one_redis_throughput one_redis_latency; do
		[ -s "$TMP/fig/$f.png" ] && [ -s "$TMP/fig/$f.dat" ] || fail "plot: no $f"
	done
	# the study's markers are in the bar figures' data: native's transmit goodput, 9348.1 Mbit/s
	grep -q " 9.34813$" "$TMP/fig/one_goodput.dat" || fail "plot: the study's value is not in one_goodput.dat"
	log "plot: five figures of the study"
fi

# ---- two hosts: the agent in S, the client in C ----
S=nbs-$TAG-s
C=nbs-$TAG-c
SA=10.232.$((RANDOM % 200 + 10)).2
KEY=$TMP/key
AGENT=
two_cleanup() {
	local rc=$?
	set +e
	if [ -n "$AGENT" ]; then
		kill "$AGENT" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$AGENT" 2>/dev/null
	fi
	ip netns del "$S" 2>/dev/null
	ip netns del "$C" 2>/dev/null
	(exit $rc)
	cleanup
}
trap two_cleanup EXIT
ip netns add "$S"
ip netns add "$C"
ip link add nbs$$s netns "$S" type veth peer name nbs$$c netns "$C"
ip -n "$S" addr add "$SA/24" dev nbs$$s
ip -n "$C" addr add "${SA%.2}.1/24" dev nbs$$c
for n in "$S" "$C"; do ip -n "$n" link set lo up; done
ip -n "$S" link set nbs$$s up
ip -n "$C" link set nbs$$c up
"$NBENCH" key gen "$KEY" >/dev/null
snapshot() {
	ip -n "$S" -j link show | "$PY" -c 'import json,sys; print(json.dumps(sorted(json.load(sys.stdin), key=lambda l: l["ifname"]), sort_keys=True))'
	ip -n "$S" -j route show table all
	ip netns exec "$S" nft -j list ruleset
}
sleep 2 # IPv6 DAD settles
BEFORE=$(snapshot)
ip netns exec "$S" sh -c 'mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null; exec "$0" serve --paths --key-file "$1"' \
	"$NBENCH" "$KEY" >"$TMP/agent.log" 2>&1 &
AGENT=$!
wait_listen 12865 "$S" "$AGENT" || { cat "$TMP/agent.log" >&2; fail "the agent did not start"; }

out=$(ip netns exec "$C" "$NBENCH" study -H "$SA" --key-file "$KEY" --paths native,host,nat,virtio "${SHORT[@]}" \
	--json-out "$TMP/two.json" 2>"$TMP/two.err") || { cat "$TMP/two.err" "$TMP/agent.log" >&2; fail "study -H failed"; }
study_check "$TMP/two.json" "two hosts: the study's document" 1 native,host,nat
grep -q "path virtio left out: .*remote" "$TMP/two.err" || fail "virtio over -H not named with why: $(cat "$TMP/two.err")"
grep -qF "the link to $SA (unshaped)" <<<"$out" || fail "two hosts: the wire line"
grep -qF "the server, which is this machine too" <<<"$out" || fail "two hosts: the cpu line"
for k in native host nat; do grep -q "path $k up" "$TMP/agent.log" || fail "the agent built no $k half"; done
for _ in $(seq 80); do [ "$(snapshot)" = "$BEFORE" ] && break; sleep 0.5; done
[ "$(snapshot)" = "$BEFORE" ] || fail "the server host's namespace is not as before"
log "two hosts: the study across them, the server host as before"
end_checks
