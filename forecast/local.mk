# forecast: the core library, the collectd plugin, tests and the benchmark.

noinst_LTLIBRARIES += libforecast.la
libforecast_la_SOURCES = forecast/forecast.h forecast/internal.h \
	forecast/set.c \
	forecast/clean.c forecast/arma.c forecast/fit.c forecast/series.c
libforecast_la_CPPFLAGS = -I$(top_srcdir)/forecast $(AM_CPPFLAGS)
# libforecast uses common/pm_map: its programs link libpm.la (or, for the
# plugin, its two container sources).
libforecast_la_LIBADD = -lm -lpthread

# The benchmark driver (t/bench/forecast runs it; not part of make check).
noinst_PROGRAMS += t/bench/forecast-bench
t_bench_forecast_bench_SOURCES = t/bench/forecast-bench.c t/forecast-args.h
t_bench_forecast_bench_CPPFLAGS = -I$(top_srcdir)/forecast $(AM_CPPFLAGS) \
	-I$(top_srcdir)/t
t_bench_forecast_bench_LDADD = libforecast.la libpm.la -lm

UNIT_TESTS += t/check_forecast
t_check_forecast_SOURCES = t/check_forecast.c
t_check_forecast_CPPFLAGS = -I$(top_srcdir)/forecast $(AM_CPPFLAGS)
t_check_forecast_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_check_forecast_LDADD = libforecast.la libpm.la $(CHECK_LIBS) -lm

# Fixtures and expected values of the unit test, with their generator.
EXTRA_DIST += t/data/forecast/README.md t/data/forecast/LICENSE.NAB \
	t/data/forecast/make-reference.py t/data/forecast/expected.txt \
	t/data/forecast/rds-cpu.csv t/data/forecast/machine-temp.csv \
	t/data/forecast/ec2-cpu.csv t/data/forecast/ec2-net.csv \
	t/data/forecast/sim-arma.txt \
	t/data/forecast/sim-arima.txt

# The collectd plugin: a thin shell (no config.h of ours; collectd's flags).
collectdplugin_LTLIBRARIES += forecast.la
# Only the containers of common/: the rest of libpm (and libconfuse) is not
# needed by this plugin.
forecast_la_SOURCES = plugins/forecast.c common/pm_vec.c common/pm_map.c
forecast_la_CPPFLAGS = -I$(top_srcdir)/forecast -I$(top_srcdir)/common \
	$(COLLECTD_CPPFLAGS)
forecast_la_LDFLAGS = $(PM_MODULE_FLAGS)
forecast_la_LIBADD = libforecast.la -lm

# Integration: the plugin in a real collectd against the library offline.
check_PROGRAMS += t/forecast-offline
t_forecast_offline_SOURCES = t/forecast-offline.c t/forecast-args.h
t_forecast_offline_CPPFLAGS = -I$(top_srcdir)/forecast $(AM_CPPFLAGS)
t_forecast_offline_LDADD = libforecast.la libpm.la -lm
TESTS += t/forecast-collectd.sh t/forecast-config.sh t/forecast-series.sh
EXTRA_DIST += t/forecast-collectd.sh t/forecast-config.sh t/forecast-series.sh

# libFuzzer harness (./configure --enable-fuzzers CC=clang; quickstart's fuzz
# stage runs every t/fuzz/fuzz_* for 30 s).
if ENABLE_FUZZERS
noinst_PROGRAMS += t/fuzz/fuzz_forecast
t_fuzz_fuzz_forecast_SOURCES = t/fuzz/fuzz_forecast.c
t_fuzz_fuzz_forecast_CPPFLAGS = -I$(top_srcdir)/forecast $(AM_CPPFLAGS)
t_fuzz_fuzz_forecast_LDFLAGS = -fsanitize=fuzzer
t_fuzz_fuzz_forecast_LDADD = libforecast.la libpm.la -lm
endif
EXTRA_DIST += t/fuzz/fuzz_forecast.c t/fuzz/corpus/fuzz_forecast
