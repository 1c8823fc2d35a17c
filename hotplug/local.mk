# hotplug: event sources, debounce and the event socket. Public header:
# hotplug/hotplug.h (#include "hotplug/hotplug.h"). Consumers link
# libhotplug.la and libpm.la: libpm.la is not added here, since a module that
# links both would get its symbols twice. libhpmsg.la is the socket grammar
# alone, for the alert agent; libhotplug.la holds it.
noinst_LTLIBRARIES += libhpmsg.la libhotplug.la
libhpmsg_la_SOURCES = hotplug/message.c hotplug/send.c hotplug/hotplug.h \
	hotplug/internal.h
libhotplug_la_SOURCES = hotplug/batch.c hotplug/socket.c hotplug/watch.c \
	hotplug/hotplug.h hotplug/internal.h
libhotplug_la_CFLAGS = $(AM_CFLAGS) $(UDEV_CFLAGS)
libhotplug_la_LIBADD = libhpmsg.la $(UDEV_LIBS)

# The Pacemaker alert agent, linked with the grammar and the availability
# journal's line format (its spool); libxml2 comes with it, which every
# Pacemaker node has already.
patmonlibexecdir = $(libexecdir)/patmon
patmonlibexec_PROGRAMS = contrib/pacemaker/patmon-alert
contrib_pacemaker_patmon_alert_SOURCES = contrib/pacemaker/patmon-alert.c
contrib_pacemaker_patmon_alert_LDADD = libhpmsg.la libavail.la

UNIT_TESTS += t/check_hotplug
t_check_hotplug_SOURCES = t/check_hotplug.c
t_check_hotplug_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_check_hotplug_LDADD = libhotplug.la libpm.la $(CHECK_LIBS)

# hp-watch prints batches for the integration scripts; storm-lib is the
# library-level storm benchmark (t/hotplug-storm.sh runs it with its bounds).
check_PROGRAMS += t/hp-watch t/hp-send t/bench/storm-lib
t_hp_watch_SOURCES = t/hp-watch.c
t_hp_watch_LDADD = libhotplug.la libpm.la
t_hp_send_SOURCES = t/hp-send.c
t_hp_send_LDADD = libhpmsg.la
t_bench_storm_lib_SOURCES = t/bench/storm-lib.c
t_bench_storm_lib_LDADD = libhotplug.la libpm.la

TESTS += t/hotplug-events.sh t/hotplug-udevd.sh t/hotplug-storm.sh
EXTRA_DIST += t/hotplug-events.sh t/hotplug-udevd.sh t/hotplug-storm.sh \
	t/hotplug-lib.sh

if ENABLE_FUZZERS
noinst_PROGRAMS += t/fuzz/fuzz_hpmsg
t_fuzz_fuzz_hpmsg_SOURCES = t/fuzz/fuzz_hpmsg.c
t_fuzz_fuzz_hpmsg_LDADD = libhotplug.la
t_fuzz_fuzz_hpmsg_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
endif
EXTRA_DIST += t/fuzz/corpus/fuzz_hpmsg
