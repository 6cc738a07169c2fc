#!/bin/bash
# Bad input: a one-line error naming the problem and exit status 2; an unreachable responder fails fast.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")

expect2() { # expect2 "what it must name" args...
	local name=$1; shift
	local rc=0
	timeout 10 "$NBENCH" "$@" > "$T/out" 2> "$T/err" || rc=$?
	if [ "$rc" != 2 ]; then bad "nbench $* : exit $rc, expected 2"; return; fi
	if [ "$(wc -l < "$T/err")" != 1 ]; then bad "nbench $* : stderr is not one line: $(cat "$T/err")"; return; fi
	if ! grep -q -- "$name" "$T/err"; then bad "nbench $* : error does not name '$name': $(cat "$T/err")"; return; fi
	ok
}
H=(-H 127.0.0.1)
expect2 "unknown command" frobnicate
expect2 "unknown option" rr "${H[@]}" --frob
expect2 "--port" rr "${H[@]}" -p 0
expect2 "--port" rr "${H[@]}" -p 65536
expect2 "--port" rr "${H[@]}" -p -5
expect2 "--port" serve --port 70000
expect2 "--max-halves" serve --paths --key-file /nonexistent --max-halves x
expect2 "--max-halves" serve --paths --key-file /nonexistent --max-halves 2,3
expect2 "--max-halves is for --paths" serve --max-halves 2
# options with a value that parse well must not fall through to "unknown option"
expect2 "unknown path 'foo'" compare --wire-rate 10G --paths foo
expect2 "--wire-rate" compare --wire-rate 10Q
expect2 "-H needs --key-file" compare -H 127.0.0.1 --port 5
expect2 "--port" compare -H 127.0.0.1 --port 0
expect2 "--port is the agent's" compare --port 5
expect2 "-t" rr "${H[@]}" -t 0
expect2 "-t" rr "${H[@]}" -t -1
expect2 "-t" rr "${H[@]}" -t 1x
expect2 "-t" stream "${H[@]}" -t 999999
expect2 "-P" stream "${H[@]}" -P 0
expect2 "-P" stream "${H[@]}" -P 100000
expect2 "--msg-size" stream "${H[@]}" --msg-size 0
expect2 "--msg-size" stream "${H[@]}" --msg-size 1T
expect2 "--msg-size" stream "${H[@]}" --msg-size -3
expect2 "-r" rr "${H[@]}" -r 0,200
expect2 "-r" rr "${H[@]}" -r 100,abc
expect2 "--depth" rr "${H[@]}" --depth 0
expect2 "--mix" rr "${H[@]}" --mix 87
expect2 "native first" study --paths host,native
expect2 "--redis-conns" study --redis-conns 0
expect2 "--redis-conns" study --redis-conns 1,x
expect2 "--wire-rate" study --wire-rate 5
expect2 "--margin" study --margin 80
expect2 "--rounds" study --rounds 0
expect2 "-H needs --key-file" study -H 127.0.0.1
expect2 "--wire-rate is for paths built on one host" study -H 127.0.0.1 --wire-rate 1G
expect2 "--study-data" study --study-data /nonexistent/rc25482.json
expect2 "unknown option" study --tests rr-tcp
expect2 "--mix" rr "${H[@]}" --mix 87:5@0
expect2 "--mix" rr "${H[@]}" --mix 8:5
expect2 "--mix" rr "${H[@]}" --mix 30:4 --proto udp
expect2 "--mix" crr "${H[@]}" --mix 30:4
expect2 "--hops needs every --mix shape" rr --path native --hops --mix 87:5,30:57
expect2 "--depth" rr "${H[@]}" --depth 100000
expect2 "--rate" rr "${H[@]}" --rate 0
expect2 "--rate" rr "${H[@]}" --rate -10
expect2 "--rate" rr "${H[@]}" --rate nan
expect2 "-b" stream "${H[@]}" -b 0
expect2 "--rate" stream "${H[@]}" --rate 5Q
expect2 "-b" stream "${H[@]}" -b 20T
expect2 "-b" rr "${H[@]}" -b 1M
expect2 "--proto" rr "${H[@]}" --proto sctp
expect2 "crr" crr "${H[@]}" --proto udp
expect2 "--reverse" rr "${H[@]}" --reverse
expect2 "--depth" stream "${H[@]}" --depth 2
expect2 "UDP" stream "${H[@]}" --proto udp --msg-size 70000
expect2 "8" rr "${H[@]}" --proto udp -r 4,200
expect2 "-H" rr
expect2 "needs a value" rr -H
expect2 "unexpected argument" rr "${H[@]}" extra
expect2 "--busy-poll" rr "${H[@]}" --busy-poll -1
expect2 "--cpu-gen" rr "${H[@]}" --cpu-gen x
expect2 "--bind" serve --bind not-an-address --port "$(free_port)"
# throughput's searches: MLRsearch's goal and the binary search's options, checked before any trial
expect2 "--search" throughput "${H[@]}" --search linear
expect2 "--goal-loss-ratio" throughput "${H[@]}" --goal-loss-ratio 1
expect2 "--goal-loss-ratio" throughput "${H[@]}" --goal-loss-ratio 5%x
expect2 "--goal-exceed-ratio" throughput "${H[@]}" --goal-exceed-ratio 100%
expect2 "--goal-duration-sum" throughput "${H[@]}" --goal-duration-sum 0
expect2 "--trial-duration" throughput "${H[@]}" --trial-duration 10ms
expect2 "--initial-trial-duration is longer" throughput "${H[@]}" --trial-duration 1 --initial-trial-duration 2
expect2 "MLRsearch's" throughput "${H[@]}" --search binary --goal-exceed-ratio 0.3
expect2 "--resolution" throughput "${H[@]}" --resolution 0%

