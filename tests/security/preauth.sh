#!/bin/bash
# The key protects availability (issue 24, finding 1): a keyed responder's slots that cost anything (a session
# and its thread) are taken only once the key is proved. While 1,000 silent connections from 40 addresses and
# 48 unauthenticated HELLOs (that never answer the challenge, and are opened again as soon as the responder
# closes them) wait, a keyed client gets in every time. Loopback, no root.
. "$(dirname "$0")/lib.sh"
keyed_setup
# a long idle timeout: nothing of the flood is closed for idleness while the client tries
start_responder "$port" "" --key-file "$T/k" --idle-timeout 60s || exit 1

flood_start "$port" 1000 40 "$T"
# the HELLOs: each from one of the 40 addresses, a keyed HELLO, then nothing; one the responder closes is
# opened again at once
"${PY[@]}" "$port" "$T/hold" > "$T/hellos.out" 2>&1 <<'PY' &
import os, select, socket, sys, time, nbproto as P
port, flag = int(sys.argv[1]), sys.argv[2]
conns, opened = {}, 0
def open_one(i):
    s = socket.create_connection(("127.0.0.1", port), 2, ("127.0.0.%d" % (2 + i % 40), 0))
    s.sendall(P.frame(P.HELLO, {"nonce": os.urandom(32).hex(), "data_src": ""}))
    return s
while os.path.exists(flag):
    for i in range(48):
        if i not in conns:
            try:
                conns[i] = open_one(i)
                opened += 1
            except OSError:
                pass
    if opened >= 48 and not os.path.exists(flag + ".up"):
        open(flag + ".up", "w").close()
    ready, _, _ = select.select(list(conns.values()), [], [], 0.05)
    for s in ready:
        try:
            gone = not s.recv(4096)
        except OSError:
            gone = True
        if gone:
            s.close()
            conns = {i: c for i, c in conns.items() if c is not s}
print("hellos opened", opened, flush=True)
PY
PIDS+=($!)
wait_for 20 "the 48 HELLOs sent" test -e "$T/hold.up" || exit 1
sleep 1

keyed_tries 20 127.0.0.1 "a keyed client under the flood"
finish
