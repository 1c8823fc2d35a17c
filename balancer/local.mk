# balancer: libbalancer (model, planner, engine) and patmon-balance.
noinst_LTLIBRARIES += libbalancer.la
libbalancer_la_SOURCES = \
	balancer/balancer.h balancer/internal.h \
	balancer/cluster.c balancer/plan-internal.h balancer/plan.c \
	balancer/plan-work.c balancer/plan-failover.c balancer/plan-overload.c \
	balancer/forecast.c balancer/estimate.c balancer/load-model.c \
	balancer/config.c balancer/exec.c balancer/pcmk-internal.h balancer/pcmk.c \
	balancer/pcmk-status.c balancer/pcmk-cib.c balancer/pcmk-constraints.c \
	balancer/pcmk-simulate.c balancer/pcmk-zone.c balancer/metrics.c balancer/rrd-read.c \
	balancer/rrdc.c balancer/engine-utilization.c \
	balancer/state.c balancer/failback.c balancer/publish.c \
	balancer/engine-internal.h balancer/engine.c balancer/engine-model.c balancer/engine-metrics.c \
	balancer/engine-act.c balancer/engine-report.c balancer/engine-role.c \
	balancer/engine-avail.c balancer/engine-failback.c balancer/digest.c \
	balancer/engine-digest.c balancer/engine-zone.c balancer/zone.h balancer/zone.c
libbalancer_la_CPPFLAGS = -I$(top_srcdir)/balancer $(AM_CPPFLAGS)
libbalancer_la_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(RRD_CFLAGS) $(CONFUSE_CFLAGS)
libbalancer_la_LIBADD = libpm.la libavail.la $(XML_LIBS) $(RRD_LIBS) $(CONFUSE_LIBS) -lm

# Benchmarks, run by hand (README: "Benchmarks").
noinst_PROGRAMS += t/bench/balance
t_bench_balance_SOURCES = t/bench/balance.c t/bench/balance.h \
	t/bench/balance-data.c t/bench/balance-sim.c t/bench/balance-zones.c
t_bench_balance_CPPFLAGS = -I$(top_srcdir)/balancer -I$(top_srcdir)/forecast \
	$(AM_CPPFLAGS) -DPATMON_SRCDIR='"$(abs_top_srcdir)"'
t_bench_balance_LDADD = libbalancer.la libforecast.la
noinst_PROGRAMS += t/bench/balance-speed
t_bench_balance_speed_SOURCES = t/bench/balance-speed.c
t_bench_balance_speed_CPPFLAGS = -I$(top_srcdir)/balancer $(AM_CPPFLAGS)
t_bench_balance_speed_LDADD = libbalancer.la
EXTRA_PROGRAMS += t/bench/scale-rrd
t_bench_scale_rrd_SOURCES = t/bench/scale-rrd.c
t_bench_scale_rrd_CFLAGS = $(AM_CFLAGS) $(RRD_CFLAGS)
t_bench_scale_rrd_LDADD = $(RRD_LIBS) -lm
EXTRA_PROGRAMS += t/bench/rrd-read
t_bench_rrd_read_SOURCES = t/bench/rrd-read.c
t_bench_rrd_read_CPPFLAGS = -I$(top_srcdir)/balancer $(AM_CPPFLAGS)
t_bench_rrd_read_LDADD = libbalancer.la
EXTRA_DIST += t/bench/scale

UNIT_TESTS += t/check_balancer
t_check_balancer_SOURCES = t/check_balancer.c
t_check_balancer_CPPFLAGS = -I$(top_srcdir)/balancer $(AM_CPPFLAGS) \
	-DTEST_SRCDIR='"$(abs_top_srcdir)"'
t_check_balancer_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CONFUSE_CFLAGS) \
	$(XML_CFLAGS)
t_check_balancer_LDADD = libbalancer.la $(CHECK_LIBS)

UNIT_TESTS += t/check_zone
t_check_zone_SOURCES = t/check_zone.c
t_check_zone_CPPFLAGS = -I$(top_srcdir)/balancer $(AM_CPPFLAGS)
t_check_zone_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_check_zone_LDADD = libbalancer.la $(CHECK_LIBS)

sbin_PROGRAMS += patmon-balance
patmon_balance_SOURCES = balancer/patmon-balance.c balancer/events.c \
	balancer/events.h
patmon_balance_CPPFLAGS = -I$(top_srcdir)/balancer $(AM_CPPFLAGS) \
	-DPM_SYSCONFDIR='"$(sysconfdir)"'
patmon_balance_LDADD = libbalancer.la libhotplug.la

# The zone record store from the command line (t/live-zone-store.sh).
noinst_PROGRAMS += t/zone-store
t_zone_store_SOURCES = t/zone-store.c
t_zone_store_CPPFLAGS = -I$(top_srcdir)/balancer $(AM_CPPFLAGS)
t_zone_store_CFLAGS = $(AM_CFLAGS) $(CONFUSE_CFLAGS)
t_zone_store_LDADD = libbalancer.la

# Integration tests: the real patmon-balance on a CIB_file cluster.
check_PROGRAMS += t/balance-mkrrd
t_balance_mkrrd_SOURCES = t/balance-mkrrd.c
t_balance_mkrrd_CFLAGS = $(AM_CFLAGS) $(RRD_CFLAGS)
t_balance_mkrrd_LDADD = $(RRD_LIBS)
TESTS += t/balance-overload.sh t/balance-failover.sh t/balance-daemon.sh \
	t/balance-publish.sh t/balance-ha.sh t/balance-failback.sh \
	t/balance-digest.sh t/balance-avail-publish.sh t/balance-zones.sh \
	t/balance-rrdcached.sh
EXTRA_DIST += t/balance-lib.sh t/balance-overload.sh t/balance-failover.sh \
	t/balance-daemon.sh t/balance-publish.sh t/balance-ha.sh t/balance-failback.sh \
	t/balance-digest.sh t/balance-avail-publish.sh t/balance-zones.sh \
	t/balance-rrdcached.sh

if ENABLE_FUZZERS
noinst_PROGRAMS += t/fuzz/fuzz_balancer
t_fuzz_fuzz_balancer_SOURCES = t/fuzz/fuzz_balancer.c
t_fuzz_fuzz_balancer_CPPFLAGS = -I$(top_srcdir)/balancer $(AM_CPPFLAGS)
t_fuzz_fuzz_balancer_LDFLAGS = -fsanitize=fuzzer
t_fuzz_fuzz_balancer_LDADD = libbalancer.la
endif
EXTRA_DIST += t/fuzz/fuzz_balancer.c t/fuzz/corpus/fuzz_balancer \
	t/data/balancer contrib/balancer
