/* SPDX-License-Identifier: MIT */
/*
 * Small file helpers shared by the state files, the guest's files and the caches under /run/nbench.
 */
#ifndef NBENCH_FSUTIL_H
#define NBENCH_FSUTIL_H

#include <stddef.h>

/* mkdir -p dir (mode 0755 for what it creates). 0 or -errno. */
int nb_mkdir_p(const char *dir);

/* The first max bytes of path, NUL-terminated (malloc'd), or NULL with errno set. */
char *nb_slurp(const char *path, size_t max);

/* Replaces path with text (mode 0644) through path.tmp and a rename, so a reader sees the old file or the
 * new one, never half of one. 0 or -errno; path.tmp is removed on failure. */
int nb_write_atomic(const char *path, const char *text);

#endif
