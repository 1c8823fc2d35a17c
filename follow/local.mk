# follow: the event-following loop both host shells run (the watch, the
# monitor, which event re-lists which class, the schedules). Public header:
# follow/follow.h. Consumers link libfollow.la, libpattern.la and
# libhotplug.la (libpattern brings libpm).
noinst_LTLIBRARIES += libfollow.la
libfollow_la_SOURCES = follow/follow.c follow/follow.h
libfollow_la_CPPFLAGS = -I$(top_srcdir) $(AM_CPPFLAGS) -I$(top_srcdir)/pattern

UNIT_TESTS += t/check_follow
t_check_follow_SOURCES = t/check_follow.c
t_check_follow_CPPFLAGS = -I$(top_srcdir) $(AM_CPPFLAGS) \
	-I$(top_srcdir)/pattern -I$(top_srcdir)/follow
t_check_follow_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_check_follow_LDADD = libfollow.la libpattern.la libhotplug.la $(CHECK_LIBS)
