#!/bin/bash
# The vhost-user path end to end: the guest's virtio-net is served over a vhost-user socket by DPDK's
# dpdk-testpmd, which forwards (io mode) to a tap on the bridge; rr (TCP, UDP) and a short stream pass and
# the report names the backend; without testpmd the path refuses with the reason and builds nothing;
# teardown leaves nothing (qemu, testpmd, socket, tap, namespaces, /var/run/dpdk), also after kill -9 of
# nbench and `nbench topo down --all`. Skips (77) where DPDK's testpmd or its vhost PMD is missing.
. "$(dirname "$0")/lib.sh"
command -v dpdk-testpmd >/dev/null || skip "no dpdk-testpmd (apt-get install dpdk-dev)"
name=nbtu$$
name=${name:0:10}
CLEANUPS+=("$NBENCH topo down $name")
BACKEND="vhost-user (dpdk-testpmd io fwd)"

# refused with the reason when the backend is missing; nothing built
if NBENCH_TESTPMD=/nonexistent/dpdk-testpmd timeout 60 "$NBENCH" rr --path vhost-user -t 1 > "$T/no.out" 2> "$T/no.err"; then
	bad "rr --path vhost-user succeeded without testpmd"
else
	ok
	check "refusal names the reason ($(cat "$T/no.err"))" grep -q "vhost-user unavailable: /nonexistent/dpdk-testpmd not found" "$T/no.err"
fi
check "nothing built for the refused path" test -z "$(instances_of vhost-user)"

start=$(date +%s)
if ! timeout 300 "$NBENCH" topo up vhost-user --name "$name" > "$T/up.out" 2> "$T/up.err"; then
	grep -q "vhost-user unavailable" "$T/up.err" && skip "$(cat "$T/up.err")"
	bad "topo up vhost-user: $(cat "$T/up.err")"
	finish
fi
ok
echo "topo up vhost-user: $(( $(date +%s) - start )) s"
check "guest qemu running" pgrep -f "process=nb-$name-qemu"
check "testpmd running" pgrep -f -- "--file-prefix=nb-$name-vu"
check "vhost-user socket" test -S "/run/nbench/vm/$name/vhost.sock"
check "tap on the bridge" bash -c "ip -n nb-$name-host -o link show nb-$name-t | grep -q 'master nb-$name-b'"
check "qemu has no tap" bash -c "! grep -q 'netdev tap' /proc/\$(pgrep -f 'process=nb-$name-qemu' | head -1)/cmdline"

GUEST_OK='(lambda g: g["kernel_version"] and g["accel"] in ("kvm", "tcg") and g["backend"] == "'"$BACKEND"'" and g["boot_ns"] > 0 and g["backend_process"]["program"] == "dpdk-testpmd" and g["backend_process"]["pid"] > 0 and g["backend_process"]["forward_cpu"] >= 0)(d["start"]["path"]["config"]["guest"])'
SERVER_IS_GUEST='d["start"]["server"]["kernel"] == d["start"]["path"]["config"]["guest"]["kernel_version"]'
run rr_tcp rr -t 2 && check "rr tcp via vhost-user" json_check "$T/rr_tcp.json" "$RR_OK and $GUEST_OK"
run rr_udp rr -t 2 --proto udp && check "rr udp via vhost-user" json_check "$T/rr_udp.json" "$RR_OK and $FEW_TIMEOUTS and $GUEST_OK"
run stream stream -t 2 && check "stream via vhost-user" json_check "$T/stream.json" "$STREAM_OK and $TCP_BALANCE and $GUEST_OK"
check "the responder is the guest's" json_check "$T/rr_tcp.json" "$SERVER_IS_GUEST"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]; print("vhost-user rr tcp p50 %.1f us" % (e["latency_ns"]["p50"] / 1e3))' "$T/rr_tcp.json" 2>/dev/null
check "topo script shows testpmd then qemu" bash -c "'$NBENCH' topo script vhost-user --name x1 > '$T/script' && grep -q 'tuntap add dev nb-x1-t mode tap multi_queue' '$T/script' && grep -q 'dpdk-testpmd.*net_vhost0' '$T/script' && grep -q 'qemu-system-x86_64.*vhost-user,id=n0' '$T/script'"

if "$NBENCH" topo down "$name" > /dev/null 2> "$T/down.err"; then ok; else bad "topo down: $(cat "$T/down.err")"; fi
clean_check "topo down" "$name"

# kill -9 of nbench mid-run: qemu and testpmd outlive it; `topo down --all` (by name when other suites'
# instances are up, not to take theirs) removes everything
old=$(instances_of vhost-user | tr '\n' ' ')
"$NBENCH" rr --path vhost-user -t 120 -q > /dev/null 2>&1 &
pid=$!
PIDS+=($pid)
kname=""
for _ in $(seq 100); do
	for n in $(instances_of vhost-user); do
		case " $old " in *" $n "*) ;; *) kname=$n ;; esac
	done
	[ -n "$kname" ] && break
	sleep 0.2
done
if [ -n "$kname" ] && wait_booted "$kname"; then
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	check "qemu outlives a kill -9 of nbench" pgrep -f "process=nb-$kname-qemu"
	check "testpmd outlives a kill -9 of nbench" pgrep -f -- "--file-prefix=nb-$kname-vu"
	others=$("$NBENCH" topo show 2>/dev/null | awk 'NR > 1 {print $1}' | grep -vx "$kname" | grep -v '^$' || true)
	if [ -z "$others" ]; then
		if "$NBENCH" topo down --all > /dev/null 2> "$T/down.err"; then ok; else bad "topo down --all: $(cat "$T/down.err")"; fi
	else
		if "$NBENCH" topo down "$kname" > /dev/null 2> "$T/down.err"; then ok; else bad "topo down $kname: $(cat "$T/down.err")"; fi
	fi
	clean_check "after kill -9 and topo down" "$kname"
else
	bad "the vhost-user guest did not come up (second run)"
	[ -n "$kname" ] && "$NBENCH" topo down "$kname"
fi
finish
