# reading: the values of entries, read as collectd's own plugins read them,
# and as gmond metrics. Public header: reading/reading.h. It uses only
# pattern.h's public API; consumers link libreading.la and libpattern.la.
READING_CPPFLAGS = $(PATTERN_CPPFLAGS) -I$(top_srcdir)/reading
noinst_LTLIBRARIES += libreading.la
libreading_la_SOURCES = reading/reading.h reading/collect.c reading/gmond.c
libreading_la_CPPFLAGS = $(READING_CPPFLAGS)

UNIT_TESTS += t/check_collect
t_check_collect_SOURCES = t/check_collect.c t/check_expand.h
t_check_collect_CPPFLAGS = $(READING_CPPFLAGS)
t_check_collect_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_check_collect_LDADD = libreading.la libpattern.la $(CHECK_LIBS)

UNIT_TESTS += t/check_gmond
t_check_gmond_SOURCES = t/check_gmond.c t/check_expand.h
t_check_gmond_CPPFLAGS = $(READING_CPPFLAGS)
t_check_gmond_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_check_gmond_LDADD = libreading.la libpattern.la $(CHECK_LIBS)
