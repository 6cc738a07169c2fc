/* SPDX-License-Identifier: MIT */
/*
 * VM paths (the kinds for which nb_guest_kind is true): the server end is a small qemu guest on a tap in
 * the path's bridge (for "vhost-user", behind a DPDK testpmd forwarding between its vhost-user socket and the
 * tap), running its own `nbench serve`. The guest image (Debian's kernel, an initramfs with the virtio-net
 * modules, busybox and this nbench binary) is built by scripts/guest-build and cached; the accelerator (KVM,
 * else TCG) and vhost-net are probed, never assumed. nb_topo_up starts the guest and returns once its
 * responder answers; nb_topo_down stops it with the rest of the path.
 */
#ifndef NBENCH_GUEST_H
#define NBENCH_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct nb_topo;

/* Where the image is cached unless $NBENCH_GUEST_DIR says otherwise. */
#define NB_GUEST_DIR "/var/cache/nbench/guest"
/* Where a console log is kept when a guest does not come up. */
#define NB_GUEST_LOG_DIR "/var/log/nbench"

/* The image in use: what scripts/guest-build made for this nbench binary. */
struct nb_guest_image {
	char kernel[256];	 /* vmlinuz path */
	char initrd[256];	 /* initramfs path */
	char kernel_version[64]; /* "6.1.0-56-amd64" */
	char kernel_package[96]; /* "linux-image-6.1.0-56-amd64 6.1.192-2" */
	char json[256];		 /* the image's description file */
};

/* Builds the guest image for the running nbench binary unless it is up to date (force: always). The
 * script's progress goes to stderr when verbose, else to DIR/build.log. 0 or -errno with err set. */
int nb_guest_image(bool force, bool verbose, struct nb_guest_image *ret, char *err, size_t errlen);

/* Whether KVM runs the guest: from the per-boot cache in /run/nbench, else by booting the image under KVM
 * with a short timeout (fresh: ignore the cache). $NBENCH_ACCEL=kvm|tcg overrides. ret_accel gets "kvm"
 * or "tcg"; why gets the reason KVM is not used (empty when it is). Returns 0 or -errno (no image). */
int nb_guest_accel(const struct nb_guest_image *img, bool fresh, char *ret_accel, size_t accel_len, char *why,
		   size_t whylen);

/* 0 if vhost-net can be used (/dev/vhost-net opens), else -errno with the reason in why. */
int nb_guest_vhost_probe(char *why, size_t whylen);

/* 0 if the "vhost-user" path can be built: dpdk-testpmd (or $NBENCH_TESTPMD) present, and DPDK's vhost
 * and tap PMDs with it; else -errno with "vhost-user unavailable: <reason>" in why. */
int nb_guest_vhost_user_probe(char *why, size_t whylen);

/* The backend of the "vhost-user" path as reports name it. */
#define NB_GUEST_VHOST_USER "vhost-user (dpdk-testpmd io fwd)"

/* Whether kind is a VM path kind: its server end is a guest (the kind table in topo/plan.c says which). */
bool nb_guest_kind(const char *kind);

/* What the guest of a running VM path is. */
struct nb_topo_guest {
	char kernel_version[64];
	char accel[8];	     /* "kvm" or "tcg" */
	char accel_why[160]; /* why not kvm ("" when kvm) */
	char backend[48];    /* "qemu" (userspace virtio-net in qemu), "vhost-net" or NB_GUEST_VHOST_USER */
	int64_t boot_ns;     /* qemu started -> responder answered */
	pid_t qemu_pid;
	char console[256]; /* the serial console log while the guest runs */
};

/* 0 and *ret filled when t's server end is a guest, else -ENOENT. */
int nb_topo_guest(const struct nb_topo *t, struct nb_topo_guest *ret);

/* Whether t's server end runs its own responder (a guest), so nobody must spawn one. */
bool nb_topo_has_own_responder(const struct nb_topo *t);

#endif
