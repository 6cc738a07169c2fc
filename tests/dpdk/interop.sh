#!/bin/bash
# The DPDK engine against the kernel's, both ways, over one veth pair: a DPDK generator against plain
# `nbench serve`, and the kernel generator against `nbench serve --engine dpdk` (which advertises its own data
# address in TEST_ACK, followed with --data-host; the kernel resolves it by ARP, which the engine answers).
. "$(dirname "$0")/lib.sh"
two_ns 213
port=$(free_port)
H=(-H 10.213.0.2 -p "$port" -t 1)
GEN=(--engine dpdk --dpdk-port net_af_packet0,iface=veth0 --dpdk-ip 10.213.0.11)

# DPDK generator -> kernel responder
RESP_ADDR=10.213.0.2 start_responder "$port" "$S" || exit 1
runc d2k_rr rr "${GEN[@]}" "${H[@]}" && check "dpdk gen -> kernel serve: rr" json_check "$T/d2k_rr.json" "$RR_OK and e['timeouts'] <= 2"
runc d2k_rr3 rr -P 3 "${GEN[@]}" "${H[@]}" && check "dpdk gen -> kernel serve: rr, 3 flows" json_check "$T/d2k_rr3.json" "$RR_OK and e['timeouts'] <= 0.01 * e['transactions'] and len(e['flows']) == 3 and all(f['transactions'] > 0 for f in e['flows'])"
runc d2k_st stream --msg-size 1000 "${PACE[@]}" "${GEN[@]}" "${H[@]}" && check "dpdk gen -> kernel serve: stream" json_check "$T/d2k_st.json" "$UDP_STREAM_OK and $PORT_TX"
runc d2k_rev stream --reverse --msg-size 1000 "${GEN[@]}" "${H[@]}" && check "dpdk gen -> kernel serve: reverse stream" json_check "$T/d2k_rev.json" "e['complete'] and $PORT_RX"
stop_responder

# kernel generator -> DPDK responder
for test in rr stream; do
	RESP_ADDR=10.213.0.2 start_responder "$port" "$S" --once --engine dpdk \
		--dpdk-port net_af_packet0,iface=veth1 --dpdk-ip 10.213.0.12 || exit 1
	if [ $test = rr ]; then
		runc k2d_rr rr --proto udp -P 2 "${H[@]}" --data-host 10.213.0.12 && check "kernel gen -> dpdk serve: rr, 2 flows" json_check "$T/k2d_rr.json" "$RR_OK and e['timeouts'] <= 2"
	else
		runc k2d_st stream --proto udp --msg-size 1000 "${PACE[@]}" "${H[@]}" --data-host 10.213.0.12 && check "kernel gen -> dpdk serve: stream" json_check "$T/k2d_st.json" "$UDP_STREAM_OK"
	fi
	wait "$RESP_PID"; check "dpdk responder exits 0 after --once" test $? = 0
done
# a TCP test is refused by the DPDK responder with a clear error
RESP_ADDR=10.213.0.2 start_responder "$port" "$S" --engine dpdk --dpdk-port net_af_packet0,iface=veth1 --dpdk-ip 10.213.0.12 || exit 1
ip netns exec "$C" "$NBENCH" rr "${H[@]}" > /dev/null 2> "$T/tcp.err"
check "tcp refused by the dpdk responder" grep -q "UDP" "$T/tcp.err"
# the client sends data only where -H went unless --data-host names the address the responder asks for
ip netns exec "$C" "$NBENCH" rr --proto udp "${H[@]}" > /dev/null 2> "$T/nodh.err"
rc=$?
check "without --data-host the dpdk responder's data address is refused (rc $rc): $(cat "$T/nodh.err")" \
	test "$rc" = 1 -a "$(grep -c . "$T/nodh.err")" = 1
check "... naming both addresses and --data-host" grep -q "10.213.0.12.*10.213.0.2 .*--data-host 10.213.0.12" "$T/nodh.err"
sleep 6 # the refused client's test holds the one-test responder until its 5 s wait for flows ends
ip netns exec "$C" "$NBENCH" rr --proto udp "${H[@]}" --data-host 10.213.0.99 > /dev/null 2> "$T/wrongdh.err"
check "a --data-host other than the responder's is refused: $(cat "$T/wrongdh.err")" grep -q "not --data-host 10.213.0.99" "$T/wrongdh.err"
stop_responder
check "no EAL runtime directory left" no_residue
finish
