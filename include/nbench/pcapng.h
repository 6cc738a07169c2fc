/* SPDX-License-Identifier: MIT */
/* pcapng blocks (the file format's section 4), for --capture (pathcap.h). */
#ifndef NBENCH_PCAPNG_H
#define NBENCH_PCAPNG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Each appends one block to f, in the host's byte order (the section header's magic tells readers which): 0,
 * or -EIO when a write failed. Pure. */

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
