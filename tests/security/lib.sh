# Shared by the security tests: e2e's helpers (a responder on a free loopback port, checks, cleanup) and
# the raw protocol client nbproto.py (PY runs python3 with it importable).
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
PY=(python3 -)

# one_line_err FILE WORD: FILE (a client's stderr) is exactly one line and names WORD.
one_line_err() {
	[ "$(grep -c . "$1")" = 1 ] && grep -q -- "$2" "$1"
}

# cpu_ticks PID: user + system CPU time of the process, in clock ticks.
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# quiet CMD...: runs CMD with its output discarded (for check).
quiet() {
	"$@" > /dev/null 2>&1
}
