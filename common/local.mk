noinst_LTLIBRARIES += libpm.la
libpm_la_SOURCES = common/pm.c common/pm.h
