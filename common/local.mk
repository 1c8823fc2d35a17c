noinst_LTLIBRARIES += libpm.la
libpm_la_SOURCES = common/pm.c common/pm.h

UNIT_TESTS += t/check_pm
t_check_pm_SOURCES = t/check_pm.c
t_check_pm_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_check_pm_LDADD = libpm.la $(CHECK_LIBS)
