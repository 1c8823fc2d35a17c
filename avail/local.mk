# avail: the availability journal and its figures (libavail).
noinst_LTLIBRARIES += libavail.la
libavail_la_SOURCES = avail/avail.h avail/internal.h avail/model.c \
	avail/journal.c avail/crm.c avail/spool.c
libavail_la_CPPFLAGS = -I$(top_srcdir)/avail $(AM_CPPFLAGS)
libavail_la_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
libavail_la_LIBADD = libpm.la $(XML_LIBS) -lm

UNIT_TESTS += t/check_avail
t_check_avail_SOURCES = t/check_avail.c
t_check_avail_CPPFLAGS = -I$(top_srcdir)/avail $(AM_CPPFLAGS) \
	-DTEST_SRCDIR='"$(abs_top_srcdir)"'
t_check_avail_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_check_avail_LDADD = libavail.la $(CHECK_LIBS)
EXTRA_DIST += t/data/avail

if ENABLE_FUZZERS
noinst_PROGRAMS += t/fuzz/fuzz_avail
t_fuzz_fuzz_avail_SOURCES = t/fuzz/fuzz_avail.c
t_fuzz_fuzz_avail_CPPFLAGS = -I$(top_srcdir)/avail $(AM_CPPFLAGS)
t_fuzz_fuzz_avail_LDFLAGS = -fsanitize=fuzzer
t_fuzz_fuzz_avail_LDADD = libavail.la
endif
EXTRA_DIST += t/fuzz/fuzz_avail.c t/fuzz/corpus/fuzz_avail
