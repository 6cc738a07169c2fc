#!/bin/bash
# DPDK generator against the DPDK responder across a veth pair between two throwaway namespaces, with
# net_af_packet (control and data on the same veth) and with net_af_xdp (data on a second veth pair: the
# XDP program takes every frame of its queue, so control uses the first pair's kernel addresses).
. "$(dirname "$0")/lib.sh"
two_ns 211
port=$(free_port)
GEN=(--engine dpdk --dpdk-port net_af_packet0,iface=veth0 --dpdk-ip 10.211.0.11)
H=(-H 10.211.0.2 -p "$port" -t 1)

for test in rr stream stream_rev; do
	args=(rr); [ $test = stream ] && args=(stream); [ $test = stream_rev ] && args=(stream --reverse)
	RESP_ADDR=10.211.0.2 start_responder "$port" "$S" --once --engine dpdk \
		--dpdk-port net_af_packet0,iface=veth1 --dpdk-ip 10.211.0.12 || exit 1
	if runc "afp_$test" "${args[@]}" "${GEN[@]}" "${H[@]}"; then
		if [ $test = rr ]; then
			check "af_packet rr" json_check "$T/afp_$test.json" "$RR_OK and e['timeouts'] <= 2 and $(echo "$DPDK_INFO" | sed 's/PMD/"net_af_packet"/')"
		else
			check "af_packet $test" json_check "$T/afp_$test.json" "$UDP_STREAM_OK"
		fi
	fi
	wait "$RESP_PID"; check "af_packet responder ($test) exits 0 after --once" test $? = 0
done

# net_af_xdp on a data-only pair
ip -n "$C" link add vx0 type veth peer name vx1 netns "$S" || exit 1
ip -n "$C" link set vx0 up
ip -n "$S" link set vx1 up
RESP_ADDR=10.211.0.2 start_responder "$port" "$S" --once --engine dpdk \
	--dpdk-port net_af_xdp0,iface=vx1 --dpdk-ip 10.212.0.12 || exit 1
if runc xdp_rr rr --engine dpdk --dpdk-port net_af_xdp0,iface=vx0 --dpdk-ip 10.212.0.11 "${H[@]}"; then
	check "af_xdp rr" json_check "$T/xdp_rr.json" "$RR_OK and d['start']['dpdk']['pmd'] == 'net_af_xdp'"
	python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['end']; print('af_xdp rr: %d transactions, %d timeouts' % (e['transactions'], e['timeouts']))" "$T/xdp_rr.json"
fi
wait "$RESP_PID"
check "no EAL runtime directory left" no_residue
finish
