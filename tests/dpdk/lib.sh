# Shared by the DPDK tests: e2e's helpers, the skips, and the check that no EAL runtime directory is left.
. "$(dirname "$0")/../e2e/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, DPDK virtual devices)"
[ "${NB_DPDK:-0}" = 1 ] || skip "nbench was built without DPDK"
ip netns add nbt-probe-$$ 2>/dev/null || skip "cannot create network namespaces"
ip netns del nbt-probe-$$

RUNDIR=/var/run/dpdk
before_dirs=$(ls "$RUNDIR" 2>/dev/null | grep '^nbench-' | sort)
# new_dirs: EAL runtime directories of nbench processes that appeared since the test began
new_dirs() { comm -13 <(echo "$before_dirs") <(ls "$RUNDIR" 2>/dev/null | grep '^nbench-' | sort); }
no_residue() {
	local left
	left=$(new_dirs)
	[ -z "$left" ] && return 0
	echo "  left behind in $RUNDIR: $left" >&2
	return 1
}
# a responder killed by the cleanup cannot remove its own directory
CLEANUPS+=('for d in $(new_dirs); do rm -rf "$RUNDIR/$d"; done')

# stop_responder: SIGTERM, so it stops its port and removes its runtime directory, then wait
stop_responder() {
	kill -TERM "$RESP_PID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$RESP_PID" 2>/dev/null || break; sleep 0.05; done
	wait "$RESP_PID" 2>/dev/null
}

# two namespaces joined by a veth pair (C:veth0 10.$1.0.1 -- S:veth1 10.$1.0.2); sets C and S
two_ns() {
	veth_pair "10.$1.0" # tests/e2e/lib.sh
}

# runc NAME ARGS...: nbench ARGS in the client namespace, JSON report to $T/NAME.json
runc() {
	local name=$1; shift
	if ! ip netns exec "$C" "$NBENCH" "$@" --json > "$T/$name.json" 2> "$T/$name.err"; then
		bad "$name exited non-zero: $(grep -v '^lib\(bpf\|xdp\)' "$T/$name.err" | tail -3)"; return 1
	fi
	ok
}
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
# A DPDK generator's data leaves from its own --dpdk-ip, not from the control connection's address: a
# responder admits that only from a client that proved the shared key, so both sides get one here.
"$NBENCH" key gen "$T/key" > /dev/null && export NBENCH_KEY_FILE=$T/key || exit 1
# A UDP stream's receiver counted no more than its sender sent (two processes' own counts), and most of it.
# Unpaced, how much a receiver keeps of a sender's full speed on two shared CPUs is a race (a faster sender
# loses more), not a behaviour: streams checked with this are paced (PACE) well below either end's speed.
PACE=(-b 200M)
# A run the report marks disturbed (other processes took the CPUs the stream needed) may lose more.
UDP_STREAM_OK='e["complete"] and e["goodput_bps"] > 0 and 0 < e["packets_received"] <= e["packets_sent"] and (e["lost"] <= 0.5 * e["packets_sent"] or e["cpu"]["disturbed"])'
# Against the generator's port counters (xstats, counted by the PMD, not by nbench): a forward stream's
# packets_sent is what the port sent, but for its few hellos and ARP; a reverse stream received no more
# than the port did.
PORT_TX='0 <= e["dpdk_xstats"].get("tx_good_packets", 0) - e["packets_sent"] <= 64'
PORT_RX='0 < e["packets_received"] <= e["dpdk_xstats"].get("rx_good_packets", 0)'
DPDK_INFO='d["start"]["dpdk"]["pmd"] == PMD and e["dpdk_xstats"].get("rx_good_packets", 0) > 0'

# frames_check NS IFACE PORT LEN [N]: captures (AF_PACKET, in NS) the first N (1000) IPv4/UDP frames to PORT
# whose payload is LEN bytes, for 10 s at most, and checks each as a stream's datagram must be: a valid IPv4
# header checksum, a sequence number no other frame had (so one flow of that size, one trial), and 0x5a in
# every payload byte after it (the
# DPDK engine writes those once per mbuf: a frame that went with another's bytes fails here). Run it in
# the background before the stream starts; its status is the verdict.
frames_check() {
	ip netns exec "$1" python3 - "$2" "$3" "$4" "${5:-1000}" << 'PY'
import socket, struct, sys, time
iface, port, plen, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE: a slow reader still sees every frame
s.bind((iface, 0))
s.settimeout(0.5)
seqs, bad, end = set(), [], time.monotonic() + 10
def csum_ok(h):
    t = sum(struct.unpack('!10H', h))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return t == 0xffff
while len(seqs) + len(bad) < want and time.monotonic() < end:
    try:
        f = s.recv(65536)
    except socket.timeout:
        continue
    if len(f) < 42 or f[12:14] != b'\x08\x00' or f[23] != 17:
        continue
    ihl = (f[14] & 15) * 4
    u = 14 + ihl
    if struct.unpack('!H', f[u + 2:u + 4])[0] != port or struct.unpack('!H', f[u + 4:u + 6])[0] - 8 != plen:
        continue
    p = f[u + 8:u + 8 + plen]
    seq = struct.unpack('<Q', p[:8])[0]
    if not csum_ok(f[14:34]) or seq in seqs or p[8:] != b'\x5a' * (plen - 8):
        bad.append(seq)
    else:
        seqs.add(seq)
print('  frames_check: %d good, %d bad of %d-byte datagrams to port %d%s' % (len(seqs), len(bad), plen, port,
      (': sequence numbers ' + ' '.join(map(str, bad[:8]))) if bad else ''), file=sys.stderr)
sys.exit(0 if len(seqs) >= want and not bad else 1)
PY
}
