#!/bin/bash
# Shared by scripts/bench-dpdk and scripts/bench-throughput (sourced, not run): one veth pair between two
# throwaway namespaces (net_af_packet on both ends), nbench's responder there, dpdk-testpmd txonly -> rxonly on
# the same pair, and the helpers that read their figures. The caller sets SECS, NBENCH (absolute), TX_CPU,
# RX_CPU and NAME (its name in messages and logs) before sourcing, and calls dpdk_setup once.
sfx=$$ C=nbt-bc-$$ S=nbt-bs-$$ PORT=12999 T=$(mktemp -d)
PIDS=()
dpdk_cleanup() {
	for p in "${PIDS[@]}"; do kill -INT "$p" 2> /dev/null; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
	ip netns del "$C" 2> /dev/null
	ip netns del "$S" 2> /dev/null
	[ -n "${KEEP:-}" ] && rm -rf "/tmp/$NAME-last" && cp -r "$T" "/tmp/$NAME-last"
	rm -rf "$T" /var/run/dpdk/nbt-tp-$sfx-*
}

# Checks what every DPDK bench needs, builds the pair, and arms the cleanup.
dpdk_setup() {
	[ -x "$NBENCH" ] || { echo "$NAME: $NBENCH is not built (set NBENCH)" >&2; exit 1; }
	[ "$(id -u)" = 0 ] || { echo "$NAME: needs root" >&2; exit 1; }
	command -v dpdk-testpmd > /dev/null || { echo "$NAME: dpdk-testpmd missing (apt-get install dpdk-dev)" >&2; exit 1; }
	[ "$TX_CPU" != "$RX_CPU" ] || { echo "$NAME: TX_CPU and RX_CPU must differ (two polling threads)" >&2; exit 2; }
	trap dpdk_cleanup EXIT INT TERM
	ip netns add "$C" && ip netns add "$S" || exit 1
	ip -n "$C" link add veth0 type veth peer name veth1 netns "$S" || exit 1
	ip -n "$C" addr add 10.219.0.1/24 dev veth0
	ip -n "$S" addr add 10.219.0.2/24 dev veth1
	for n in "$C" "$S"; do ip -n "$n" link set lo up; done
	ip -n "$C" link set veth0 up
	ip -n "$S" link set veth1 up
	# testpmd sends the frames nbench sends: to the receiver's MAC and nbench's addresses and port. Its
	# defaults (02:00:00:00:00:00, 198.18.0.x) would make the receiving kernel drop them as another host's at
	# once, while nbench's, to veth1's own MAC, go on to a route lookup: a cheaper kernel path for testpmd,
	# on the sender's CPU.
	RMAC=$(ip -n "$S" -o link show veth1 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
	# A DPDK generator sends from its own --dpdk-ip, not from the control connection's address: the
	# responder admits that only from a client that proved the shared key, so both sides get one.
	"$NBENCH" key gen "$T/key" > /dev/null && export NBENCH_KEY_FILE=$T/key || exit 1
}

EAL=(--no-huge -m 512 --no-pci --no-telemetry)
# af_packet's rings, the same on both tools' ports: its default of 512 frames holds ~1 ms at these rates, so
# any pause of a polling thread longer than that loses frames, which a zero-loss search then reports as the
# rate; 4096 frames (8 MiB a ring) ride out a scheduler tick. AFP= (empty) gives the PMD's default.
AFP=${AFP-framecnt=4096}
AFPX=${AFP:+,$AFP}
# testpmd: lcores TX_CPU and RX_CPU; the forwarding lcore is the one that is not --main-lcore
TP=(--total-num-mbufs=8192 --burst=32 --rxd=1024 --txd=1024 --stats-period 1 -a)
GEN=(--engine dpdk --dpdk-port net_af_packet0,iface=veth0$AFPX --dpdk-ip 10.219.0.11 --data-host 10.219.0.12 --cpu-gen "$TX_CPU" --cpu-resp "$RX_CPU")
RESP=(--engine dpdk --dpdk-port net_af_packet0,iface=veth1$AFPX --dpdk-ip 10.219.0.12)

wait_port() { for _ in $(seq 100); do ip netns exec "$S" timeout 1 bash -c "exec 3<>/dev/tcp/10.219.0.2/$PORT" 2> /dev/null && return 0; kill -0 "$SPID" 2> /dev/null || return 1; sleep 0.1; done; return 1; }
# serve [--once] [options]: nbench's responder in the server namespace, until it accepts connections
serve() { ip netns exec "$S" "$NBENCH" serve --port "$PORT" --quiet "$@" > "$T/serve.log" 2>&1 & SPID=$!; PIDS+=($SPID); wait_port; }
# the responder ends by itself after its test (--once); one whose generator failed (or a long-lived one) is told
# to stop
unserve() { for _ in $(seq 30); do kill -0 $SPID 2> /dev/null || break; sleep 0.1; done; kill -TERM $SPID 2> /dev/null; wait $SPID 2> /dev/null; }
# Microseconds some task has waited for a CPU since boot (PSI). Over a run's steady seconds the two ends'
# polling threads alone make ~25-40 ms/s of it (their control threads' wakeups); much more means something else
# ran then, however briefly it lived.
psi_us() { awk '/^some/ {sub("total=", "", $5); print $5}' /proc/pressure/cpu 2> /dev/null || echo 0; }
median() { sort -g | awk '{a[NR]=$1} END {print NR ? (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2) : 0}'; }
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); e=d.get('end', {}); print($2)" "$1"; }

