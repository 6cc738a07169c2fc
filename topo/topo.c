/* SPDX-License-Identifier: MIT */
#include "nbench/topo.h"
