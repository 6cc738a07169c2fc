/* SPDX-License-Identifier: MIT */
/* libpcap inside a network namespace, for the generator's captures (--hops=pcap, --capture). */
#ifndef NBENCH_GEN_PCAP_NS_H
#define NBENCH_GEN_PCAP_NS_H

#include <pcap/pcap.h>
#include <stddef.h>

/* A live capture on ifname in netns ("" this namespace, a /run/netns name, or a path): nanosecond host
 * timestamps, immediate mode, snap_bytes per packet, buffer_bytes of kernel buffer, the filter compiled in,
 * non-blocking. The namespace is entered by a short-lived thread: the capture's socket keeps reading it. 0
 * with *ret (and *ret_fd, its pollable descriptor), or -errno with one line in err. */
int nb_pcap_open_ns(const char *netns, const char *ifname, const char *filter, int snap_bytes,
		    int buffer_bytes, pcap_t **ret, int *ret_fd, char *err, size_t errlen);

#endif
