#!/bin/bash
# SPDX-License-Identifier: MIT
# The Docker paths (issue 22): each is built by the engine through its API, carries rr over TCP and UDP
# (placement applied inside the container), and its report names the engine in JSON, text and CSV; the image
# is made once (an unchanged binary is not imported again); afterwards nothing of nbench's is left in the engine
# and the engine's containers, networks and rules are as they were.
source "$(dirname "$0")/../netns/lib.sh"
source "$(dirname "$0")/lib.sh"
docker_cleanup() {
	local rc=$?
	set +e
	engine_stop || rc=1
	(exit $rc)
	cleanup
}
trap docker_cleanup EXIT
engine_start

"$NBENCH" image build --json >"$TMP/image.json" || fail "nbench image build"
engine_snapshot
"$NBENCH" image build --json >"$TMP/image2.json" || fail "nbench image build (again)"
"$PY" - "$TMP/image.json" "$TMP/image2.json" <<'PYEOF' || fail "image: $(cat "$TMP/image.json")"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["ref"].startswith("nbench:") and a["files"] >= 3 and a["tar_bytes"] > 1e6, a
assert b["built"] is False and b["id"] == a["id"] and b["content_sha256"] == a["content_sha256"], (a, b)
PYEOF
log "image: $(cat "$TMP/image.json")"

for kind in docker-host docker-nat docker-proxy docker-bridge; do
	for proto in tcp udp; do
		"$NBENCH" rr --path "$kind" --proto "$proto" -t 2 --cpu-gen 0 --cpu-resp 0 --json >"$TMP/rr.json" 2>"$TMP/rr.err" ||
			fail "$kind: rr $proto failed: $(cat "$TMP/rr.err") $("$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]; print(e.get("error"), e.get("transactions"), e.get("timeouts"))' "$TMP/rr.json" 2>&1)"
		"$PY" - "$TMP/rr.json" "$kind" <<'PYEOF' || fail "$kind $proto: report"
import json, sys
r = json.load(open(sys.argv[1])); kind = sys.argv[2]
s, e = r["start"], r["end"]
assert s["path"]["name"] == kind, s["path"]["name"]
assert e["complete"] is True and e["transactions"] > 0, e
assert s["placement"]["resp_cpus"] == "0", s["placement"]          # pinned inside the container
assert s["path"]["engine"].startswith("Docker "), s["path"]["engine"]
d = s["path"]["config"]["docker"]
assert d["engine"]["version"] and d["engine"]["storage_driver"] and d["engine"]["iptables"] in ("nft", "legacy"), d["engine"]
srv = [c for c in d["containers"] if c["role"] == "server"][0]
assert srv["running"] and srv["image"].startswith("nbench:"), srv
assert set(srv["cgroup"]) >= {"cpuset_cpus", "nano_cpus", "memory_bytes", "pids_limit"}, srv["cgroup"]
assert srv["network"] == {"docker-host": "host", "docker-nat": "bridge", "docker-proxy": "bridge"}.get(kind, srv["network"])
if kind in ("docker-nat", "docker-proxy"):
    assert isinstance(d["userland_proxy"], bool), d["userland_proxy"]
    assert srv["published"].startswith("127.0.0.1:" if kind == "docker-proxy" else "10.77."), srv["published"]
else:
    assert d["userland_proxy"] is None, d["userland_proxy"]
if kind == "docker-bridge":
    assert [c for c in d["containers"] if c["role"] == "client"][0]["running"]
    assert d["network"]["bridge"].endswith("-d"), d["network"]
print(kind, e["transactions"], "transactions;", s["path"]["engine"])
PYEOF
		engine_clean
	done
