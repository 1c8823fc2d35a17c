noinst_LTLIBRARIES += libpm.la
libpm_la_SOURCES = common/pm.c common/pm.h common/pm_conf.c common/pm_conf.h \
	common/pm_map.c common/pm_map.h common/pm_vec.c common/pm_vec.h \
	common/pm_xml.h common/pm_sha256.c common/pm_sha256.h
libpm_la_CFLAGS = $(AM_CFLAGS) $(CONFUSE_CFLAGS)
libpm_la_LIBADD = $(CONFUSE_LIBS)

UNIT_TESTS += t/check_pm
t_check_pm_SOURCES = t/check_pm.c
t_check_pm_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CONFUSE_CFLAGS)
t_check_pm_LDADD = libpm.la $(CHECK_LIBS)
