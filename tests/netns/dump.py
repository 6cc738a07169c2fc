#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Prints what matters of one instance's namespaces, with its name replaced by INST, so that two
instances built different ways can be compared with diff: links (name, kind, master, mtu, up), IPv4
addresses, IPv4 routes of every table, ip_forward, and the nft ruleset."""
import json
import subprocess
import sys

inst = sys.argv[1]
roles = ["remote", "host", "ctr"]


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def norm(s):
    return s.replace(inst, "INST").replace(inst.replace("-", "_"), "INST")


out = []
for role in roles:
    ns = "nb-%s-%s" % (inst, role)
    try:
        links = json.loads(run("ip", "-n", ns, "-d", "-j", "link", "show"))
    except subprocess.CalledProcessError:
        continue
    out.append("netns %s" % norm(ns))
    for l in sorted(links, key=lambda l: l["ifname"]):
        kind = l.get("linkinfo", {}).get("info_kind", l.get("link_type"))
        up = "UP" in l.get("flags", [])
        out.append("  link %s kind=%s master=%s mtu=%s up=%s" % (norm(l["ifname"]), kind, norm(l.get("master", "-")),
                                                               l["mtu"], up))
    for a in sorted(json.loads(run("ip", "-n", ns, "-4", "-j", "addr", "show")), key=lambda a: a["ifname"]):
        for i in a.get("addr_info", []):
            out.append("  addr %s %s/%s brd=%s scope=%s" % (norm(a["ifname"]), i["local"], i["prefixlen"],
                                                           i.get("broadcast", "-"), i.get("scope")))
    for r in sorted(json.loads(run("ip", "-n", ns, "-4", "-j", "route", "show", "table", "all")),
                    key=lambda r: (r.get("table", "main"), r["dst"])):
        out.append("  route table=%s type=%s %s via=%s dev=%s proto=%s scope=%s src=%s" % (
            r.get("table", "main"), r.get("type", "unicast"), r["dst"], r.get("gateway", "-"),
            norm(r.get("dev", "-")), r.get("protocol", "-"), r.get("scope", "-"), r.get("prefsrc", "-")))
    fwd = run("ip", "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/ip_forward").strip()
    out.append("  sysctl net.ipv4.ip_forward=%s" % fwd)
    rules = run("ip", "netns", "exec", ns, "nft", "list", "ruleset")
    for line in rules.splitlines():
        out.append("  nft " + norm(line))
print("\n".join(out))
