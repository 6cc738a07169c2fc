# Shared by the vm tests: e2e's helpers plus what a VM path needs. Each test skips (77) where it cannot
# run: not root, no qemu, no namespaces. The image is built (or found up to date) in the default cache
# (/var/cache/nbench/guest, or $NBENCH_GUEST_DIR), so CI pays for the kernel download once per machine.
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, taps, qemu)"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64 (apt-get install qemu-system-x86)"
[ -x /bin/busybox ] || skip "no /bin/busybox (apt-get install busybox-static)"
ip netns add nbt-vmprobe-$$ 2>/dev/null || skip "cannot create network namespaces"
ip netns del nbt-vmprobe-$$
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
# Bounded boots: TCG reaches the responder in ~8 s here; a loaded CI machine gets some slack.
export NBENCH_GUEST_BOOT_TIMEOUT=${NBENCH_GUEST_BOOT_TIMEOUT:-60}
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
# UDP through an emulated (TCG) guest on a host whose CPUs are busy elsewhere may lose a datagram to a full
# queue now and then; the report counts it as a timeout. A path that works loses few.
FEW_TIMEOUTS="e['timeouts'] <= 0.05 * (e['transactions'] + e['timeouts'])"

# the instances of kind KIND (from the state files)
instances_of() {
	local f
	for f in /run/nbench/topo/*.json; do
		[ -f "$f" ] || continue
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["name"]) if d["kind"]==sys.argv[2] else None' "$f" "$1" 2>/dev/null
	done
}

# nothing of instance NAME is left: namespaces, tap, qemu, a vhost-user backend (testpmd, its EAL
# directory), run dir (and the vhost-user socket in it), state file
left_of() {
	local name=$1 what=""
	ip netns list | grep -qE "^nb-$name-" && what+=" netns"
	pgrep -f "process=nb-$name-qemu" >/dev/null && what+=" qemu"
	# by process name too (the kernel keeps 15 characters); a zombie waiting for its reaper is gone
	local comm="nb-$name-qemu"
	ps -eo stat=,comm= | awk -v c="${comm:0:15}" '$2 == c && $1 !~ /^Z/ {f = 1} END {exit !f}' && what+=" qemu(comm)"
	pgrep -f -- "--file-prefix=nb-$name-vu" >/dev/null && what+=" testpmd"
	[ -e "/var/run/dpdk/nb-$name-vu" ] && what+=" /var/run/dpdk/nb-$name-vu"
	[ -e "/run/nbench/vm/$name" ] && what+=" /run/nbench/vm/$name"
	[ -e "/run/nbench/topo/$name.json" ] && what+=" state"
	ip -o link show 2>/dev/null | grep -q "nb-$name-t" && what+=" tap(root ns)"
	echo "$what"
}
clean_check() { # clean_check WHAT NAME
	local l
	l=$(left_of "$2")
	if [ -z "$l" ]; then ok; else bad "$1: left behind:$l"; fi
}

# run NAME args...: `nbench args --topo $name --json` into $T/NAME.json (at most 120 s); a failure is one check.
run() {
	local n=$1; shift
	if ! timeout 120 "$NBENCH" "$@" --topo "$name" --json > "$T/$n.json" 2> "$T/$n.err"; then
		bad "$n: $(cat "$T/$n.err")"; return 1
	fi
	ok
}

wait_booted() { # wait_booted NAME: until the guest answered (boot_ns recorded), at most 120 s
	for _ in $(seq 240); do
		grep -qE '"boot_ns":[[:space:]]*[0-9]' "/run/nbench/vm/$1/guest.json" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}
