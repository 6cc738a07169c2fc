# SPDX-License-Identifier: MIT
# Sourced by the docker suite (after tests/netns/lib.sh): a Docker engine to test against. One answering on
# /var/run/docker.sock is used as it is. Otherwise dockerd (Debian's docker.io) is started here with its own
# data root, exec root and pidfile under a temporary directory, and engine_stop (run on exit) stops it and
# puts back what it changed in this network namespace: ip_forward, the bridge-netfilter sysctls, the nft
# tables it made (its iptables-nft rules, FORWARD policy drop included) and docker0. Run it inside
# scripts/fresh: there /run (so the socket) and the network namespace are the test's own.
#   DOCKERD_STORAGE=vfs  a storage driver instead of the engine's choice (overlay2, else vfs if it fails)
#   DOCKERD_CGROUP=v2    the engine on the cgroup v2 mount it finds, without mounting the v1 hierarchies
# cgroups: dockerd 20.10 wants the v1 hierarchies a Docker host has (this machine's: cpu, cpuacct, cpuset,
# memory, ... and name=systemd), which scripts/fresh does not mount (its /sys/fs/cgroup is a cgroup v2 subtree,
# where the controllers are all bound to v1: the engine runs there but can limit nothing). So when the kernel
# has controllers on v1 hierarchies, dockerd runs in a mount namespace of its own with those hierarchies on a
# tmpfs at /sys/fs/cgroup, and its containers under a cgroup parent of the test's own name, which engine_stop
# removes from every hierarchy.
command -v curl >/dev/null || skip "no curl (apt-get install curl)"
DOCKER_SOCK=/var/run/docker.sock
export DOCKER_HOST=unix://$DOCKER_SOCK
ENGINE_STARTED=0
ENGINE_TMP=
ENGINE_PID=
ENGINE_CGP= # the containers' cgroup parent in the v1 hierarchies ("" on cgroup v2)

