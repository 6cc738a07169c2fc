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
