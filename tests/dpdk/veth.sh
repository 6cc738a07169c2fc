#!/bin/bash
# DPDK generator against the DPDK responder across a veth pair between two throwaway namespaces, with
# net_af_packet (control and data on the same veth) and with net_af_xdp (data on a second veth pair: the
# XDP program takes every frame of its queue, so control uses the first pair's kernel addresses). An rr that
# stalls (a port that stops receiving) fails: at most 1% of its transactions may time out, and every quarter
# second of it must complete transactions.
. "$(dirname "$0")/lib.sh"
two_ns 211
port=$(free_port)
GEN=(--engine dpdk --dpdk-port net_af_packet0,iface=veth0 --dpdk-ip 10.211.0.11)
H=(-H 10.211.0.2 -p "$port" -t 1)
NO_STALL='e["timeouts"] <= 0.01 * e["transactions"] and len(d["intervals"]) >= 3 and all(iv["txns"] > 0 for iv in d["intervals"])'
POLLS='d["start"]["placement"]["resp_wait"] == "spin (dpdk poll)" and d["start"]["placement"]["gen_wait"] == "spin (dpdk poll)"'
per_flow() { # per_flow FILE N KEY: N flows, each with KEY > 0
	json_check "$1" "len(e['flows']) == $2 and all(f['$3'] > 0 for f in e['flows'])"
}
summary() { python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['end']; print('  %s: %d transactions, %d timeouts' % (sys.argv[2], e['transactions'], e['timeouts']))" "$1" "$2"; }

for test in rr stream stream_rev stream_rev_paced rr_p3 stream_p2; do
	case $test in
	rr) args=(rr -i 0.25) ;;
	stream) args=(stream "${PACE[@]}") ;;
	stream_rev) args=(stream --reverse "${PACE[@]}") ;;
	stream_rev_paced) args=(stream --reverse -b 20M) ;;
	rr_p3) args=(rr -P 3 -i 0.25) ;;
	stream_p2) args=(stream -P 2 --msg-size 500) ;;
	esac
	RESP_ADDR=10.211.0.2 start_responder "$port" "$S" --once --engine dpdk \
		--dpdk-port net_af_packet0,iface=veth1 --dpdk-ip 10.211.0.12 || exit 1
	if runc "afp_$test" "${args[@]}" "${GEN[@]}" "${H[@]}" --data-host 10.211.0.12; then
		case $test in
		rr)
			check "af_packet rr" json_check "$T/afp_$test.json" "$RR_OK and $NO_STALL and $(echo "$DPDK_INFO" | sed 's/PMD/"net_af_packet"/')"
			check "af_packet rr: both ends poll" json_check "$T/afp_$test.json" "$POLLS"
			summary "$T/afp_$test.json" "af_packet rr" ;;
		rr_p3)
			check "af_packet rr -P 3" json_check "$T/afp_$test.json" "$RR_OK and $NO_STALL"
			check "af_packet rr -P 3: every flow" per_flow "$T/afp_$test.json" 3 transactions
			summary "$T/afp_$test.json" "af_packet rr -P 3" ;;
		stream_p2)
			# three polling threads (two flows, the responder) on two CPUs here: loss is the CPU's, not checked
			check "af_packet stream -P 2" json_check "$T/afp_$test.json" "e['complete'] and 0 < e['packets_received'] <= e['packets_sent'] and $PORT_TX"
			check "af_packet stream -P 2: every flow" per_flow "$T/afp_$test.json" 2 packets_received ;;
		stream_rev_paced)
			# the DPDK responder keeps to the schedule: unpaced it sends hundreds of Mbit/s here
			check "af_packet reverse stream paced to 20 Mbit/s" json_check "$T/afp_$test.json" "$UDP_STREAM_OK and $PORT_RX and 0 < e['goodput_bps'] <= 20e6 * 1.05" ;;
		stream)
			check "af_packet $test" json_check "$T/afp_$test.json" "$UDP_STREAM_OK and $PORT_TX" ;;
		*)
			check "af_packet $test" json_check "$T/afp_$test.json" "$UDP_STREAM_OK and $PORT_RX" ;;
		esac
	fi
	wait "$RESP_PID"; check "af_packet responder ($test) exits 0 after --once" test $? = 0