# api METHOD PATH [BODY]: the engine's answer on stdout; fails on an HTTP error.
api() {
	local data=()
	[ -n "${3:-}" ] && data=(-H 'Content-Type: application/json' -d "$3")
	curl -sf --max-time 60 --unix-socket "$DOCKER_SOCK" -X "$1" "${data[@]}" "http://docker/v1.40$2"
}
engine_answers() { curl -sf --max-time 5 --unix-socket "$DOCKER_SOCK" http://docker/_ping >/dev/null 2>&1; }

# What the engine's start and stop may change here, for engine_stop to put back.
host_state() {
	local k
	for k in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables; do
		echo "sysctl $k $(sysctl -n "$k" 2>/dev/null)"
	done
	nft list tables 2>/dev/null | sort
	ip -o link show docker0 2>/dev/null | awk '{ print "link " $2 }' || true
}

# The engine's own state, images aside: its containers, networks and the rules of its tables (without
# counters), for engine_same to compare before and after a test.
engine_state() {
	api GET '/containers/json?all=1' | "$PY" -c 'import json,sys; print(sorted(c["Names"][0] for c in json.load(sys.stdin)))'
	api GET /networks | "$PY" -c 'import json,sys; print(sorted(n["Name"] for n in json.load(sys.stdin)))'
	for t in nat filter; do
		nft list table ip "$t" 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+ //'
	done
	ip -br link | awk '$1 ~ /^(docker|veth|br-)/ { print $1 }' | sort
}
engine_snapshot() { ENGINE_BEFORE=$(engine_state); }
# engine_same WHAT: the engine is as engine_snapshot found it (waits up to 10 s: removal is asynchronous).
engine_same() {
	local now
	for _ in $(seq 50); do
		now=$(engine_state)
		[ "$now" = "$ENGINE_BEFORE" ] && { log "engine as before: $1"; return 0; }
		sleep 0.2
	done
	diff <(echo "$ENGINE_BEFORE") <(echo "$now") | head -30 >&2
	fail "the engine's state is not as before: $1"
}

# Nothing labelled as nbench's is left in the engine.
engine_clean() {
	local q left
	q='filters=%7B%22label%22%3A%5B%22nbench.instance%22%5D%7D'
	left=$(api GET "/containers/json?all=1&$q" | "$PY" -c 'import json,sys; print(" ".join(c["Names"][0] for c in json.load(sys.stdin)))')
	[ -z "$left" ] || fail "containers left behind: $left"
	left=$(api GET "/networks?$q" | "$PY" -c 'import json,sys; print(" ".join(n["Name"] for n in json.load(sys.stdin)))')
	[ -z "$left" ] || fail "networks left behind: $left"
}

# Its rules are in place once its DOCKER chain is (its socket answers before it has set them up).
engine_ready() { engine_answers && nft list chain ip nat DOCKER >/dev/null 2>&1; }

engine_start() {
	if engine_answers; then
		log "engine: the one on $DOCKER_SOCK, as it is"
		return 0
	fi
	command -v dockerd >/dev/null || skip "no Docker engine and no dockerd to start (apt-get install docker.io)"
	[ ! -e "$DOCKER_SOCK" ] || skip "$DOCKER_SOCK exists but no engine answers on it: not started over it"
	HOST_BEFORE=$(host_state)
	ENGINE_TMP=$(mktemp -d /tmp/nbdockerd.XXXXXX)
	engine_launch
}

# The kernel's v1 hierarchies as mount options, one line each ("cpu", "cpu,cpuacct" when they share one,
# "none,name=systemd"): from /proc/cgroups (a controller's hierarchy id, 0 when it is on v2) and this
# process's named hierarchies.
v1_hierarchies() {
	awk 'NR > 1 && $2 > 0 && $4 == 1 { h[$2] = h[$2] (h[$2] ? "," : "") $1 } END { for (i in h) print h[i] }' /proc/cgroups
	awk -F: '$2 ~ /^name=/ { print "none," $2 }' /proc/self/cgroup
}
# v1_mount DIR: every v1 hierarchy under DIR (a tmpfs there first), in the calling mount namespace.
v1_mount() {
	mount -t tmpfs -o mode=0755 nbench-cgroup "$1" || return 1
	local o
	while read -r o; do
		mkdir -p "$1/${o#none,name=}" && mount -t cgroup -o "$o" cgroup "$1/${o#none,name=}" || return 1
	done < <(v1_hierarchies)
}
# The cgroup parent the engine's containers went under, removed from every hierarchy (the engine removes
# each container's own).
v1_cleanup() {
	[ -n "$ENGINE_CGP" ] || return 0
	local dir
	dir=$(mktemp -d /tmp/nbcg.XXXXXX)
	unshare -m --propagation private bash -c "$(declare -f v1_hierarchies v1_mount); v1_mount '$dir' &&
		find '$dir' -mindepth 2 -maxdepth 2 -name '$ENGINE_CGP' -exec find {} -depth -type d -delete \;" ||
		echo "engine_stop: could not remove the cgroup parent $ENGINE_CGP" >&2
	rmdir "$dir"
}

# engine_launch [DOCKERD-ARGS...]: dockerd on its own roots under ENGINE_TMP, overlay2 (its default) and
# else vfs unless DOCKERD_STORAGE says, with the v1 hierarchies when the kernel has them; returns once its rules
# are in place, else skips with its error.
engine_launch() {
	local drivers=("${DOCKERD_STORAGE:-}") d pre=()
	[ -n "${DOCKERD_STORAGE:-}" ] || drivers=("" vfs)
	if [ "${DOCKERD_CGROUP:-}" != v2 ] && [ -n "$(v1_hierarchies)" ] && command -v unshare >/dev/null; then
		ENGINE_CGP=nbdocker-${ENGINE_TMP##*.}
		pre=(unshare -m --propagation private bash -c "$(declare -f v1_hierarchies v1_mount); v1_mount /sys/fs/cgroup && exec \"\$@\"" dockerd-v1)
		set -- --cgroup-parent "/$ENGINE_CGP" "$@"
	fi
	for d in "${drivers[@]}"; do
		"${pre[@]}" dockerd --data-root "$ENGINE_TMP/data" --exec-root "$ENGINE_TMP/exec" --pidfile "$ENGINE_TMP/dockerd.pid" \
			-H "unix://$DOCKER_SOCK" ${d:+--storage-driver "$d"} "$@" >"$ENGINE_TMP/dockerd.log" 2>&1 &
		ENGINE_PID=$!
		ENGINE_STARTED=1
		if wait_for 60 "dockerd answering with its rules in place" engine_ready_or_dead && engine_ready; then
			log "engine: dockerd started here (pid $ENGINE_PID, storage ${d:-default}${*:+, $*}): $(api GET /info | "$PY" -c 'import json,sys; i=json.load(sys.stdin); print(i["ServerVersion"], i["Driver"], "cgroup v" + i["CgroupVersion"], i["CgroupDriver"])')"
			return 0
		fi
		log "dockerd (storage ${d:-default}) did not come up: $(grep -iE 'level=(error|fatal)' "$ENGINE_TMP/dockerd.log" | tail -2)"
		engine_kill
	done
	skip "dockerd cannot start here: $(grep -iE 'level=(error|fatal)' "$ENGINE_TMP/dockerd.log" | tail -1 | cut -c1-300)"
}

# engine_restart DOCKERD-ARGS...: the dockerd started here, again with these options (1: none was started here).
engine_restart() {
	[ "$ENGINE_STARTED" = 1 ] || return 1
	engine_kill
	engine_launch "$@"
}
engine_ready_or_dead() { engine_ready || ! kill -0 "$ENGINE_PID" 2>/dev/null; }

# Stops the dockerd started here and waits for it and its containerd; unmounts what it left mounted.
engine_kill() {
	[ -n "$ENGINE_PID" ] || return 0
	kill "$ENGINE_PID" 2>/dev/null
	for _ in $(seq 300); do kill -0 "$ENGINE_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$ENGINE_PID" 2>/dev/null
	wait "$ENGINE_PID" 2>/dev/null
	ENGINE_PID=
	local p
	for p in $(pgrep -f "$ENGINE_TMP/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	awk -v d="$ENGINE_TMP/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -f "$DOCKER_SOCK"
}

engine_stop() {
	[ "$ENGINE_STARTED" = 1 ] || return 0
	set +e
	engine_kill
	v1_cleanup
	local t
	# what it made here and does not take away itself
	ip link del docker0 2>/dev/null
	for t in $(nft list tables 2>/dev/null | awk '{ print $2 " " $3 }' | tr ' ' ':'); do
		grep -qx "table ${t/:/ }" <<<"$HOST_BEFORE" || nft delete table ${t/:/ } 2>/dev/null
	done
	local k v
	while read -r t k v; do
		[ "$t" = sysctl ] && [ -n "$v" ] && sysctl -qw "$k=$v"
	done <<<"$HOST_BEFORE"
	rm -rf "$ENGINE_TMP"
	[ "$(host_state)" = "$HOST_BEFORE" ] || {
		echo "engine_stop: this namespace is not as before dockerd:" >&2
		diff <(echo "$HOST_BEFORE") <(host_state) >&2
		return 1
	}
	ENGINE_STARTED=0
}
