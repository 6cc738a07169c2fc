/* SPDX-License-Identifier: MIT */
/*
 * Small file helpers shared by the state files, the guest's files and the caches under /run/nbench.
 * Root reads and writes there on behalf of whoever runs nbench, so what it trusts is checked: the
 * *_at helpers never follow a symlink, and nb_dir_open_checked refuses a folder someone else could
 * have planted or could write into.
 */
#ifndef NBENCH_FSUTIL_H
#define NBENCH_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* The root of nbench's runtime files (state files, VM run directories, caches). */
#define NB_RUN_DIR "/run/nbench"

/* mkdir -p dir (mode 0755 for what it creates). 0 or -errno. */
int nb_mkdir_p(const char *dir);

/* The first max bytes of path, NUL-terminated (malloc'd), or NULL with errno set. */
char *nb_slurp(const char *path, size_t max);

/* Replaces path with text (mode 0644) through a fresh temporary file next to it (O_EXCL, O_NOFOLLOW) and a
 * rename, so a reader sees the old file or the new one, never half of one. The last component of path is
 * never followed if it is a symlink (the rename replaces the link). 0 or -errno. */
int nb_write_atomic(const char *path, const char *text);

/* nb_write_atomic of file name in the directory open at dirfd. */
int nb_write_atomic_at(int dirfd, const char *name, const char *text);

/* Whether the object open at fd is one nbench may trust (kind S_IFDIR or S_IFREG): of that kind, owned by
 * root or by us, not writable by group or others. 0, or -EPERM with what is wrong ("is a symlink", "owned
 * by uid 1000", "mode 0777 is group/world-writable") in why. */
int nb_fd_trusted(int fd, unsigned kind, char *why, size_t whylen);

/* Opens the absolute directory path (O_DIRECTORY, close-on-exec), component by component without
 * following a symlink, each component checked with nb_fd_trusted. With create, a missing component is made
 * (mode 0700). The fd, or -errno with one line into err naming the folder and what is wrong with it;
 * -ENOENT (err set too) if it is missing and not create. */
int nb_dir_open_checked(const char *path, bool create, char *err, size_t errlen);

/* The first max bytes of file name in the directory open at dirfd, NUL-terminated (malloc'd), only if it is
 * a regular file nb_fd_trusted accepts and not a symlink. NULL with errno set (EPERM: not trusted, with
 * the reason in why when why is not NULL). */
char *nb_slurp_at(int dirfd, const char *name, size_t max, char *why, size_t whylen);

#endif
