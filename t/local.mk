EXTRA_DIST += t/valgrind-run t/lib.sh t/check_run.h

# Every Check unit test is also a test program of `make check`.
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

# The live cluster test bed (t/cluster-lib.sh): process 1 of each node. Built
# by `make` too: the demo runs on the same cluster.
noinst_PROGRAMS += t/cluster-init
t_cluster_init_SOURCES = t/cluster-init.c
# cluster-watch: when an entries file first lists something (latencies).
noinst_PROGRAMS += t/cluster-watch
t_cluster_watch_SOURCES = t/cluster-watch.c
t_cluster_watch_LDADD = libpm.la

# The live cluster tests (t/cluster-lib.sh): not in `make check` (which runs
# tests two at a time beside the hotplug tests); `make check-live` runs them
# one after the other, as ./quickstart's live stage does.
LIVE_TESTS = t/live-migration.sh t/live-balance.sh t/live-failover.sh \
	t/live-failback.sh t/live-availability.sh t/live-zone-store.sh \
	t/live-zones.sh
EXTRA_DIST += $(LIVE_TESTS) t/cluster-lib.sh t/cluster-alert-log
check-live: all
	$(MAKE) $(AM_MAKEFLAGS) -j1 check TESTS="$(LIVE_TESTS)"
.PHONY: check-live
# t/lib.sh's kernel_objects: the lock the tests that make kernel objects share.
CLEANFILES += t/kernel-objects.lock
