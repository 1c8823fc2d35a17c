# pattern: the pattern engine library and patmon-expand.
PATTERN_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pattern
noinst_LTLIBRARIES += libpattern.la
libpattern_la_SOURCES = \
	pattern/pattern.h pattern/internal.h \
	pattern/classes.c pattern/inventory.c pattern/snapshot.c \
	pattern/match.c pattern/name.c pattern/parse.c pattern/expand.c \
	pattern/format.c pattern/scan.c pattern/monitor.c pattern/digest.c \
	pattern/prov_udev.c pattern/prov_mount.c pattern/prov_proc.c \
	pattern/prov_unit.c pattern/prov_pcmk.c
libpattern_la_CFLAGS = $(AM_CFLAGS) $(UDEV_CFLAGS) $(PCRE2_CFLAGS) \
	$(CONFUSE_CFLAGS) $(SYSTEMD_CFLAGS) $(XML_CFLAGS) $(JSONC_CFLAGS)
libpattern_la_LIBADD = libpm.la $(UDEV_LIBS) $(PCRE2_LIBS) $(CONFUSE_LIBS) \
	$(SYSTEMD_LIBS) $(XML_LIBS) $(JSONC_LIBS)

bin_PROGRAMS += patmon-expand
patmon_expand_SOURCES = pattern/patmon-expand.c
patmon_expand_CPPFLAGS = $(PATTERN_CPPFLAGS) \
	$(PM_PATH_CPPFLAGS)
patmon_expand_LDADD = libpattern.la

UNIT_TESTS += t/check_pattern
t_check_pattern_SOURCES = t/check_pattern.c
t_check_pattern_CPPFLAGS = $(PATTERN_CPPFLAGS) -DSRCDIR='"$(abs_top_srcdir)"'
t_check_pattern_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PCRE2_CFLAGS)
t_check_pattern_LDADD = libpattern.la $(CHECK_LIBS)

EXTRA_DIST += t/data/pattern contrib/patterns

# Integration tests: the real binary against the live machine and real tools.
check_PROGRAMS += t/standin-systemd
t_standin_systemd_SOURCES = t/standin-systemd.c
t_standin_systemd_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
t_standin_systemd_LDADD = $(SYSTEMD_LIBS)
TESTS += t/pattern-cli.sh t/pattern-hotplug.sh t/pattern-units-standin.sh \
	t/pattern-pacemaker.sh t/pattern-udev-conformance.sh
EXTRA_DIST += t/pattern-cli.sh t/pattern-hotplug.sh t/pattern-units-standin.sh \
	t/pattern-pacemaker.sh t/pattern-udev-conformance.sh

# Benchmark (run by hand: t/bench/expand).
EXTRA_PROGRAMS += t/bench/gen-expand t/bench/bench-expand
t_bench_gen_expand_SOURCES = t/bench/gen-expand.c
t_bench_gen_expand_CPPFLAGS = $(PATTERN_CPPFLAGS)
t_bench_gen_expand_LDADD = libpattern.la
t_bench_bench_expand_SOURCES = t/bench/bench-expand.c
t_bench_bench_expand_CPPFLAGS = $(PATTERN_CPPFLAGS)
t_bench_bench_expand_LDADD = libpattern.la

EXTRA_DIST += t/bench/expand

if ENABLE_FUZZERS
noinst_PROGRAMS += t/fuzz/fuzz_patterns t/fuzz/fuzz_snapshot
t_fuzz_fuzz_patterns_SOURCES = t/fuzz/fuzz_patterns.c
t_fuzz_fuzz_patterns_CPPFLAGS = $(PATTERN_CPPFLAGS)
t_fuzz_fuzz_patterns_LDFLAGS = -fsanitize=fuzzer
t_fuzz_fuzz_patterns_LDADD = libpattern.la
t_fuzz_fuzz_snapshot_SOURCES = t/fuzz/fuzz_snapshot.c
t_fuzz_fuzz_snapshot_CPPFLAGS = $(PATTERN_CPPFLAGS)
t_fuzz_fuzz_snapshot_LDFLAGS = -fsanitize=fuzzer
t_fuzz_fuzz_snapshot_LDADD = libpattern.la
endif
EXTRA_DIST += t/fuzz/fuzz_patterns.c t/fuzz/fuzz_snapshot.c t/fuzz/corpus

