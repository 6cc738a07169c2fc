#!/bin/bash
# `nbench guest build`: the image builds from Debian packages, carries the virtio modules in dependency
# order, busybox, this nbench with its libraries and loader, and is reused while the binary is unchanged.
. "$(dirname "$0")/lib.sh"

if ! timeout 300 "$NBENCH" guest build > "$T/build.out" 2> "$T/build.err"; then
	bad "nbench guest build failed: $(tail -5 "$T/build.err")"
	finish
fi
ok
img=$(sed -n 's/^image *//p' "$T/build.out")
check "image json exists" test -f "$img"
check "image json describes kernel and initrd" python3 - "$img" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
assert d["kernel_version"] and os.path.exists(d["kernel"]) and os.path.exists(d["initrd"]), d
assert d["kernel_package"].startswith("linux-image-"), d
PY
initrd=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["initrd"])' "$img")
mkdir -p "$T/root"
(cd "$T/root" && gzip -dc "$initrd" | busybox cpio -id 2>/dev/null)
check "init is executable" test -x "$T/root/init"
check "nbench in the image" cmp -s "$T/root/usr/bin/nbench" "$(readlink -f "$NBENCH")"
check "loader in the image" test -e "$T/root/lib64/ld-linux-x86-64.so.2"
for lib in $(ldd "$NBENCH" | awk '/=> \// {print $3}'); do
	check "library $lib in the image" test -f "$T/root$lib"
done
order=$(tr '\n' ' ' < "$T/root/lib/modules/order")
check "module order deps-first ($order)" python3 - "$order" <<'PY'
import sys
o = sys.argv[1].split()
need = ["virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "failover",
        "net_failover", "virtio_net"]
assert sorted(o) == sorted(need), o
before = lambda a, b: o.index(a) < o.index(b)
assert before("virtio_ring", "virtio") and before("virtio", "virtio_pci") and before("failover", "net_failover")
assert before("net_failover", "virtio_net") and before("virtio_pci_modern_dev", "virtio_pci")
PY
for m in $order; do check "module $m.ko" test -f "$T/root/lib/modules/$m.ko"; done
check "static busybox" bash -c "! ldd '$T/root/bin/busybox' >/dev/null 2>&1"

# up to date: the same image, fast, without the network
start=$(date +%s%N)
again=$("$NBENCH" guest build --quiet 2>/dev/null)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "second build reuses the image" test "$again" = "$img"
check "second build is quick (${ms} ms)" test "$ms" -lt 5000
finish
