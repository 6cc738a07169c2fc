#!/bin/bash
# The pending table cannot be filled from many addresses (issue 24, finding 4): 40 addresses with 32 silent
# connections each (1,280: more than the 1,024 pending connections a responder keeps) leave a keyed client at a
# 41st address served every time: the table is shared fairly between sources, so a newcomer takes the place of
# the oldest connection of the source that holds the most. Loopback, no root.
. "$(dirname "$0")/lib.sh"
keyed_setup
start_responder "$port" "" --key-file "$T/k" --idle-timeout 60s || exit 1

flood_start "$port" 1280 40 "$T"
sleep 1
keyed_tries 30 127.0.0.1 "a keyed client beside 40 x 32 silent connections"
finish