# testpmd's per-second blocks: "RX-packets: N ... Rx-pps: R" for the receiver, "TX-packets: N ... Tx-pps: R"
# for the sender. Prints the median per-second rate over the busy seconds but the first (warm-up) and the last
# (the sender stopping part way), and the packet count over those same seconds divided by their number.
tp_rate() { # tp_rate LOG RX|TX
	local k=$2 p=Rx-pps:
	[ "$k" = TX ] && p=Tx-pps:
	awk -v c="$k-packets:" -v p="$p" '
		{ for (i = 1; i < NF; i++) { if ($i == c) cnt = $(i+1); if ($i == p) print $(i+1), cnt } }' "$1" > "$1.sec"
	awk '$1 > 1000 {print NR}' "$1.sec" > "$1.busy"
	local f l
	f=$(head -1 "$1.busy") l=$(tail -1 "$1.busy")
	[ -n "$f" ] || { echo "0 0"; return; }
	local a=$((f + 1)) b=$((l - 1))
	[ $b -ge $a ] || { a=$f; b=$l; }
	local med
	med=$(sed -n "${a},${b}p" "$1.sec" | awk '{print $1}' | median)
	awk -v a="$a" -v b="$b" -v med="$med" 'NR == a {ca = $2} NR == b {cb = $2} END {print med, (b > a ? (cb - ca) / (b - a) : med)}' "$1.sec"
}

# testpmd_pps RUN FRAME: txonly on the client's end -> rxonly on the server's, FRAME bytes as sent (no FCS).
# Prints "rx_pps rx_count_rate tx_pps waited_ms".
testpmd_pps() {
	local n=$1 frame=$2
	ip netns exec "$S" dpdk-testpmd "${EAL[@]}" -l "$RX_CPU,$TX_CPU" --main-lcore "$TX_CPU" --file-prefix nbt-tp-$sfx-rx$n \
		--vdev net_af_packet0,iface=veth1$AFPX -- "${TP[@]}" --forward-mode=rxonly > "$T/rx$n.log" 2>&1 &
	local rx=$!
	PIDS+=($rx)
	sleep 2
	(timeout -s INT $((SECS + 2)) ip netns exec "$C" dpdk-testpmd "${EAL[@]}" -l "$TX_CPU,$RX_CPU" --main-lcore "$RX_CPU" \
		--file-prefix nbt-tp-$sfx-tx$n --vdev net_af_packet0,iface=veth0$AFPX -- "${TP[@]}" --forward-mode=txonly \
		--txpkts="$frame" --tx-first --eth-peer=0,"$RMAC" --tx-ip=10.219.0.11,10.219.0.12 --tx-udp=50000,$PORT > "$T/tx$n.log" 2>&1) &
	local tx=$! w0 w1
	PIDS+=($tx)
	sleep 2.5 && w0=$(psi_us) && sleep $((SECS - 2)) && w1=$(psi_us)
	wait $tx
	sleep 1.5 # one more stats period at the receiver, so the last busy second is complete
	kill -INT $rx; wait $rx 2> /dev/null
	read -r rxp rxc < <(tp_rate "$T/rx$n.log" RX)
	read -r txp _ < <(tp_rate "$T/tx$n.log" TX)
	echo "$rxp $rxc $txp $(((w1 - w0) / 1000))"
}
