#!/bin/bash
# A VM path is removed whatever ends the run: Ctrl-C (SIGINT to the terminal's process group) during the
# run, kill -9 of nbench followed by `nbench topo down`; a guest that does not come up leaves its console
# log where the error says.
. "$(dirname "$0")/lib.sh"

new_virtio() { # the virtio instance not in $1
	local n
	for n in $(instances_of virtio); do
		case " $1 " in *" $n "*) ;; *) echo "$n"; return ;; esac
	done
}

# Ctrl-C during the run: partial report, then everything removed
old=$(instances_of virtio | tr '\n' ' ')
setsid "$NBENCH" rr --path virtio -t 120 -q > "$T/int.out" 2> "$T/int.err" &
pid=$!
PIDS+=($pid)
name=""
for _ in $(seq 100); do name=$(new_virtio "$old"); [ -n "$name" ] && break; sleep 0.2; done
if [ -n "$name" ] && wait_booted "$name"; then
	sleep 2
	kill -INT -- -"$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	check "nbench ended after SIGINT" bash -c "! kill -0 $pid 2>/dev/null"
	check "interrupted run reports what it measured" grep -q "transactions" "$T/int.out"
	clean_check "after SIGINT" "$name"
else
	bad "the virtio guest did not come up: $(cat "$T/int.err")"
fi

# kill -9, then topo down (by name: --all would also take other suites' instances)
old=$(instances_of virtio | tr '\n' ' ')
"$NBENCH" rr --path virtio -t 120 -q > /dev/null 2>&1 &
pid=$!
PIDS+=($pid)
name=""
for _ in $(seq 100); do name=$(new_virtio "$old"); [ -n "$name" ] && break; sleep 0.2; done
if [ -n "$name" ] && wait_booted "$name"; then
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	check "qemu outlives a kill -9 of nbench" pgrep -f "process=nb-$name-qemu"
	check "topo show lists it" bash -c "'$NBENCH' topo show | grep -q '^$name '"
	if "$NBENCH" topo down "$name" > /dev/null 2> "$T/down.err"; then ok; else bad "topo down $name: $(cat "$T/down.err")"; fi
	clean_check "after kill -9 and topo down" "$name"
else
	bad "the virtio guest did not come up (second run)"
	[ -n "$name" ] && "$NBENCH" topo down "$name"
fi

# a guest that does not answer in time: the error names the console log, which is kept
if NBENCH_GUEST_BOOT_TIMEOUT=1 timeout 120 "$NBENCH" topo up virtio --name nbtvfail > /dev/null 2> "$T/fail.err"; then
	bad "a 1 s boot timeout did not fail"
	"$NBENCH" topo down nbtvfail
else
	ok
	log=$(sed -n 's/.*console log: \(\/[^ ]*\).*/\1/p' "$T/fail.err")
	check "error names the console log ($(cat "$T/fail.err"))" test -n "$log"
	check "console log kept at $log" test -f "$log"
	[ -n "$log" ] && rm -f "$log"
fi
clean_check "after a failed boot" nbtvfail
finish
