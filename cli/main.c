/* SPDX-License-Identifier: MIT */
/* nbench: what does this network path cost? One binary, commands as a table. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("nbench %s\n", NB_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} cmds[] = {
    {"serve", cmd_serve, "the responder: sink, source and echo over one control port"},
    {"stream", cmd_test, "bulk goodput, either direction, N flows (TCP or UDP)"},
    {"rr", cmd_test, "request/response latency and transactions/s (TCP or UDP)"},
    {"crr", cmd_test, "a new TCP connection per transaction"},
    {"topo", cmd_topo, "build, remove, list or print network paths"},
    {"throughput", cmd_throughput, "RFC 2544: the highest zero-loss rate per frame size"},
    {"compare", cmd_compare, "every test on every path, interleaved and repeated"},
    {"sweep", cmd_sweep, "a test per combination of NIC knobs (offloads, MTU, rings, qdisc)"},
    {"plot", cmd_plot, "draw figures from nbench JSON reports with gnuplot"},
    {"diff", cmd_diff, "each metric's change between two reports, and whether it is significant"},
    {"key", cmd_key, "write a new shared key: nbench key gen FILE"},
    {"guest", cmd_guest, "build the VM paths' guest image; probe KVM and vhost-net"},
    {"image", cmd_image, "build the Docker paths' image (no registry); show the engine"},
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "this list"},
};

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage: nbench <command> [options]   (nbench <command> --help for its options)\n\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		printf("  %-8s %s\n", cmds[i].name, cmds[i].what);
	printf("\nexample: nbench serve &  nbench rr -H 127.0.0.1 -t 5\n         nbench rr --path nat\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cmd_help(0, NULL);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(0, NULL);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "nbench: unknown command '%s' (see nbench help)\n", argv[1]);
	return 2;
}
