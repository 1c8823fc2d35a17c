#!/usr/bin/env bash
# The library under a storm (t/bench/storm-lib): 5,000 socket messages and,
# as root, 200 udev events from veth pairs in one second. It checks its own
# bounds (batches, no event lost, latency, memory) and prints the figures.
. "$top_srcdir/t/lib.sh"
need_integration
if [ "$(id -u)" -eq 0 ]; then kernel_objects; else note "not root: socket messages only"; fi
"$top_builddir/t/bench/storm-lib" -n 5000 -s 1 -p 100 | tee "$T/storm.out"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || fail "storm-lib exited $rc"
