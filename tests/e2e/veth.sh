#!/bin/bash
# End to end across a veth pair between two throwaway namespaces: TCP and UDP, both directions, and UDP
# loss counted when an nft rule in the server's namespace drops every 10th datagram.
. "$(dirname "$0")/lib.sh"
command -v nft > /dev/null || skip "nft is not installed"
veth_pair 10.199.0
port=$(free_port)
RESP_ADDR=10.199.0.2 start_responder "$port" "$S" || exit 1
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
H=(-H 10.199.0.2 -p "$port" -t 1)

run() {
	local name=$1; shift
	if ! ip netns exec "$C" "$NBENCH" "$@" "${H[@]}" --json > "$T/$name.json" 2> "$T/$name.err"; then
		bad "$name exited non-zero: $(cat "$T/$name.err")"; return 1
	fi
	ok
}
run rr_tcp rr && check "veth rr tcp" json_check "$T/rr_tcp.json" "$RR_OK"
run rr_udp rr --proto udp && check "veth rr udp" json_check "$T/rr_udp.json" "$RR_OK and e['timeouts'] == 0"
run crr crr && check "veth crr" json_check "$T/crr.json" "$RR_OK"
run st_tcp stream -P 2 && check "veth stream balances" json_check "$T/st_tcp.json" "$STREAM_OK and $TCP_BALANCE"
run st_rev stream --reverse && check "veth reverse stream balances" json_check "$T/st_rev.json" "$STREAM_OK and $TCP_BALANCE"

# Every 10th UDP datagram to the data port dropped on the way in (the control connection is TCP). The
# counts to check nbench's against are the kernel's: datagrams that reached the rule, those it dropped, and
# those the server's socket buffers dropped (RcvbufErrors, this namespace's own).
ip netns exec "$S" nft -f - <<NFT || exit 1
table inet nbt_loss {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport $port counter
		udp dport $port numgen inc mod 10 == 0 counter drop
	}
}
NFT
# counts: "ARRIVED DROPPED RCVBUF_ERRORS" so far
counts() {
	local c
	c=$(ip netns exec "$S" nft list table inet nbt_loss | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | tr '\n' ' ')
	echo "$c$(ip netns exec "$S" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") k = i; h = 1 } else print $k }' /proc/net/snmp)"
}
read -r a0 d0 e0 <<< "$(counts)"
run st_loss stream --proto udp --msg-size 1000 && {
	read -r a1 d1 e1 <<< "$(counts)"
	arrived=$((a1 - a0)) drops=$((d1 - d0)) overflow=$((e1 - e0))
	# what the receiver counted is what passed the rule less what its sockets dropped (but a few
	# flow hellos, which reach the port and are not data); what the sender counted got there
	check "udp stream: the receiver counted what the kernel delivered ($arrived arrived, $drops dropped by the rule, $overflow by the socket)" \
		json_check "$T/st_loss.json" \
		"$STREAM_OK and $arrived - $drops - $overflow - 4 <= e['packets_received'] <= $arrived - $drops - $overflow and e['packets_sent'] >= $arrived - 4 and e['lost'] >= $drops and 0.09 * $arrived <= $drops <= 0.11 * $arrived + 2"
}
read -r a0 d0 e0 <<< "$(counts)"
run rr_loss rr --proto udp --udp-timeout 20ms && {
	read -r a1 d1 e1 <<< "$(counts)"
	drops=$((d1 - d0))
	# each request the rule dropped is one timeout, but for the hello (resent) and one still
	# waiting at the end; a few more may be answers later than 20 ms on a loaded machine
	check "udp rr: one timeout per request the rule dropped ($drops)" json_check "$T/rr_loss.json" \
		"$RR_OK and $drops > 0 and $drops - 2 <= e['timeouts'] <= $drops + 2 + 0.1 * $drops"
}
ip netns exec "$S" nft delete table inet nbt_loss
check "responder alive" kill -0 "$RESP_PID"
finish
