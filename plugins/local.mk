# plugins: thin host shells. Only module_register is exported, so two
# patmon plugins in one collectd cannot interpose each other's helpers.

collectdplugin_LTLIBRARIES += pattern.la
pattern_la_SOURCES = plugins/pattern.c
pattern_la_CPPFLAGS = -I$(top_srcdir) -I$(top_srcdir)/common \
	-I$(top_srcdir)/pattern $(COLLECTD_CPPFLAGS) $(PM_PATH_CPPFLAGS)
pattern_la_LDFLAGS = $(PM_MODULE_FLAGS) -export-symbols-regex '^module_register$$'
pattern_la_LIBADD = libfollow.la libreading.la libpattern.la libhotplug.la

# The gmond module: gmond's headers need APR, TI-RPC and libconfuse; the
# module pushes metrics with libganglia. Only the mmodule is exported.
gmondmodule_LTLIBRARIES += modpatmon.la
modpatmon_la_SOURCES = plugins/gmond_patmon.c
modpatmon_la_CPPFLAGS = -I$(top_srcdir) -I$(top_srcdir)/common \
	-I$(top_srcdir)/pattern -I$(top_srcdir)/forecast \
	$(APR_CFLAGS) $(TIRPC_CFLAGS) $(CONFUSE_CFLAGS) $(PM_PATH_CPPFLAGS)
modpatmon_la_LDFLAGS = $(PM_MODULE_FLAGS) -export-symbols-regex '^patmon_module$$'
modpatmon_la_LIBADD = libfollow.la libreading.la libpattern.la libhotplug.la libforecast.la \
	$(GANGLIA_LIBS) $(APR_LIBS) $(CONFUSE_LIBS) -lm

TESTS += t/plugin-pattern.sh t/plugin-pattern-units-standin.sh \
	t/plugin-pattern-config.sh t/plugin-pattern-digest.sh t/gmond-module.sh \
	t/collectd-compare.sh \
	t/prometheus.sh
EXTRA_DIST += t/plugin-pattern.sh t/plugin-pattern-units-standin.sh \
	t/plugin-pattern-config.sh t/plugin-pattern-digest.sh t/gmond-module.sh \
	t/gmond-lib.sh \
	t/collectd-compare.sh t/prometheus.sh

# Benchmarks (run by hand): t/bench/hotplug, t/bench/read-overhead, t/bench/storm.
EXTRA_PROGRAMS += t/bench/hotplug-latency t/bench/cd-listval t/bench/storm-send \
	t/bench/cd-putval
t_bench_cd_putval_SOURCES = t/bench/cd-putval.c
t_bench_storm_send_SOURCES = t/bench/storm-send.c
t_bench_storm_send_LDADD = libhpmsg.la libpm.la
t_bench_hotplug_latency_SOURCES = t/bench/hotplug-latency.c t/bench/cdsock.c t/bench/cdsock.h
t_bench_hotplug_latency_LDADD = libpm.la -lm
t_bench_cd_listval_SOURCES = t/bench/cd-listval.c t/bench/cdsock.c t/bench/cdsock.h
t_bench_cd_listval_LDADD = libpm.la
EXTRA_DIST += t/bench/hotplug t/bench/read-overhead t/bench/storm \
	t/bench/gmond-hotplug t/bench/forecast-memory
