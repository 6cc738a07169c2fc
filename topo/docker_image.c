/* SPDX-License-Identifier: MIT */
/*
 * The image of the Docker paths, made without a registry: this nbench binary at NB_DOCKER_BIN and every
 * shared object the process runs with (the loader's own list: what ldd prints for the binary, the loader
 * included), each at the path it was loaded from, and an empty /tmp. Written as a ustar archive in memory
 * (a 512-byte header per entry: small enough to write here rather than link libarchive and its compressors
 * into a binary that must itself fit in the image), byte for byte the same for the same files (times and
 * owners are zero), so its sha256 tells whether the engine's image is this binary's. Imported through
 * POST /images/create?fromSrc=- (`docker import`), labelled nbench.content=<sha256>, tagged
 * nbench:<version>.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker_api.h"
#include "topo_int.h"

#define TAR_BLOCK 512
#define MAX_FILES 256

struct tarbuf {
	char *p;
	size_t n, cap;
};

static int tb_grow(struct tarbuf *t, size_t more)
{
	if (t->n + more <= t->cap)
		return 0;
	size_t cap = (t->n + more) * 3 / 2 + (1 << 20);
	char *p = realloc(t->p, cap);

	if (!p)
		return -ENOMEM;
	t->p = p;
	t->cap = cap;
	return 0;
}

/* One ustar header: name split into prefix/name when it is over 100 bytes; type '0' file, '5' directory. */
static int tar_header(struct tarbuf *t, const char *name, char type, unsigned mode, size_t size)
{
	unsigned char h[TAR_BLOCK] = {0};
	unsigned sum = 0;
	size_t len = strlen(name), cut = 0;

	if (len > 100) { /* the prefix ends at a '/', the rest fits in name */
		for (cut = len - 100; cut < len && name[cut] != '/'; cut++)
			;
		if (cut >= len || cut > 155)
			return -ENAMETOOLONG;
	}
	if (cut) {
		memcpy(h + 345, name, cut);
		memcpy(h, name + cut + 1, len - cut - 1);
	} else {
		memcpy(h, name, len);
	}
	snprintf((char *)h + 100, 8, "%07o", mode);
	snprintf((char *)h + 108, 8, "%07o", 0u);
	snprintf((char *)h + 116, 8, "%07o", 0u);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf((char *)h + 136, 12, "%011o", 0u);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8); /* the checksum counts its own field as spaces */
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	if (tb_grow(t, TAR_BLOCK))
		return -ENOMEM;
	memcpy(t->p + t->n, h, TAR_BLOCK);
	t->n += TAR_BLOCK;
	return 0;
}

static int tar_file(struct tarbuf *t, const char *name, const char *src, char *err, size_t errlen)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC), r;
	struct stat st;
	size_t pad;

	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		r = fd < 0 ? -errno : -EINVAL;
		nb_err(err, errlen, "image: cannot read %s: %s", src, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	pad = (TAR_BLOCK - (size_t)st.st_size % TAR_BLOCK) % TAR_BLOCK;
	r = tar_header(t, name, '0', 0755, (size_t)st.st_size);
	if (!r)
		r = tb_grow(t, (size_t)st.st_size + pad);
	for (size_t done = 0; !r && done < (size_t)st.st_size;) {
		ssize_t n = read(fd, t->p + t->n + done, (size_t)st.st_size - done);

		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			done += (size_t)n;
	}
	close(fd);
	if (r) {
		nb_err(err, errlen, "image: cannot read %s: %s", src, strerror(-r));
		return r;
	}
	memset(t->p + t->n + st.st_size, 0, pad);
	t->n += (size_t)st.st_size + pad;
	return 0;
}

/* The directories above path ("a/b/c" -> "a/", "a/b/"), each once, before it. */
static int tar_dirs(struct tarbuf *t, const char *path, char (*seen)[256], unsigned *nseen)
{
	char dir[256];

	for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		bool have = false;

		snprintf(dir, sizeof(dir), "%.*s", (int)(s - path + 1), path);
		for (unsigned i = 0; i < *nseen && !have; i++)
			have = !strcmp(seen[i], dir);
		if (have)
			continue;
		if (*nseen >= MAX_FILES || tar_header(t, dir, '5', 0755, 0))
			return -ENOMEM;
		snprintf(seen[(*nseen)++], sizeof(seen[0]), "%s", dir);
	}
	return 0;
}

struct objs {
	char path[MAX_FILES][256];
	unsigned n;
	char seen[MAX_FILES][256]; /* the directories written */
	unsigned nseen;
};

/* The loader's list of this process's shared objects: those with a file (not the vDSO, not the program). */
static int on_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct objs *o = arg;

	(void)size;
	if (info->dlpi_name && info->dlpi_name[0] == '/' && o->n < MAX_FILES &&
	    strlen(info->dlpi_name) < sizeof(o->path[0]))
		snprintf(o->path[o->n++], sizeof(o->path[0]), "%s", info->dlpi_name);
	return 0;
}

