#!/bin/bash
# `meson install` of this build into a temporary DESTDIR: the binary, guest-build, the systemd unit and the
# man page land where they should; the unit passes `systemd-analyze verify` with no warning; the page renders
# with `man -l` with no warning; every command, subcommand and long option that `--help` prints is in the
# page's source, so the page cannot fall behind the CLI; and docs_check.py holds the rendered page (at two
# widths) and README's synopses against every --help: each command section's options are its --help's, both
# ways, nothing renders broken, and a value shown in a synopsis is the option's default.
# usage: install.sh BUILD_DIR NBENCH_BINARY MAN_SOURCE HAVE_SCDOC(true|false)
set -u
build=$1 nbench=$2 scd=$3 have_scdoc=$4
fail=0
bad() { echo "FAIL: $*"; fail=1; }
ok() { echo "ok: $*"; }

dest=$(mktemp -d /tmp/nbench-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT

# --- the install itself --------------------------------------------------------------------------------
if ! out=$(meson install -C "$build" --destdir "$dest" --no-rebuild --quiet 2>&1); then
	echo "$out"
	bad "meson install --destdir failed"
	exit 1
fi
find_one() { find "$dest" -path "$1" \( -type f -o -type l \) | head -n 1; }
bin=$(find_one '*/bin/nbench')
script=$(find_one '*/libexec/nbench/guest-build')
unit=$(find_one '*/systemd/system/nbench-serve.service')
page=$(find_one '*/man1/nbench.1')
[ -n "$bin" ] && [ -x "$bin" ] && ok "binary $bin" || bad "no executable bin/nbench installed"
[ -n "$script" ] && [ -x "$script" ] && ok "helper $script" || bad "no executable libexec/nbench/guest-build"
[ -n "$unit" ] && ok "unit $unit" || bad "no systemd/system/nbench-serve.service installed"
if [ "$have_scdoc" = true ]; then
	[ -n "$page" ] && ok "man page $page" || bad "scdoc was found but no man1/nbench.1 installed"
else
	echo "note: scdoc was not found when configuring: no man page to install or render (scripts/setup)"
fi
# Nothing from the benchmark or development scripts is installed.
extra=$(find "$dest" -type f | grep -vE '/bin/nbench$|/libexec/nbench/guest-build$|/nbench-serve\.service$|/man1/nbench\.1$')
[ -z "$extra" ] && ok "nothing else installed" || bad "unexpected files installed: $extra"

# --- the unit ----------------------------------------------------------------------------------------------
if [ -n "$unit" ]; then
	# ExecStart runs the installed binary (its path without DESTDIR) with the key from /etc/nbench.
	exec_line=$(grep '^ExecStart=' "$unit")
	exe=${exec_line#ExecStart=}
	exe=${exe%% *}
	if [ -n "$bin" ] && [ "$dest$exe" = "$bin" ]; then ok "ExecStart runs $exe"; else
		bad "ExecStart runs '$exe', not the installed binary (${bin#"$dest"})"; fi
	grep -q '^ExecStart=.* serve --key-file /etc/nbench/key' "$unit" && ok "reads /etc/nbench/key" ||
		bad "ExecStart does not run serve --key-file /etc/nbench/key"
	for k in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
		ProtectKernelModules=yes ProtectControlGroups=no Restart=on-failure; do
		grep -qx "$k" "$unit" || bad "the unit lacks $k"
	done
	grep -q '^CapabilityBoundingSet=' "$unit" || bad "the unit has no CapabilityBoundingSet"
	grep -q '^RestrictAddressFamilies=' "$unit" || bad "the unit has no RestrictAddressFamilies"
	if command -v systemd-analyze > /dev/null; then
		# Verified where the binary is: a copy of the unit whose ExecStart names the DESTDIR's binary, and
		# the installed page on MANPATH for Documentation=man:nbench(1). Warnings (an unknown or
		# misspelt option, an address family this systemd does not know) fail too: verify exits 0 on them.
		vdir=$dest/verify
		mkdir -p "$vdir"
		sed "s#^ExecStart=$exe#ExecStart=$bin#" "$unit" > "$vdir/nbench-serve.service"
		man_arg=--man=no
		[ -n "$page" ] && man_arg=--man=yes
		vout=$(MANPATH="${page:+$(dirname "$(dirname "$page")")}" \
			systemd-analyze verify "$man_arg" "$vdir/nbench-serve.service" 2>&1)
		vrc=$?
		vout=${vout//"$dest"/DESTDIR}
		if [ $vrc = 0 ] && [ -z "$vout" ]; then ok "systemd-analyze verify: clean"; else
			bad "systemd-analyze verify (exit $vrc): $vout"; fi
	else
		echo "note: systemd-analyze is not installed: the unit is not verified"
	fi
fi

# --- the page renders --------------------------------------------------------------------------------------
if [ -n "$page" ]; then
	if command -v man > /dev/null; then
		warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 > /dev/null)
		text=$(MANWIDTH=80 man -l "$page" 2> /dev/null)
		[ -z "$warn" ] && ok "man -l renders without warnings" || bad "man -l warns: $warn"
		echo "$text" | grep -q '^EXIT STATUS' && echo "$text" | grep -q '^ENVIRONMENT' &&
			echo "$text" | grep -q '^FILES' && ok "the page has EXIT STATUS, ENVIRONMENT, FILES" ||
			bad "the rendered page lacks EXIT STATUS, ENVIRONMENT or FILES"
	else
		echo "note: man is not installed (package man-db): the page is not rendered"
	fi
fi

# --- the page covers the CLI -------------------------------------------------------------------------------
# The source without scdoc's markup: *bold*, _underline_ and \_ escapes.
src=$(sed -e 's/\\_/_/g' -e 's/[*]//g' "$scd")
src_words=$(sed -e 's/\\_/_/g' -e 's/[*_]//g' "$scd")
cmds=$("$nbench" help | awk '/^  [a-z]/ {print $1}')
[ -n "$cmds" ] || bad "nbench help lists no command"
helps=$("$nbench" --help)
for c in $cmds; do
	h=$("$nbench" "$c" --help 2>&1) || bad "nbench $c --help exits $?"
	helps+=$'\n'"$h"
	grep -qE "^## nbench .*\\b$c\\b" <<< "$src_words" || bad "the page has no section for 'nbench $c'"
done
# subcommands: every "nbench CMD SUB" the usage lines name, and their own --help
subs=$(grep -oE 'nbench (topo|guest|key) [a-z]+' <<< "$helps" | sort -u)
while read -r _ c s; do
	[ -n "$c" ] || continue
	grep -q "nbench $c $s" <<< "$src_words" || bad "the page does not document 'nbench $c $s'"
	h=$("$nbench" "$c" "$s" --help 2>&1) && helps+=$'\n'"$h"
done <<< "$subs"
opts=$(grep -oE -- '--[a-z][a-z0-9-]*' <<< "$helps" | sort -u)
n=0
for o in $opts; do
	n=$((n + 1))
	grep -qE -- "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)" <<< "$src" || bad "option $o (in --help) is not in $scd"
done
[ "$n" -gt 20 ] && ok "$n long options from --help, all in the page" || bad "only $n long options found in --help"
# every NBENCH_* variable the code reads is in ENVIRONMENT
root=$(dirname "$scd")/..
# the rendered page, section by section, and README, against --help
if [ -n "$page" ] && command -v man > /dev/null && command -v python3 > /dev/null; then
	for w in 80 100; do
		MANWIDTH=$w man -l "$page" > "$dest/page$w.txt" 2> /dev/null
		python3 "$(dirname "$0")/docs_check.py" "$nbench" "$dest/page$w.txt" "$root/README.md" |
			sed "s/^/MANWIDTH=$w: /"
		[ "${PIPESTATUS[0]}" = 0 ] || fail=1
	done
else
	echo "note: no man page, man or python3: the rendered page and README are not checked against --help"
fi
for v in $(grep -rhoE 'getenv\("NBENCH_[A-Z_]+"\)' "$root"/cli "$root"/lib "$root"/topo "$root"/gen \
	"$root"/responder 2>/dev/null | grep -oE 'NBENCH_[A-Z_]+' | sort -u); do
	grep -q "$v" <<< "$src" || bad "environment variable $v (read by the code) is not in the page"
done
exit $fail
