/* SPDX-License-Identifier: MIT */
/*
 * --capture FILE: the test's packets on every interface of the path, written as one pcapng file that
 * tshark and Wireshark read. libpcap captures on each interface inside its namespace (nanosecond host
 * timestamps, a kernel filter on the server's ports: data and control); the file has one interface block per
 * interface (its name, its namespace as the description, nanosecond resolution), the packets in time order
 * (those read in one pass over the interfaces sorted), and at the end each interface's statistics (received,
 * dropped by the kernel, and a comment saying what the snap length and the size cap cut). The report says the
 * same.
 */
#ifndef NBENCH_PATHCAP_H
#define NBENCH_PATHCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nbench/nic.h"
#include "nbench/report.h"

#define NB_PATHCAP_SNAP_DEFAULT 256u	    /* bytes kept per packet: headers and nbench's marker */
#define NB_PATHCAP_MAX_DEFAULT	(64u << 20) /* the file's size cap */
#define NB_PATHCAP_SNAP_MIN	64u
#define NB_PATHCAP_SNAP_MAX	262144u
#define NB_PATHCAP_MAX_MIN	(64u << 10)

/* What the user asked: the file and its limits (0: the defaults). */
struct nb_pathcap_cfg {
	const char *file; /* NULL: no capture */
	uint32_t snap_bytes;
	uint64_t max_bytes;
};

struct nb_pathcap_opts {
	const struct nb_nic_ref *ifs; /* the path's interfaces */
	unsigned n_ifs;		      /* 1 .. NB_REPORT_MAX_CAPTURE_IFS */
	uint16_t ports[2];	      /* the server's port as dialled and as it listens */
	const char *file;	      /* written (truncated first) */
	uint32_t snap_bytes;	      /* 0: NB_PATHCAP_SNAP_DEFAULT */
	uint64_t max_bytes;	      /* 0: NB_PATHCAP_MAX_DEFAULT */
};

struct nb_pathcap;

/* Creates the file, opens a capture on every interface (one that cannot be opened fails the whole), writes
 * the section and interface blocks and starts the capture thread. 0, or -errno with one line in err. */
int nb_pathcap_start(const struct nb_pathcap_opts *o, struct nb_pathcap **ret, char *err, size_t errlen);
/* Stops capturing (after draining what the kernel holds), writes the interfaces' statistics, closes the
 * file and fills out. 0, or -errno (a write failed: out->error says so). */
int nb_pathcap_finish(struct nb_pathcap *c, struct nb_report_capture *out);
/* Stops the thread if it runs, closes what is open; NULL is fine. */
void nb_pathcap_free(struct nb_pathcap *c);

#endif
