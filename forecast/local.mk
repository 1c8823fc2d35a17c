# forecast: the core library, the collectd plugin, tests and the benchmark.

noinst_LTLIBRARIES += libforecast.la
libforecast_la_SOURCES = forecast/forecast.h forecast/internal.h \
	forecast/clean.c forecast/arma.c forecast/fit.c forecast/series.c
libforecast_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/forecast
libforecast_la_LIBADD = -lm

# The benchmark driver (t/bench/forecast runs it; not part of make check).
noinst_PROGRAMS += t/bench/forecast-bench
t_bench_forecast_bench_SOURCES = t/bench/forecast-bench.c
t_bench_forecast_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/forecast
t_bench_forecast_bench_LDADD = libforecast.la libpm.la -lm
