#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tiny TCP+UDP peer for the netns suite.

serve PORT [READYFILE]: answers one TCP connection and one UDP datagram (each with "<proto> <peer address>"),
  then exits; gives up after 10 s so that a failed test leaves no process behind.
client ADDR PORT: sends over TCP and UDP, prints what the server saw ("tcp 10.77.0.1", "udp 10.77.0.1").
"""
import select
import socket
import sys
import time


def serve(port, ready):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("0.0.0.0", port))
    t.listen(4)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", port))
    if ready:
        open(ready, "w").write("ready\n")
    done = set()
    deadline = time.monotonic() + 10
    while done != {"tcp", "udp"} and time.monotonic() < deadline:
        r, _, _ = select.select([t, u], [], [], 0.2)
        if t in r:
            c, peer = t.accept()
            c.settimeout(3)
            c.recv(64)
            c.sendall(("tcp %s" % peer[0]).encode())
            c.close()
            done.add("tcp")
        if u in r:
            data, peer = u.recvfrom(64)
            u.sendto(("udp %s" % peer[0]).encode(), peer)
            done.add("udp")
    return 0 if done == {"tcp", "udp"} else 1


def client(addr, port):
    c = socket.create_connection((addr, port), timeout=3)
    c.sendall(b"hello")
    print(c.recv(64).decode())
    c.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(0.5)
    for _ in range(6):  # UDP may be dropped while ARP resolves; retry
        u.sendto(b"hello", (addr, port))
        try:
            print(u.recv(64).decode())
            return 0
        except socket.timeout:
            continue
    print("udp timeout")
    return 1


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        sys.exit(serve(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None))
    sys.exit(client(sys.argv[2], int(sys.argv[3])))
