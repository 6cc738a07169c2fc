#!/bin/bash
# The virtio path end to end: the guest is the server, reached from "remote" across the wire, the
# bridge, the tap and virtio-net; rr (TCP, UDP) and a short stream pass; the report carries the guest's
# kernel, accelerator, backend and boot time (and the emulation note under TCG); teardown leaves nothing.
. "$(dirname "$0")/lib.sh"
name=nbtv$$
name=${name:0:10}
CLEANUPS+=("$NBENCH topo down $name")

start=$(date +%s)
if ! timeout 300 "$NBENCH" topo up virtio --name "$name" > "$T/up.out" 2> "$T/up.err"; then
	bad "topo up virtio: $(cat "$T/up.err")"
	finish
fi
ok
echo "topo up virtio: $(( $(date +%s) - start )) s"
check "guest qemu running" pgrep -f "process=nb-$name-qemu"
check "tap on the bridge" bash -c "ip -n nb-$name-host -o link show nb-$name-t | grep -q 'master nb-$name-b'"
check "no container namespace" bash -c "! ip netns list | grep -q '^nb-$name-ctr'"

GUEST_OK='(lambda g: g["kernel_version"] and g["accel"] in ("kvm", "tcg") and g["backend"] == "qemu" and g["boot_ns"] > 0 and g["device"] == "virtio-net-pci")(d["start"]["path"]["config"]["guest"])'
NOTE_OK='(d["start"]["path"]["config"]["guest"]["accel"] != "tcg" or any("EMULATION-BOUND" in n for n in e["notes"]))'
SERVER_IS_GUEST='d["start"]["server"]["kernel"] == d["start"]["path"]["config"]["guest"]["kernel_version"]'
run rr_tcp rr -t 2 && check "rr tcp via virtio" json_check "$T/rr_tcp.json" "$RR_OK and $GUEST_OK and $NOTE_OK"
# the guest's CPU time is the guest's: in server_cpu, not taken out of this host's busy time as "responder"
check "the guest responder's CPU is the server's, not the host's" json_check "$T/rr_tcp.json" \
	"e['cpu']['resp_cpu_ns'] == 0 and e['server_cpu']['resp_cpu_ns'] > 0"
# qemu is the path's, not another process disturbing the run (it was most of the busy time when counted)
check "--topo leaves qemu out of other processes" json_check "$T/rr_tcp.json" "e['cpu']['other_ns'] < 0.5 * e['cpu']['busy_ns']"
run rr_udp rr -t 2 --proto udp && check "rr udp via virtio" json_check "$T/rr_udp.json" "$RR_OK and $FEW_TIMEOUTS and $GUEST_OK"
run stream stream -t 2 && check "stream via virtio" json_check "$T/stream.json" "$STREAM_OK and $TCP_BALANCE and $GUEST_OK"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("server:", d["start"]["server"])' "$T/rr_tcp.json" 2>/dev/null | cut -c1-200
check "the responder is the guest's" json_check "$T/rr_tcp.json" "$SERVER_IS_GUEST"
check "topo script shows the tap and qemu" bash -c "'$NBENCH' topo script virtio --name x1 | grep -q 'tuntap add dev nb-x1-t mode tap vnet_hdr' && '$NBENCH' topo script virtio --name x1 | grep -q 'qemu-system-x86_64.*vhost=off'"

if "$NBENCH" topo down "$name" > /dev/null 2> "$T/down.err"; then ok; else bad "topo down: $(cat "$T/down.err")"; fi
clean_check "topo down" "$name"

# the whole lifecycle in one command
before=$(pgrep -fc 'process=nb-.*-qemu' || true)
if timeout 300 "$NBENCH" rr --path virtio -t 1 --json > "$T/path.json" 2> "$T/path.err"; then
	ok
	check "rr --path virtio" json_check "$T/path.json" "$RR_OK and $GUEST_OK"
	pname=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["start"]["path"]["name"])' "$T/path.json")
	clean_check "rr --path virtio" "$pname"
else
	bad "rr --path virtio: $(cat "$T/path.err")"
fi
check "no qemu left" test "$(pgrep -fc 'process=nb-.*-qemu' || true)" -le "${before:-0}"
finish
