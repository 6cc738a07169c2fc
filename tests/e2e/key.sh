#!/bin/bash
# nbench key gen FILE: a 0600 file of 64 hex digits and a newline, one line on success; never overwrites a
# file nor writes through a symlink (exit 1 with the reason); bad usage is one line and exit 2.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d); CLEANUPS+=("rm -rf $T")

run() { # run args...: sets rc, out, err
	rc=0
	"$NBENCH" "$@" > "$T/out" 2> "$T/err" || rc=$?
	out=$(cat "$T/out") err=$(cat "$T/err")
}
expect() { # expect RC "what stderr names" args...
	local want=$1 name=$2; shift 2
	run "$@"
	if [ "$rc" != "$want" ]; then bad "nbench $*: exit $rc, expected $want ($err)"; return; fi
	if [ "$(wc -l < "$T/err")" != 1 ]; then bad "nbench $*: stderr is not one line: $err"; return; fi
	if ! grep -q -- "$name" "$T/err"; then bad "nbench $*: error does not name '$name': $err"; return; fi
	ok
}
said_once() { [ "$(grep -c . "$T/out")" = 1 ] && grep -q "a new key in $1 (mode 0600)" "$T/out" && [ ! -s "$T/err" ]; }
differ() { ! cmp -s "$1" "$2"; }
help_ok() { [ "$rc" = 0 ] && grep -q "nbench key gen FILE" "$T/out"; }
is_key() { grep -qxE '[0-9a-f]{64}' "$1" && [ "$(stat -c %s "$1")" = 65 ]; }

for mask in 022 000 277; do
	(umask $mask && "$NBENCH" key gen "$T/k$mask" > "$T/out" 2> "$T/err")
	check "key gen under umask $mask exits 0" [ $? = 0 ]
	check "key gen says what it did, in one line: $(cat "$T/out")" said_once "$T/k$mask"
	check "key file (umask $mask) is mode 0600: $(stat -c %a "$T/k$mask" 2>&1)" [ "$(stat -c %a "$T/k$mask")" = 600 ]
	check "key file is 64 hex digits and a newline" is_key "$T/k$mask"
done
check "two keys differ" differ "$T/k022" "$T/k000"

# never overwrite
cp "$T/k022" "$T/before"
expect 1 "refusing to overwrite" key gen "$T/k022"
check "the existing key is unchanged" cmp -s "$T/k022" "$T/before"
echo "not a key" > "$T/plain"
expect 1 "refusing to overwrite" key gen "$T/plain"
check "an existing file is unchanged" grep -qx "not a key" "$T/plain"

# never through a symlink: to an existing file, or dangling (the key would land where it points)
ln -s "$T/plain" "$T/link"
expect 1 "refusing to overwrite" key gen "$T/link"
check "the symlink's target is unchanged" grep -qx "not a key" "$T/plain"
ln -s "$T/victim" "$T/dangling"
expect 1 "refusing to overwrite" key gen "$T/dangling"
check "a dangling symlink's target is not created" [ ! -e "$T/victim" ]
check "the symlink is still a symlink" [ -L "$T/dangling" ]

expect 1 "No such file" key gen "$T/no/such/dir/k"
check "no key is left after a failure" [ ! -e "$T/no" ]

# bad usage: exit 2, one line
expect 2 "missing FILE" key gen
expect 2 "unexpected argument" key gen "$T/a" "$T/b"
check "nothing is written on bad usage" [ ! -e "$T/a" ]
expect 2 "missing subcommand" key
expect 2 "unknown subcommand" key frob
expect 2 "unknown option" key gen --frob
run key gen --help
check "key gen --help exits 0 and prints the usage" help_ok
finish
