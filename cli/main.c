/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "nbench/topo.h"

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "topo"))
		return nb_topo_cli(argc - 1, argv + 1);
	fprintf(stderr, "nbench: usage: nbench <serve|stream|rr|crr|topo|compare> ...\n");
	return 2;
}
