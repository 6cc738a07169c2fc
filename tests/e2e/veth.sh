#!/bin/bash
# End to end across a veth pair between two throwaway namespaces: TCP and UDP, both directions, and UDP
# loss counted when an nft rule in the server's namespace drops every 10th datagram.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
ip netns add nbt-probe-$$ 2>/dev/null || skip "cannot create network namespaces"
ip netns del nbt-probe-$$
command -v nft > /dev/null || skip "nft is not installed"

sfx=$$$RANDOM
C=nbt-c-$sfx S=nbt-s-$sfx
CLEANUPS+=("ip netns del $C" "ip netns del $S")
ip netns add "$C" && ip netns add "$S" || exit 1
ip -n "$C" link add veth0 type veth peer name veth1 netns "$S" || exit 1
ip -n "$C" addr add 10.199.0.1/24 dev veth0
ip -n "$S" addr add 10.199.0.2/24 dev veth1
for n in "$C" "$S"; do ip -n "$n" link set lo up; done
ip -n "$C" link set veth0 up
ip -n "$S" link set veth1 up
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

# every 10th UDP datagram to the data port dropped on the way in (the control connection is TCP); the rule
# counts its drops, so the check holds however many more the receiver's socket buffer loses under load
ip netns exec "$S" nft -f - <<NFT || exit 1
table inet nbt_loss {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport $port numgen inc mod 10 == 0 counter drop
	}
}
NFT
rule_drops() { ip netns exec "$S" nft list table inet nbt_loss | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
d0=$(rule_drops)
run st_loss stream --proto udp --msg-size 1000 && {
	drops=$(( $(rule_drops) - d0 ))
	check "udp stream: the rule dropped ~10% and every drop is counted lost" json_check "$T/st_loss.json" \
		"$STREAM_OK and e['lost'] == e['packets_sent'] - e['packets_received'] and e['lost'] >= $drops and 0.09 * e['packets_sent'] <= $drops <= 0.11 * e['packets_sent'] + 2"
}
run rr_loss rr --proto udp --udp-timeout 20ms && check "udp rr timeouts counted" json_check "$T/rr_loss.json" "$RR_OK and e['timeouts'] > 0 and 0.05 <= e['timeouts'] / (e['timeouts'] + e['transactions']) <= 0.30"
ip netns exec "$S" nft delete table inet nbt_loss
check "responder alive" kill -0 "$RESP_PID"
finish
