#!/bin/bash
# The accelerator and vhost-net are probed, not assumed, and the answers match this machine: without a
# working /dev/vhost-net the vhost path refuses with the reason; a /dev/kvm that cannot boot the guest
# (PVM here) falls back to TCG within the probe's timeout, with the reason.
. "$(dirname "$0")/lib.sh"
unset NBENCH_ACCEL
timeout 300 "$NBENCH" guest build --quiet > /dev/null 2> "$T/build.err" || { bad "guest build: $(cat "$T/build.err")"; finish; }

start=$(date +%s)
if timeout 60 "$NBENCH" guest probe --fresh --json > "$T/probe.json" 2> "$T/probe.err"; then ok; else bad "probe failed: $(cat "$T/probe.err")"; finish; fi
took=$(( $(date +%s) - start ))
cat "$T/probe.json"
check "fresh probe bounded (${took} s)" test "$took" -le 25
accel=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accel"])' "$T/probe.json")
check "accel is kvm or tcg ($accel)" test "$accel" = kvm -o "$accel" = tcg
if [ ! -e /dev/kvm ]; then
	check "no /dev/kvm -> tcg" test "$accel" = tcg
fi
if [ "$accel" = tcg ]; then
	check "tcg says why kvm is not used" python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["accel_why"]' "$T/probe.json"
fi
# this machine (MACHINE.md): /dev/kvm is PVM, which does not run a stock kernel
if grep -q -- '-fc-' /proc/sys/kernel/osrelease && [ -e /dev/kvm ]; then
	check "PVM /dev/kvm -> tcg" test "$accel" = tcg
fi
# the cached answer: the same, at once
start=$(date +%s%N)
"$NBENCH" guest probe --json > "$T/probe2.json"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "cached probe agrees" python3 -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); assert a["accel"]==b["accel"]' "$T/probe.json" "$T/probe2.json"
check "cached probe is quick (${ms} ms)" test "$ms" -lt 3000

# vhost-net
vhost=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vhost_net"])' "$T/probe.json")
if [ -e /dev/vhost-net ]; then
	check "vhost-net present -> available" test "$vhost" = True
else
	check "no /dev/vhost-net -> unavailable" test "$vhost" = False
	if timeout 60 "$NBENCH" rr --path vhost -t 1 > "$T/vh.out" 2> "$T/vh.err"; then
		bad "rr --path vhost succeeded without /dev/vhost-net"
	else
		ok
		check "vhost path says vhost-net is unavailable and why" grep -q "vhost-net is unavailable: /dev/vhost-net" "$T/vh.err"
	fi
	check "nothing built for the refused vhost path" test -z "$(instances_of vhost)"
fi
finish
