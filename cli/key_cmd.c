/* SPDX-License-Identifier: MIT */
/* nbench key gen FILE: a new shared key for `serve --key-file` and the clients' --key-file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nbench/auth.h"

static const struct cli_cmd key_cmd = {
    .name = "key",
    .kind = -1,
    .usage = "key gen FILE",
    .about = "Writes a new random key to FILE (mode 0600; an existing FILE is never overwritten).\nCopy "
	     "it to the responder and the clients, and give it to each with --key-file FILE."};

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

static int key_gen(int argc, char **argv)
{
	char err[512];
	if (argc > 1 && is_help(argv[1])) {
		cli_help(&key_cmd);
		return 0;
	}
	if (argc < 2)
		return cli_usage_error("key gen", "missing FILE (usage: nbench key gen FILE)");
	if (argc > 2)
		return cli_usage_error("key gen", "unexpected argument '%s' (usage: nbench key gen FILE)",
				       argv[2]);
	if (argv[1][0] == '-')
		return cli_usage_error("key gen", "unknown option '%s' (usage: nbench key gen FILE)",
				       argv[1]);
	if (nb_key_generate(argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "nbench key gen: %s\n", err);
		return 1;
	}
	printf("a new key in %s (mode 0600): copy it to the responder's host and every client (--key-file)\n",
	       argv[1]);
	return 0;
}

int cmd_key(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("key", "missing subcommand (usage: nbench key gen FILE)");
	if (is_help(argv[1])) {
		cli_help(&key_cmd);
		return 0;
	}
	if (!strcmp(argv[1], "gen"))
		return key_gen(argc - 1, argv + 1);
	return cli_usage_error("key", "unknown subcommand '%s' (usage: nbench key gen FILE)", argv[1]);
}
