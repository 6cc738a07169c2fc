#!/bin/bash
# A net_memif pair between two processes in one throwaway namespace (control over its loopback). The memif
# receiver crashes if its sender exits under traffic, so traffic always ends before either side exits, and
# the cleanup stops the receiver (the responder) first.
. "$(dirname "$0")/lib.sh"
sfx=$$$RANDOM
S=nbt-dm-$sfx C=$S
CLEANUPS+=("ip netns del $S")
ip netns add "$S" && ip -n "$S" link set lo up || exit 1
SOCK=$T/memif.sock
port=$(free_port)
H=(-H 127.0.0.1 -p "$port" -t 1 --data-host 10.214.0.2) # the DPDK responder's data address
GEN=(--engine dpdk --dpdk-port net_memif1,role=client,socket=$SOCK --dpdk-ip 10.214.0.1)
for test in rr stream stream_rev; do
	args=(rr); [ $test = stream ] && args=(stream --msg-size 1000 "${PACE[@]}"); [ $test = stream_rev ] && args=(stream --reverse --msg-size 1000 "${PACE[@]}")
	start_responder "$port" "$S" --once --engine dpdk --dpdk-port "net_memif0,role=server,socket=$SOCK" --dpdk-ip 10.214.0.2 || exit 1
	if runc "memif_$test" "${args[@]}" "${GEN[@]}" "${H[@]}"; then
		if [ $test = rr ]; then
			check "memif rr" json_check "$T/memif_$test.json" "$RR_OK and e['timeouts'] == 0 and $(echo "$DPDK_INFO" | sed 's/PMD/"net_memif"/')"
		elif [ $test = stream ]; then
			check "memif $test" json_check "$T/memif_$test.json" "$UDP_STREAM_OK and $PORT_TX"
		else
			check "memif $test" json_check "$T/memif_$test.json" "$UDP_STREAM_OK and $PORT_RX"
		fi
	fi
	wait "$RESP_PID"; check "memif responder ($test) exits 0" test $? = 0
done
check "no EAL runtime directory left" no_residue
finish
