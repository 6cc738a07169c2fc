#!/bin/bash
# A forged-source UDP hello (issue 10, items 2 and 8): in a throwaway namespace pair, a client runs a reverse
# UDP test and, from a raw socket, sends its second flow's hello (with the right token) under the source
# address of a "victim" (a third address, on the client's side, with a socket listening where the flow
# would go). The victim must receive no datagram at all (no DATA_ACK, no stream); the client's own hellos
# are admitted, and a real client's test running at the same time is unaffected. Root only.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, a raw socket)"
sfx=$$$RANDOM
C=nbt-sc-$sfx S=nbt-ss-$sfx
ip netns add "$C" 2>/dev/null || skip "cannot create network namespaces"
CLEANUPS+=("ip netns del $C" "ip netns del $S")
ip netns add "$S" || exit 1
ip -n "$C" link add veth0 type veth peer name veth1 netns "$S" || exit 1
ip -n "$C" addr add 10.231.0.1/24 dev veth0
ip -n "$C" addr add 10.231.0.3/24 dev veth0 # the victim's address
ip -n "$S" addr add 10.231.0.2/24 dev veth1
for n in "$C" "$S"; do ip -n "$n" link set lo up; done
ip -n "$C" link set veth0 up
ip -n "$S" link set veth1 up
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")
port=$(free_port)
RESP_ADDR=10.231.0.2 start_responder "$port" "$S" || exit 1

# a real client's reverse UDP stream at the same time
ip netns exec "$C" "$NBENCH" stream --reverse --proto udp -b 20M -H 10.231.0.2 -p "$port" -t 4 -i 0 --json \
	> "$T/real.json" 2> "$T/real.err" &
real=$!
PIDS+=($real)

out=$(ip netns exec "$C" python3 - "$port" <<'PY' 2>&1
import json, socket, struct, sys, time, nbproto as P
port, victim, resp = int(sys.argv[1]), "10.231.0.3", "10.231.0.2"
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # where a flow aimed at the victim would land
v.bind((victim, 0))
vport = v.getsockname()[1]
v.setblocking(False)

def forged(src, sport, payload):
    """An IPv4/UDP datagram to the responder from src:sport, sent from a raw socket (IP_HDRINCL)."""
    udp = struct.pack(">HHHH", sport, port, 8 + len(payload), 0) + payload  # checksum 0: none (IPv4)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src), socket.inet_aton(resp))
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    r.sendto(ip + udp, (resp, 0))
    r.close()

c = P.Conn(port, host=resp, src="10.231.0.1", timeout=10)
tid = c.test(kind="stream", proto="udp", reverse=True, flows=2, msg_bytes=1000, duration_ns=1_000_000_000,
             rate_bps=20e6)
u0, acked0 = P.udp_flow(port, tid, 0, host=resp)
# flow 1's hello, token and all, from the victim's address: five times, as a client retries
hello1 = P.frame(P.DATA_HELLO, P.data_hello(tid, 1))
for _ in range(5):
    forged(victim, vport, hello1)
    time.sleep(0.1)
# the client's own hello for flow 1 with a wrong token: no ack either
u1bad, acked_bad = P.udp_flow(port, P.Tid(tid, "00" * 16), 1, host=resp)
# then its real one: the test goes on
u1, acked1 = P.udp_flow(port, tid, 1, host=resp)
ready = c.recv()
c.send(P.START)
got = 0
u0.settimeout(0.5)
t0 = time.time()
while time.time() - t0 < 1.0:
    try:
        u0.recv(2048); got += 1
    except socket.timeout:
        pass
c.send(P.STOP)
res = c.recv()
time.sleep(0.3)
victim_got = 0
try:
    while v.recv(2048):
        victim_got += 1
except BlockingIOError:
    pass
print("acked0", acked0, "wrong_token_acked", acked_bad, "acked1", acked1, "ready", ready[0] == P.READY,
      "client_got", got > 0, "result", res[0] == P.RESULT, "victim_got", victim_got)
PY
)
check "a forged-source hello gets nothing to the victim; the client's own flows run: $out" \
	grep -q "acked0 True wrong_token_acked False acked1 True ready True client_got True result True victim_got 0" <<< "$out"
wait "$real"; rc=$?
check "the real client's test at the same time is unaffected (rc $rc): $(tail -1 "$T/real.err")" test $rc = 0
check "... and received its stream" json_check "$T/real.json" "e['complete'] and e['packets_received'] > 0"
finish
