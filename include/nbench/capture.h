/* SPDX-License-Identifier: MIT */
/*
 * --capture FILE: the test's packets on every interface of the path, written as one pcapng file that
 * tshark and Wireshark read. libpcap captures on each interface inside its namespace (nanosecond host
 * timestamps, a kernel filter on the server's ports: data and control); the file has one interface block per
 * interface (its name, its namespace as the description, nanosecond resolution), the packets in the order
 * they were read, and at the end each interface's statistics (received, dropped by the kernel, and a
 * comment saying what the snap length and the size cap cut). The report says the same.
 */
#ifndef NBENCH_CAPTURE_H
#define NBENCH_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nbench/nic.h"
#include "nbench/report.h"

#define NB_CAPTURE_SNAP_DEFAULT 256u	    /* bytes kept per packet: headers and nbench's marker */
#define NB_CAPTURE_MAX_DEFAULT	(64u << 20) /* the file's size cap */
#define NB_CAPTURE_SNAP_MIN	64u
#define NB_CAPTURE_SNAP_MAX	262144u
#define NB_CAPTURE_MAX_MIN	(64u << 10)

struct nb_capture_opts {
	const struct nb_nic_ref *ifs; /* the path's interfaces */
	unsigned n_ifs;		      /* 1 .. NB_REPORT_MAX_CAPTURE_IFS */
	uint16_t ports[2];	      /* the server's port as dialled and as it listens */
	const char *file;	      /* written (truncated first) */
	uint32_t snap_bytes;	      /* 0: NB_CAPTURE_SNAP_DEFAULT */
	uint64_t max_bytes;	      /* 0: NB_CAPTURE_MAX_DEFAULT */
};

struct nb_capture;

/* Creates the file, opens a capture on every interface (one that cannot be opened fails the whole), writes
 * the section and interface blocks and starts the capture thread. 0, or -errno with one line in err. */
int nb_capture_start(const struct nb_capture_opts *o, struct nb_capture **ret, char *err, size_t errlen);
/* Stops capturing (after draining what the kernel holds), writes the interfaces' statistics, closes the
 * file and fills out. 0, or -errno (a write failed: out->error says so). */
int nb_capture_finish(struct nb_capture *c, struct nb_report_capture *out);
/* Stops the thread if it runs, closes what is open; NULL is fine. */
void nb_capture_free(struct nb_capture *c);

/* ---- pcapng blocks (the file format's section 4), pure: each appends one block to f, in the host's byte
 * order (the section header's magic tells readers which). 0, or -EIO when a write failed. ---- */

/* Section header: the application's name as shb_userappl. */
int nb_pcapng_shb(FILE *f, const char *appl);
/* Interface description: link type, snap length, if_name, if_description (NULL: none), if_tsresol 9 (ns). */
int nb_pcapng_idb(FILE *f, uint16_t linktype, uint32_t snap_bytes, const char *name, const char *descr);
/* Enhanced packet: interface ifid, the time in ns since the epoch, caplen bytes of data of a packet of
 * origlen. */
int nb_pcapng_epb(FILE *f, uint32_t ifid, uint64_t ts_ns, const void *data, uint32_t caplen,
		  uint32_t origlen);
/* Interface statistics: packets received and dropped by the kernel, and a comment (NULL: none). */
int nb_pcapng_isb(FILE *f, uint32_t ifid, uint64_t ts_ns, uint64_t recv, uint64_t drop, const char *comment);
/* The bytes nb_pcapng_epb writes for caplen bytes of data. */
size_t nb_pcapng_epb_bytes(uint32_t caplen);

#endif
