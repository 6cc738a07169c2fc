/* SPDX-License-Identifier: MIT */
/*
 * The Docker paths (docker-host, docker-nat, docker-proxy, docker-bridge): their server end is a container
 * the Docker Engine builds, through its API on its unix socket ($DOCKER_HOST, else /var/run/docker.sock),
 * from an image nbench makes itself without a registry: this nbench binary and the shared libraries it
 * runs with, imported into the engine and tagged nbench:<version>. topo/docker*.c.
 */
#ifndef NBENCH_DOCKER_H
#define NBENCH_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The image's repository; its tag is nbench's version. */
#define NB_DOCKER_REPO "nbench"
/* Where the image has the nbench binary. */
#define NB_DOCKER_BIN "/usr/local/bin/nbench"

/* The engine, as reports name it. "" for what it did not say. */
struct nb_docker_engine {
	char version[48];	   /* "20.10.24+dfsg1" */
	char api_version[16];	   /* "1.41" */
	char storage_driver[32];   /* "overlay2" */
	char cgroup_driver[16];	   /* "cgroupfs", "systemd" */
	char cgroup_version[4];	   /* "1", "2" */
	char runtime[32];	   /* the default OCI runtime: "runc" */
	char kernel[64];	   /* as the engine sees it */
	char os[96];		   /* "Debian GNU/Linux 12 (bookworm)" */
	char iptables[16];	   /* "nft", "legacy", "unknown": how its rules reach the kernel */
	bool ipv4_forwarding;	   /* what the engine set or found */
	bool bridge_nf_iptables;   /* bridged traffic goes through iptables (br_netfilter) */
	bool cpuset, memory_limit; /* the engine can limit a container's CPUs and memory */
};

/* One container, as inspected. Limits: 0 is "none" (as the engine has it). */
struct nb_docker_ctr {
	char id[72];
	char name[40];
	char image[80];
	char network[40]; /* its network mode: "host", "bridge", a network's name */
	bool running;
	pid_t pid; /* its first process, as this pid namespace sees it (0: not running) */
	char ip[48], gateway[48];
	char status[16];
	int exit_code;
	char error[160];
	/* its cgroup's limits */
	char cpuset_cpus[64]; /* "" any */
	int64_t nano_cpus;    /* --cpus, 1e9 per CPU */
	int64_t cpu_quota_us, cpu_period_us, cpu_shares;
	int64_t memory_bytes;
	int64_t pids_limit;
};

/* The engine at $DOCKER_HOST (else /var/run/docker.sock): 0 and *ret, or -errno with one line in err
 * (-ENOENT: no socket, no engine here). */
int nb_docker_engine_info(struct nb_docker_engine *ret, char *err, size_t errlen);

/* The image in use: its reference and what it holds. */
struct nb_docker_image {
	char ref[48];	  /* "nbench:0.1.0" */
	char id[80];	  /* "sha256:..." */
	char content[72]; /* sha256 of the root file system's tar: what tells two builds apart */
	size_t tar_bytes; /* its size */
	unsigned files;	  /* regular files in it (the binary, its libraries, the loader) */
	bool built;	  /* made by this call (else it was there, up to date) */
};

/* Makes the image nbench:<version> from this nbench binary and the libraries it runs with (the loader's
 * list, the one ldd prints) as a root file system imported into the engine (POST /images/create, as
 * `docker import`), unless the engine has it with the same content already (force: always). No registry.
 * 0 and *ret, or -errno with one line in err. */
int nb_docker_image_build(bool force, struct nb_docker_image *ret, char *err, size_t errlen);

/* The root file system of the image as a ustar archive (malloc'd into *ret, its size into *ret_len): this
 * process's binary and shared objects. Its sha256 as hex into content (65 bytes), how many files into
 * *ret_files. 0 or -errno with err set. */
int nb_docker_image_tar(char **ret, size_t *ret_len, char content[65], unsigned *ret_files, char *err,
			size_t errlen);

#endif
