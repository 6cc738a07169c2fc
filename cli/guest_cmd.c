/* SPDX-License-Identifier: MIT */
/*
 * `nbench guest build|probe`: the VM paths' guest image (scripts/guest-build, cached under
 * $NBENCH_GUEST_DIR or /var/cache/nbench/guest) and what this host can run it with.
 * Exit status: 0 done, 1 failed, 2 usage.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nbench/guest.h"

/* guest's options, for --help (each subcommand reads its own). */
static const struct cli_opt guest_opts[] = {
    {"force", 0, NULL, 0, 0, CLI_OT_SET, .help = "build: build even when the image is up to date"},
    {"quiet", 'q', NULL, 0, 0, CLI_OT_SET, .help = "build: print only the image's JSON file"},
    {"fresh", 0, NULL, 0, 0, CLI_OT_SET, .help = "probe: probe again rather than take this boot's answer"},
    {"json", 0, NULL, 0, 0, CLI_OT_SET, .help = "probe: the answers as JSON"},
};

static const struct cli_cmd guest_cmd = {
    .name = "guest",
    .kind = -1,
    .own = guest_opts,
    .n_own = sizeof(guest_opts) / sizeof(guest_opts[0]),
    .usage = "guest build [--force] [--quiet]\nguest probe [--fresh] [--json]",
    .about = "build: make the guest image of the VM paths for this nbench binary, unless it is up to "
	     "date.\nprobe: the accelerator the VM paths use (kvm only when a probe boot under KVM works, "
	     "else\ntcg; cached per boot), whether vhost-net is available (path vhost) and whether "
	     "dpdk-testpmd\nwith DPDK's vhost PMD is (path vhost-user)."};

static int guest_build(int argc, char **argv)
{
	struct nb_guest_image img;
	bool force = false, quiet = false;
	char err[512];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
			quiet = true;
		else
			return cli_usage_error("guest build", "unknown argument '%s'", argv[i]);
	}
	if (nb_guest_image(force, !quiet, &img, err, sizeof(err))) {
		fprintf(stderr, "nbench guest build: %s\n", err);
		return 1;
	}
	if (quiet) {
		printf("%s\n", img.json);
		return 0;
	}
	printf("image    %s\nkernel   %s (%s)\n         %s\ninitrd   %s\n", img.json, img.kernel_version,
	       img.kernel_package, img.kernel, img.initrd);
	return 0;
}

static int guest_probe(int argc, char **argv)
{
	struct nb_guest_image img;
	bool fresh = false, json = false;
	char err[512], accel[8], why[256], vwhy[256], uwhy[256];
	int vr, ur;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fresh"))
			fresh = true;
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return cli_usage_error("guest probe", "unknown argument '%s'", argv[i]);
	}
	/* the KVM probe boots the real image */
	if (nb_guest_image(false, false, &img, err, sizeof(err))) {
		fprintf(stderr, "nbench guest probe: %s\n", err);
		return 1;
	}
	nb_guest_accel(&img, fresh, accel, sizeof(accel), why, sizeof(why));
	vr = nb_guest_vhost_probe(vwhy, sizeof(vwhy));
	ur = nb_guest_vhost_user_probe(uwhy, sizeof(uwhy));
	if (json) {
		/* the reasons hold no quotes or backslashes: they are our own messages and strerror's */
		printf("{\"accel\": \"%s\", \"accel_why\": \"%s\", \"vhost_net\": %s, \"vhost_why\": \"%s\", "
		       "\"vhost_user\": %s, \"vhost_user_why\": \"%s\", \"kernel_version\": \"%s\"}\n",
		       accel, why, vr ? "false" : "true", vwhy, ur ? "false" : "true", uwhy,
		       img.kernel_version);
		return 0;
	}
	printf("accel      %s%s%s%s\n", accel, *why ? " (kvm not used: " : "", why, *why ? ")" : "");
	printf("vhost-net  %s%s%s%s\n", vr ? "unavailable" : "available", vr ? " (" : "", vr ? vwhy : "",
	       vr ? ")" : "");
	printf("vhost-user %s%s%s%s\n", ur ? "unavailable" : "available (dpdk-testpmd, net_vhost, net_tap)",
	       ur ? " (" : "", ur ? uwhy : "", ur ? ")" : "");
	printf("guest      kernel %s\n", img.kernel_version);
	return 0;
}

int cmd_guest(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("guest", "missing subcommand (build, probe; see nbench guest --help)");
	/* --help anywhere (nbench guest build --help) */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cli_help(&guest_cmd);
			return 0;
		}
	if (!strcmp(argv[1], "build"))
		return guest_build(argc - 1, argv + 1);
	if (!strcmp(argv[1], "probe"))
		return guest_probe(argc - 1, argv + 1);
	return cli_usage_error("guest", "unknown subcommand '%s' (build, probe)", argv[1]);
}
