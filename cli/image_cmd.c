/* SPDX-License-Identifier: MIT */
/*
 * `nbench image build|engine`: the Docker paths' image (this binary and the libraries it runs with,
 * imported into the engine without a registry, tagged nbench:<version>) and the engine they run on.
 * Exit status: 0 done, 1 failed (no engine, the engine refused), 2 usage.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nbench/docker.h"

/* image's options, for --help (each subcommand reads its own). */
static const struct cli_opt image_opts[] = {
    {"force", 0, NULL, 0, 0, CLI_OT_SET, .help = "build: import even when the engine has the same content"},
    {"json", 0, NULL, 0, 0, CLI_OT_SET, .help = "build, engine: the answer as JSON"},
};

static const struct cli_cmd image_cmd = {
    .name = "image",
    .kind = -1,
    .own = image_opts,
    .n_own = sizeof(image_opts) / sizeof(image_opts[0]),
    .usage = "image build [--force] [--json]\nimage engine [--json]",
    .about =
	"build: make the Docker paths' image " NB_DOCKER_REPO ":" NB_VERSION " from this binary and "
	"the shared\nlibraries it runs with (ldd's list) and import it into the engine at $DOCKER_HOST "
	"(else\n/var/run/docker.sock), unless it is there with the same content. No registry is used; "
	"docker\ntag + docker push put it in a team's own registry.\nengine: the Docker engine the paths "
	"would use: version, storage and cgroup driver, iptables\nbackend."};

static int image_build(int argc, char **argv)
{
	struct nb_docker_image img;
	bool force = false, json = false;
	char err[512];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return cli_usage_error("image build", "unknown argument '%s'", argv[i]);
	}
	if (nb_docker_image_build(force, &img, err, sizeof(err))) {
		fprintf(stderr, "nbench image build: %s\n", err);
		return 1;
	}
	if (json) /* every string is nbench's own: hex, a version, an id */
		printf("{\"ref\": \"%s\", \"id\": \"%s\", \"content_sha256\": \"%s\", \"files\": %u, "
		       "\"tar_bytes\": %zu, "
		       "\"built\": %s}\n",
		       img.ref, img.id, img.content, img.files, img.tar_bytes, img.built ? "true" : "false");
	else
		printf("image    %s (%s)\nid       %s\ncontent  sha256 %s: %u files, %.1f MB\n", img.ref,
		       img.built ? "imported now" : "up to date", img.id, img.content, img.files,
		       (double)img.tar_bytes / 1e6);
	return 0;
}

static int image_engine(int argc, char **argv)
{
	struct nb_docker_engine e;
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	char err[512];

	if (argc > 2 || (argc == 2 && !json))
		return cli_usage_error("image engine", "unknown argument '%s'", argv[argc - 1]);
	if (nb_docker_engine_info(&e, err, sizeof(err))) {
		fprintf(stderr, "nbench image engine: %s\n", err);
		return 1;
	}
	if (json) {
		printf("{\"version\": \"%s\", \"api_version\": \"%s\", \"storage_driver\": \"%s\", "
		       "\"cgroup_driver\": "
		       "\"%s\", \"cgroup_version\": \"%s\", \"iptables\": \"%s\"}\n",
		       e.version, e.api_version, e.storage_driver, e.cgroup_driver, e.cgroup_version,
		       e.iptables);
		return 0;
	}
	printf(
	    "engine    Docker %s (API %s) on %s\nstorage   %s\ncgroup    v%s, %s driver%s%s\niptables  %s\n",
	    e.version, e.api_version, e.os, e.storage_driver, e.cgroup_version, e.cgroup_driver,
	    e.cpuset ? "" : "; no cpuset", e.memory_limit ? "" : "; no memory limit", e.iptables);
	return 0;
}

int cmd_image(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("image",
				       "missing subcommand (build, engine; see nbench image --help)");
	/* --help anywhere (nbench image build --help) */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cli_help(&image_cmd);
			return 0;
		}
	if (!strcmp(argv[1], "build"))
		return image_build(argc - 1, argv + 1);
	if (!strcmp(argv[1], "engine"))
		return image_engine(argc - 1, argv + 1);
	return cli_usage_error("image", "unknown subcommand '%s' (build, engine)", argv[1]);
}