done

# The frames a sender put on the wire, as a capture at the other end sees them: every one its own sequence
# number and the stream's payload bytes, which the engine writes once per mbuf. throughput runs its trials
# on one engine, so the second size's frames go in mbufs that held the first size's; one trial per size (the
# binary search's first, at the bound, passes with --loss 50), so no sequence number comes twice.
RESP_ADDR=10.211.0.2 start_responder "$port" "$S" --engine dpdk --dpdk-port net_af_packet0,iface=veth1 \
	--dpdk-ip 10.211.0.12 || exit 1
caps=()
for len in 1472 700; do
	frames_check "$S" veth1 "$port" "$len" 2000 &
	caps+=($!)
done
sleep 0.3
if ip netns exec "$C" "$NBENCH" throughput --search binary --loss 50 --sizes 1518,746 --trial 1 --max-rate 50M "${GEN[@]}" \
	-H 10.211.0.2 -p "$port" --data-host 10.211.0.12 --json > "$T/frames.json" 2> "$T/frames.err"; then
	ok
else
	bad "throughput for the frame capture: $(tail -3 "$T/frames.err")"
fi
lens=(1472 700)
for i in 0 1; do
	wait "${caps[$i]}"
	check "af_packet ${lens[$i]}-byte datagrams: each its own sequence number and the payload" test $? = 0
done
stop_responder

# net_af_xdp on a data-only pair, on either end or both
ip -n "$C" link add vx0 type veth peer name vx1 netns "$S" || exit 1
ip -n "$C" link set vx0 up
ip -n "$S" link set vx1 up
XDP_GEN=(--engine dpdk --dpdk-port net_af_xdp0,iface=vx0 --dpdk-ip 10.212.0.11)
for sides in both gen resp; do
	resp=(--engine dpdk --dpdk-port net_af_xdp0,iface=vx1 --dpdk-ip 10.212.0.12)
	gen=("${XDP_GEN[@]}")
	[ $sides = gen ] && resp=(--engine dpdk --dpdk-port net_af_packet0,iface=vx1 --dpdk-ip 10.212.0.12)
	[ $sides = resp ] && gen=(--engine dpdk --dpdk-port net_af_packet0,iface=vx0 --dpdk-ip 10.212.0.11)
	RESP_ADDR=10.211.0.2 start_responder "$port" "$S" --once "${resp[@]}" || exit 1
	if runc "xdp_rr_$sides" rr -i 0.25 "${gen[@]}" -H 10.211.0.2 -p "$port" -t 2 --data-host 10.212.0.12; then
		check "af_xdp rr ($sides)" json_check "$T/xdp_rr_$sides.json" "$RR_OK and $NO_STALL"
		[ $sides != resp ] && check "af_xdp rr ($sides): pmd" json_check "$T/xdp_rr_$sides.json" "d['start']['dpdk']['pmd'] == 'net_af_xdp'"
		summary "$T/xdp_rr_$sides.json" "af_xdp rr ($sides)"
	fi
	wait "$RESP_PID"; check "af_xdp responder ($sides) exits 0 after --once" test $? = 0
done
RESP_ADDR=10.211.0.2 start_responder "$port" "$S" --once --engine dpdk --dpdk-port net_af_xdp0,iface=vx1 --dpdk-ip 10.212.0.12 || exit 1
runc xdp_st stream --msg-size 1000 "${PACE[@]}" "${XDP_GEN[@]}" "${H[@]}" --data-host 10.212.0.12 && check "af_xdp stream" json_check "$T/xdp_st.json" "$UDP_STREAM_OK and $PORT_TX"
wait "$RESP_PID"; check "af_xdp responder (stream) exits 0 after --once" test $? = 0
check "no EAL runtime directory left" no_residue
finish
