#!/bin/bash
# Bad EAL arguments, a port that is no port, a virtual device whose interface is missing: one clear line,
# exit 2 for bad usage (1 for a missing device), and no EAL runtime directory left behind.
. "$(dirname "$0")/lib.sh"
E=$T/err
one_line() { # one_line STATUS-WANTED PATTERN CMD...: the exit status and a single stderr line naming the problem
	local want=$1 pat=$2; shift 2
	"$@" > /dev/null 2> "$E"
	local rc=$?
	if [ "$rc" != "$want" ]; then echo "  exit $rc, wanted $want: $(head -3 "$E")" >&2; return 1; fi
	if [ "$(wc -l < "$E")" != 1 ]; then echo "  not one line:" >&2; head -5 "$E" >&2; return 1; fi
	grep -q -- "$pat" "$E" || { echo "  '$pat' not in: $(cat "$E")" >&2; return 1; }
}
G=(rr -H 127.0.0.1 -p 9 --engine dpdk --dpdk-ip 10.215.0.1)
check "bad EAL argument" one_line 2 "unrecognized option '--bogus'" "$NBENCH" "${G[@]}" --dpdk-port net_af_packet0,iface=lo --dpdk-args "--bogus"
check "EAL option without its value" one_line 2 "requires an argument" "$NBENCH" "${G[@]}" --dpdk-port net_af_packet0,iface=lo --dpdk-args "-m"
check "unknown port spec" one_line 2 "neither a PCI address" "$NBENCH" "${G[@]}" --dpdk-port eth0
check "unknown vdev driver" one_line 1 "net_nosuch0" "$NBENCH" "${G[@]}" --dpdk-port net_nosuch0
check "vdev on a missing interface" one_line 1 "No such device" "$NBENCH" "${G[@]}" --dpdk-port net_af_packet0,iface=nbt-nosuch
check "no --dpdk-ip" one_line 2 "dpdk-ip" "$NBENCH" rr -H 127.0.0.1 --engine dpdk --dpdk-port net_af_packet0,iface=lo
check "--dpdk-* without --engine dpdk" one_line 2 "engine dpdk" "$NBENCH" rr -H 127.0.0.1 --dpdk-port net_af_packet0,iface=lo
check "dpdk with tcp" one_line 2 "UDP" "$NBENCH" rr -H 127.0.0.1 --proto tcp --engine dpdk --dpdk-port net_af_packet0,iface=lo --dpdk-ip 10.215.0.1
check "serve: bad EAL argument" one_line 2 "unrecognized option" "$NBENCH" serve --engine dpdk --dpdk-port net_af_packet0,iface=lo --dpdk-ip 10.215.0.1 --dpdk-args "--bogus"
check "serve: missing interface" one_line 1 "No such device" "$NBENCH" serve --engine dpdk --dpdk-port net_af_packet0,iface=nbt-nosuch --dpdk-ip 10.215.0.1
check "no EAL runtime directory left" no_residue
finish