done
# the text and CSV reports name it too; a stream and crr run as well
"$NBENCH" stream --path docker-nat -t 1 >"$TMP/stream.txt" || fail "docker-nat: stream: $(tail -3 "$TMP/stream.txt")"
grep -q '^engine:    Docker ' "$TMP/stream.txt" || fail "no engine line: $(head -8 "$TMP/stream.txt")"
"$NBENCH" crr --path docker-bridge -t 1 --csv >"$TMP/crr.csv" || fail "docker-bridge: crr"
"$PY" - "$TMP/crr.csv" <<'PYEOF' || fail "csv: $(cat "$TMP/crr.csv")"
import csv, sys
row = list(csv.DictReader(open(sys.argv[1])))[0]
assert row["engine"].startswith("Docker ") and "container nb-" in row["engine"], row["engine"]
assert int(row["transactions"]) > 0
PYEOF
engine_clean
# --hops: each hop of docker-nat named, the engine's bridge and the container's veth among them
"$NBENCH" rr --path docker-nat --hops -t 1 --cpu-gen 0 --cpu-resp 0 --json >"$TMP/hops.json" ||
	fail "docker-nat: rr --hops: $(head -c 400 "$TMP/hops.json")"
"$PY" - "$TMP/hops.json" <<'PYEOF' || fail "docker-nat: --hops"
import json, sys
h = json.load(open(sys.argv[1]))["end"]["hops"]
out = [(g["from_if"], g["to_if"]) for g in h if g["segment"] == "hop out"]
names = [x for pair in out for x in pair]
assert "docker0" in names and "eth0" in names and any(n.startswith("veth") for n in names), out
print("docker-nat hops out:", " > ".join([out[0][0]] + [b for a, b in out]))
PYEOF
# compare: docker-nat's hop delta is over nat, the path it extends
"$NBENCH" compare --paths nat,docker-nat --tests rr-tcp -t 1 --runs 1 -q --json >"$TMP/cmp.json" ||
	fail "compare nat,docker-nat"
"$PY" - "$TMP/cmp.json" <<'PYEOF' || fail "compare: no docker-nat - nat hop"
import json, sys
s = [x for x in json.load(open(sys.argv[1]))["summary"] if x["path"] == "docker-nat"][0]
assert s["runs"] == 1 and s["p50_ns"]["hop"]["from"] == "nat", s
PYEOF
# throughput: one frame size, coarse
"$NBENCH" throughput --path docker-bridge --sizes 1518 --trial 1 --resolution 25% >"$TMP/tp.txt" 2>&1 ||
	fail "docker-bridge: throughput: $(tail -3 "$TMP/tp.txt")"
grep -qE '^ +1518 ' "$TMP/tp.txt" || fail "throughput: no 1518 row: $(cat "$TMP/tp.txt")"
engine_clean
check_clean
[ -z "$(ls /run/nbench/topo 2>/dev/null)" ] || fail "state files left: $(ls /run/nbench/topo)"
[ -z "$(ip -br link | awk '$1 ~ /^nb-/')" ] || fail "links left here: $(ip -br link | awk '$1 ~ /^nb-/')"
engine_same "after every Docker path"

# the engine with its userland proxy off (when it was started here): docker-proxy then goes through DNAT
# from the output hook, and the report says so
if engine_restart --userland-proxy=false; then
	engine_snapshot
	for kind in docker-proxy docker-nat; do
		"$NBENCH" rr --path "$kind" -t 1 --json >"$TMP/rr.json" || fail "$kind, userland proxy off: rr"
		"$PY" - "$TMP/rr.json" <<'PYEOF' || fail "$kind, userland proxy off: report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["end"]["transactions"] > 0 and r["start"]["path"]["config"]["docker"]["userland_proxy"] is False
assert "userland proxy off" in r["start"]["path"]["engine"], r["start"]["path"]["engine"]
PYEOF
	done
	engine_clean
	engine_same "after the paths with the userland proxy off"
	log "userland proxy off: docker-proxy and docker-nat ran, reported as such"
else
	log "userland proxy off: not checked (the engine was not started here)"
fi
log "docker paths ok"
