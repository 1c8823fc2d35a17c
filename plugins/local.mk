# plugins: thin host shells. Only module_register is exported, so two
# patmon plugins in one collectd cannot interpose each other's helpers.

collectdplugin_LTLIBRARIES += pattern.la
pattern_la_SOURCES = plugins/pattern.c
pattern_la_CPPFLAGS = -I$(top_srcdir) -I$(top_srcdir)/common \
	-I$(top_srcdir)/pattern $(COLLECTD_CPPFLAGS)
pattern_la_LDFLAGS = $(PM_MODULE_FLAGS) -export-symbols-regex '^module_register$$'
pattern_la_LIBADD = libpattern.la libhotplug.la

TESTS += t/plugin-pattern.sh
EXTRA_DIST += t/plugin-pattern.sh
