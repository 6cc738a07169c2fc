/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nbench/fsutil.h"

int nb_mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

char *nb_slurp(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	n = fread(buf, 1, max, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int write_all(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A name for a temporary file next to name that nobody can have guessed. */
static void tmp_name(char *buf, size_t len, const char *name)
{
	unsigned long long x;

	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x))
		x = ((unsigned long long)getpid() << 32) ^ (unsigned long long)time(NULL) ^ (uintptr_t)buf;
	snprintf(buf, len, "%s.%016llx.tmp", name, x);
}

int nb_write_atomic_at(int dirfd, const char *name, const char *text)
{
	char tmp[NAME_MAX + 1];
	int fd = -1, r;

	if (strlen(name) + 22 > NAME_MAX)
		return -ENAMETOOLONG;
	for (int i = 0; fd < 0 && i < 8; i++) {
		tmp_name(tmp, sizeof(tmp), name);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	r = write_all(fd, text);
	if (close(fd) && !r)
		r = -errno;
	if (!r && renameat(dirfd, tmp, dirfd, name))
		r = -errno;
	if (r)
		unlinkat(dirfd, tmp, 0);
	return r;
}

int nb_write_atomic(const char *path, const char *text)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int dfd, r;

	if (!slash)
		return nb_write_atomic_at(AT_FDCWD, path, text);
	if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = nb_write_atomic_at(dfd, slash + 1, text);
	close(dfd);
	return r;
}

int nb_fd_trusted(int fd, unsigned kind, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if ((st.st_mode & S_IFMT) == S_IFLNK) {
		snprintf(why, whylen, "is a symlink");
		return -EPERM;
	}
	if ((st.st_mode & S_IFMT) != kind) {
		snprintf(why, whylen, "is not a %s", kind == S_IFDIR ? "directory" : "regular file");
		return -EPERM;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, whylen, "is owned by uid %u, not root", (unsigned)st.st_uid);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whylen, "mode %04o is group/world-writable", (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* The component name in the directory open at dfd, made (0700) if missing and create. The fd or -errno;
 * -ELOOP for a symlink. */
static int open_component(int dfd, const char *name, bool create)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dfd, name, flags);

	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dfd, name, 0700) && errno != EEXIST)
			return -errno;
		fd = openat(dfd, name, flags);
	}
	if (fd >= 0)
		return fd;
	/* O_NOFOLLOW|O_DIRECTORY on a symlink says ENOTDIR or ELOOP: tell it apart */
	if (errno == ENOTDIR || errno == ELOOP) {
		struct stat st;

		if (!fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode))
			return -ELOOP;
	}
	return -errno;
}

int nb_dir_open_checked(const char *path, bool create, char *err, size_t errlen)
{
	char buf[PATH_MAX], why[64];
	char *save = NULL, *c;
	int dfd, fd, r;

	if (path[0] != '/' || snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -EINVAL;
	dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		fd = open_component(dfd, c, create);
		close(dfd);
		/* buf up to this component, for the message */
		if (fd < 0) {
			snprintf(err, errlen, "%.*s: %s", (int)(c - buf + strlen(c)), path,
				 fd == -ELOOP ? "is a symlink; refusing to use it" : strerror(-fd));
			return fd == -ELOOP ? -EPERM : fd;
		}
		r = nb_fd_trusted(fd, S_IFDIR, why, sizeof(why));
		if (r) {
			close(fd);
			snprintf(err, errlen, "%.*s: %s; refusing to use it", (int)(c - buf + strlen(c)),
				 path, why);
			return r;
		}
		dfd = fd;
	}
	return dfd;
}

char *nb_slurp_at(int dirfd, const char *name, size_t max, char *why, size_t whylen)
{
	char tmp[96];
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), r;

	if (!why) {
		why = tmp;
		whylen = sizeof(tmp);
	}
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(why, whylen, "is a symlink");
		return NULL;
	}
	r = nb_fd_trusted(fd, S_IFREG, why, whylen);
	buf = r ? NULL : malloc(max + 1);
	if (!buf) {
		close(fd);
		errno = r ? -r : ENOMEM;
		return NULL;
	}
	while (got < max && (n = read(fd, buf + got, max - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno;
			free(buf);
			close(fd);
			errno = r;
			return NULL;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	return buf;
}
