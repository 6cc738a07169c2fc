# Sourced by every suite's lib.sh: what all shell tests do the same way.

# wait_listen PORT [NETNS] [PID] [SECONDS]: returns 0 once a TCP socket listens on PORT (in network namespace
# NETNS, else here). Returns 1 with one line on stderr naming what was not reachable when the process PID
# (the server being waited for) exits first, or after SECONDS (default $NB_WAIT_S, else 20). Polls with ss
# (iproute2): no interpreter starts per try, and no connection reaches the server's log.
wait_listen() {
	local port=$1 ns=${2:-} pid=${3:-} secs=${4:-${NB_WAIT_S:-20}}
	local where=${ns:+" in netns $ns"} nsopt=() start=$SECONDS
	[ -n "$ns" ] && nsopt=(-N "$ns")
	while :; do
		if [ -n "$(ss "${nsopt[@]}" -Hltn "sport = :$port" 2>/dev/null)" ]; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			echo "wait_listen: the server (pid $pid) exited before it listened on TCP port $port$where" >&2
			return 1
		fi
		if [ $((SECONDS - start)) -ge "$secs" ]; then
			echo "wait_listen: nothing listened on TCP port $port$where within $secs s${pid:+ (server pid $pid still running)}" >&2
			return 1
		fi
		sleep 0.05
	done
}

# wait_for SECONDS WHAT CMD...: runs CMD until it succeeds; after SECONDS says WHAT was not seen and returns 1.
wait_for() {
	local secs=$1 what=$2 start=$SECONDS
	shift 2
	until "$@"; do
		if [ $((SECONDS - start)) -ge "$secs" ]; then
			echo "wait_for: $what: not within $secs s" >&2
			return 1
		fi
		sleep 0.05
	done
}
