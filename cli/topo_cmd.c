/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include "nbench/topo.h"
int nb_topo_cli(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "nbench topo: not built yet\n");
	return 2;
}