int nb_docker_image_tar(char **ret, size_t *ret_len, char content[65], unsigned *ret_files, char *err,
			size_t errlen)
{
	struct objs *o = calloc(1, sizeof(*o));
	struct tarbuf t = {0};
	unsigned char hash[crypto_hash_sha256_BYTES];
	int r;

	*ret = NULL;
	if (!o)
		return -ENOMEM;
	dl_iterate_phdr(on_object, o);
	r = tar_header(&t, "tmp/", '5', 01777, 0);
	if (!r)
		r = tar_dirs(&t, NB_DOCKER_BIN + 1, o->seen, &o->nseen);
	if (!r)
		r = tar_file(&t, NB_DOCKER_BIN + 1, "/proc/self/exe", err, errlen);
	for (unsigned i = 0; !r && i < o->n; i++) {
		r = tar_dirs(&t, o->path[i] + 1, o->seen, &o->nseen);
		if (!r)
			r = tar_file(&t, o->path[i] + 1, o->path[i], err, errlen);
	}
	if (!r && !(r = tb_grow(&t, 2 * TAR_BLOCK))) { /* the end: two empty blocks */
		memset(t.p + t.n, 0, 2 * TAR_BLOCK);
		t.n += 2 * TAR_BLOCK;
	}
	if (r) {
		if (r == -ENOMEM || r == -ENAMETOOLONG)
			nb_err(err, errlen, "image: cannot write its archive: %s", strerror(-r));
		free(t.p);
		free(o);
		return r;
	}
	crypto_hash_sha256(hash, (const unsigned char *)t.p, t.n);
	sodium_bin2hex(content, 65, hash, sizeof(hash));
	*ret_files = o->n + 1;
	*ret = t.p;
	*ret_len = t.n;
	free(o);
	return 0;
}

/* The engine's image ref, its id and content label into ret. -ENOENT when it has none. */
static int image_inspect(struct nb_docker_api *a, const char *ref, struct nb_docker_image *ret, char *err,
			 size_t errlen)
{
	char path[128], *body = NULL;
	int r;

	snprintf(path, sizeof(path), "/images/%s/json", ref);
	r = nb_docker_api_json(a, "GET", path, NULL, &body, err, errlen);
	if (!r)
		r = nb_docker_api_parse_image(body, ret->content, sizeof(ret->content));
	if (!r) {
		cJSON *o = cJSON_Parse(body);
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "Id");

		snprintf(ret->id, sizeof(ret->id), "%s", cJSON_IsString(id) ? id->valuestring : "");
		cJSON_Delete(o);
	}
	free(body);
	return r;
}

/* The query of the import: the tag, the content label and the command a container runs by default. */
static void import_query(const char *content, char *buf, size_t len)
{
	char label[128], cmd[128], le[256], ce[256];

	snprintf(label, sizeof(label), "LABEL nbench.content=%s", content);
	snprintf(cmd, sizeof(cmd), "CMD [\"" NB_DOCKER_BIN "\", \"serve\"]");
	nb_docker_api_escape(label, le, sizeof(le));
	nb_docker_api_escape(cmd, ce, sizeof(ce));
	snprintf(buf, len, "/images/create?fromSrc=-&repo=" NB_DOCKER_REPO "&tag=%s&changes=%s&changes=%s",
		 NB_VERSION, le, ce);
}

static int image_import(struct nb_docker_api *a, const char *tar, size_t len, const char *content, char *err,
			size_t errlen)
{
	char path[768], *body = NULL, msg[200];
	long status;
	int r;

	import_query(content, path, sizeof(path));
	r = nb_docker_api_call(a, "POST", path, tar, len, "application/x-tar", 600, &status, &body, err,
			       errlen);
	if (r)
		return r;
	if (status < 200 || status >= 300) {
		nb_docker_api_error(status, body, msg, sizeof(msg));
		nb_err(err, errlen, "image: the engine refused the import: %s", msg);
		r = -EIO;
	} else if ((r = nb_docker_api_parse_stream(body, msg, sizeof(msg)))) {
		nb_err(err, errlen, "image: the import failed: %s", msg);
	}
	free(body);
	return r;
}

int nb_docker_image_build(bool force, struct nb_docker_image *ret, char *err, size_t errlen)
{
	struct nb_docker_api *a = NULL;
	struct nb_docker_image old = {0};
	char content[65], *tar = NULL, path[128];
	size_t len = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->ref, sizeof(ret->ref), NB_DOCKER_REPO ":%s", NB_VERSION);
	if ((r = nb_docker_api_open(&a, err, errlen)))
		return r;
	r = nb_docker_image_tar(&tar, &len, content, &ret->files, err, errlen);
	if (r)
		goto out;
	ret->tar_bytes = len;
	r = image_inspect(a, ret->ref, &old, err, errlen);
	if (r && r != -ENOENT)
		goto out;
	if (!r && !force && !strcmp(old.content, content)) {
		snprintf(ret->id, sizeof(ret->id), "%s", old.id);
		snprintf(ret->content, sizeof(ret->content), "%s", content);
		goto out;
	}
	if ((r = image_import(a, tar, len, content, err, errlen)))
		goto out;
	if ((r = image_inspect(a, ret->ref, ret, err, errlen)))
		goto out;
	if (strcmp(ret->content, content)) {
		nb_err(err, errlen, "image: %s does not carry the content just imported", ret->ref);
		r = -EIO;
		goto out;
	}
	ret->built = true;
	/* the image this one replaced, now untagged: removed unless a container still uses it */
	if (*old.id && *old.content && strcmp(old.id, ret->id)) {
		snprintf(path, sizeof(path), "/images/%s", old.id);
		nb_docker_api_json(a, "DELETE", path, NULL, NULL, NULL, 0);
	}
	r = 0;
out:
	free(tar);
	nb_docker_api_close(a);
	return r;
}