# Options that contradict each other, or mean nothing without another: one line naming both, exit 2, before
# anything is built or dialled (issue 19: --json --csv printed CSV, --hops --load dropped the capture,
# --wire with -H or --topo and --port with --topo were ignored, --udp-timeout was offered to crr)
both() { # both "A" "B" args...: the error names A and B
	local a=$1 b=$2; shift 2
	expect2 "$a" "$@" && grep -q -- "$b" "$T/err" || bad "nbench $* : error does not name '$b': $(cat "$T/err")"
}
both "--json" "--csv" rr "${H[@]}" --json --csv
both "--json" "--csv" compare --json --csv
both "--json" "--csv" diff --csv --json a b
both "--json" "--csv" throughput "${H[@]}" --json --csv
both "--json" "--csv" sweep --set gso=on --json -- rr --csv
both "--path" "--topo" rr --path native --topo x
both "-H" "--topo" rr -H 127.0.0.1 --topo x
both "--topo" "--port" rr --topo x -p 5000
both "--topo" "--wire" rr --topo x --wire a,b
both "--topo" "--wire-rate" stream --topo x --wire-rate 1G
both "--nodelay" "--no-nodelay" rr "${H[@]}" --nodelay --no-nodelay
both "--hops" "--load" rr --path native --hops --load 100M
both "--force" "--wire" rr --path native --force
both "--force" "--wire" topo up native --force
both "--load-proto" "--load" rr "${H[@]}" --load-proto tcp
both "--wire" "-H" rr "${H[@]}" --wire a,b
both "--udp-timeout" "--proto udp" rr "${H[@]}" --udp-timeout 1s
both "--no-nodelay" "--proto udp" rr "${H[@]}" --proto udp --no-nodelay
both "--data-host" "-H" rr --path native --data-host 10.0.0.1
both "--dpdk-port" "--engine dpdk" rr "${H[@]}" --dpdk-port net_tap0
# one separator for a namespace and an interface, serve --nic's [NETNS:]IF (sweep --on took NETNS/IF): the old
# form still reads, with a one-line warning (here before the refusal of --json with --csv)
expect2 "--on: 'ns1:bad/if' is not \[NETNS:\]IF" sweep --on ns1:bad/if --set gso=on -- rr "${H[@]}"
rc=0; "$NBENCH" sweep --on ns1/veth0 --set gso=on --json -- rr "${H[@]}" --csv > /dev/null 2> "$T/err" || rc=$?
check "sweep --on NETNS/IF: deprecated in one line, read as NETNS:IF ($rc: $(cat "$T/err"))" bash -c \
	"[ $rc = 2 ] && head -n 1 $T/err | grep -q 'NETNS/IF is deprecated, write NETNS:IF (ns1:veth0)'"
expect2 "--udp-timeout is for nbench rr" crr "${H[@]}" --udp-timeout 1s
expect2 "--udp-timeout is for nbench rr" stream "${H[@]}" --udp-timeout 1s

# An unreachable responder: a clear error within a few seconds and a non-zero exit.
port=$(free_port)
start=$(date +%s)
rc=0; timeout 20 "$NBENCH" rr -H 127.0.0.1 -p "$port" -t 1 > "$T/out" 2> "$T/err" || rc=$?
check "unreachable: non-zero exit" test "$rc" != 0 -a "$rc" != 124
check "unreachable: says so" grep -q "cannot reach the responder" "$T/err"
check "unreachable: within 5 s" test $(( $(date +%s) - start )) -le 5

# A name that does not resolve is a DNS failure and says so (not "cannot assign requested address"). The
# lookup stays in a namespace of the test's own: its resolver (/etc/netns/NS/resolv.conf) is its loopback.
if [ "$(id -u)" = 0 ] && ip netns add "nbt-dns-$$" 2>/dev/null; then
	CLEANUPS+=("ip netns del nbt-dns-$$" "rm -rf /etc/netns/nbt-dns-$$")
	[ -d /etc/netns ] || CLEANUPS+=("rmdir /etc/netns")
	mkdir -p "/etc/netns/nbt-dns-$$" && echo "nameserver 127.0.0.1" > "/etc/netns/nbt-dns-$$/resolv.conf"
	ip -n "nbt-dns-$$" link set lo up
	rc=0; timeout 20 ip netns exec "nbt-dns-$$" "$NBENCH" rr -H nosuchhost.invalid -t 1 > "$T/out" 2> "$T/err" || rc=$?
	check "unresolved name: exit 1 (rc $rc)" test "$rc" = 1
	check "unresolved name: one line naming the resolution: $(cat "$T/err")" one_line_err "$T/err" "cannot resolve the responder's name 'nosuchhost.invalid'"
fi
finish
