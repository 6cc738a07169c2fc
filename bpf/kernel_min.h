/* SPDX-License-Identifier: MIT */
/*
 * The few kernel types bpf/hops.bpf.c reads, each with only the fields it uses, marked
 * preserve_access_index: clang records every field access as a CO-RE relocation, and libbpf resolves them
 * against the running kernel's BTF (/sys/kernel/btf/vmlinux) when nbench loads the programs. So the build
 * needs no BTF (a container or CI builder without /sys/kernel/btf builds the same object), the object runs on
 * any kernel whose BTF has these names, and what the programs depend on is this page rather than a 3 MB
 * generated vmlinux.h. Fields are matched by name, through the kernel's anonymous unions too, so their
 * order and offsets here do not matter.
 */
#ifndef NBENCH_KERNEL_MIN_H
#define NBENCH_KERNEL_MIN_H

#include <linux/bpf.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef _Bool bool;
#define true 1
#define false 0

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct ns_common {
	unsigned int inum; /* the namespace's inode: stat(/run/netns/NAME).st_ino */
};

struct net {
	struct ns_common ns;
};

typedef struct {
	struct net *net;
} possible_net_t;

struct net_device {
	int ifindex;
	possible_net_t nd_net;
};

struct sock_common {
	__be16 skc_dport; /* the peer's port */
	__u16 skc_num;	  /* the local port, host order */
	possible_net_t skc_net;
};

struct sk_buff;
struct sk_buff_head {
	struct sk_buff *next, *prev;
};

struct sock {
	struct sock_common __sk_common;
	struct sk_buff_head sk_receive_queue;
};

struct tcp_sock {
	__u32 write_seq;      /* the sequence number of the next byte the application writes */
	__u32 rcv_nxt;	      /* the next sequence number expected from the peer */
	__u32 snd_una;	      /* the first byte the peer has not acknowledged */
	__u64 bytes_received; /* data bytes received: rcv_nxt - this is the peer's ISN + 1 */
};

/* TCP states (include/net/tcp_states.h, a stable ABI) */
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT	2
#define TCP_CLOSE	7

struct sk_buff {
	struct net_device *dev;
	struct sock *sk;
	char cb[48];
	unsigned int len, data_len;
	__u16 transport_header, network_header, mac_header;
	__be16 protocol;
	unsigned char *head, *data;
	__u64 tstamp; /* TCP: the departure time (tcp_wstamp_ns, CLOCK_MONOTONIC) while in its own stack */
};

struct iovec {
	void *iov_base;
	__kernel_size_t iov_len;
};

struct iov_iter {
	__u8 iter_type;
	__kernel_size_t iov_offset;
	const struct iovec *__iov;
	void *ubuf;
};

/* before 6.4 the iovec array was called iov */
struct iov_iter___old {
	__u8 iter_type;
	__kernel_size_t iov_offset;
	const struct iovec *iov;
};

struct msghdr {
	struct iov_iter msg_iter;
};

/* Network headers, only for their BTF ids (bpf_rdonly_cast); their bytes are read by offset (struct
 * nb_ip4 ... in hops.bpf.c): the wire format is fixed, no relocation needed. */
struct iphdr {
	__u8 protocol;
};
struct ipv6hdr {
	__u8 nexthdr;
};
struct tcphdr {
	__be32 seq;
};
struct udphdr {
	__be16 len;
};

#pragma clang attribute pop

enum iter_type {
	ITER_UBUF,
	ITER_IOVEC,
};

#endif
