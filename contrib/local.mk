# contrib: what an operator installs besides the programs. Examples go under
# $(docdir)/examples (they need local paths before use); patmon-graph is a
# program.

examplesdir = $(docdir)/examples
patternsexdir = $(examplesdir)/patterns
dist_patternsex_DATA = contrib/patterns/example.conf \
	contrib/patterns/storage-node.conf contrib/patterns/database-node.conf \
	contrib/patterns/nfs-pair.conf
collectdexdir = $(examplesdir)/collectd
dist_collectdex_DATA = contrib/collectd/patmon.conf
gmondexdir = $(examplesdir)/gmond
dist_gmondex_DATA = contrib/gmond/patmon.conf
balancerexdir = $(examplesdir)/balancer
dist_balancerex_DATA = contrib/balancer/balance.conf \
	contrib/balancer/patmon-balance.service contrib/balancer/patmon-balance.cron \
	contrib/balancer/pacemaker-resource.xml \
	contrib/balancer/pacemaker-zones.xml \
	contrib/balancer/patmon-balance@.service
dist_balancerex_SCRIPTS = contrib/balancer/mail-hook
pacemakerexdir = $(examplesdir)/pacemaker
dist_pacemakerex_DATA = contrib/pacemaker/alerts.xml

dist_bin_SCRIPTS = contrib/graphs/patmon-graph

# What an operator edits goes to $(patmonconfdir) once (the Debian packages
# make them conffiles): the default pattern file, the balancer's
# configuration, and the collectd and gmond snippets (read only once
# enabled). They name this build's paths where the examples name the
# packages'. An operator's copy is never overwritten; uninstall removes a
# copy only while it is unchanged.
PM_CONFFILES = contrib/patterns/example.conf:patterns.conf \
	contrib/balancer/balance.conf:balance.conf \
	contrib/collectd/patmon.conf:collectd.conf \
	contrib/gmond/patmon.conf:gmond.conf
PM_CONF_SUBST = sed -e 's|/etc/patmon/|$(patmonconfdir)/|g' \
	-e 's|/usr/lib/x86_64-linux-gnu/ganglia/|$(gmondmoduledir)/|g'
install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(patmonconfdir)'
	for c in $(PM_CONFFILES); do \
	  d='$(DESTDIR)$(patmonconfdir)'/$${c#*:}; \
	  test -e "$$d" && continue; \
	  $(PM_CONF_SUBST) '$(srcdir)'/$${c%%:*} > "$$d.tmp" && \
	    chmod 644 "$$d.tmp" && mv "$$d.tmp" "$$d" || exit 1; \
	done
uninstall-local:
	for c in $(PM_CONFFILES); do \
	  d='$(DESTDIR)$(patmonconfdir)'/$${c#*:}; \
	  if $(PM_CONF_SUBST) '$(srcdir)'/$${c%%:*} | cmp -s - "$$d"; then \
	    rm -f "$$d"; fi; \
	done

# collectd and gmond load modules by name from their directories: libtool's
# .la files do not belong there. Uninstall then removes the modules itself.
install-data-hook:
	rm -f $(DESTDIR)$(collectdplugindir)/*.la $(DESTDIR)$(gmondmoduledir)/*.la
uninstall-hook:
	for m in $(collectdplugin_LTLIBRARIES); do \
	  rm -f "$(DESTDIR)$(collectdplugindir)/$${m%.la}.so"; done
	for m in $(gmondmodule_LTLIBRARIES); do \
	  rm -f "$(DESTDIR)$(gmondmoduledir)/$${m%.la}.so"; done
TESTS += t/install.sh t/man-pages.sh t/graph.sh
EXTRA_DIST += t/install.sh t/man-pages.sh t/graph.sh

# Debian packaging (dpkg-buildpackage -us -uc -b) and its test, the
# quickstart stage "package" (root: it installs and purges the packages).
EXTRA_DIST += t/package.sh debian/changelog debian/control debian/copyright \
	debian/rules debian/source/format debian/patmon.README.Debian \
	debian/patmon-balance.service debian/patmon.install \
	debian/collectd-patmon.install debian/ganglia-modules-patmon.install \
	debian/patmon-balance.install debian/patmon-alert.install \
	debian/collectd-patmon.postrm debian/ganglia-modules-patmon.postrm \
	debian/patmon-balance.postrm

# The demo (./quickstart demo) and its data.
EXTRA_DIST += contrib/demo/run contrib/demo/live contrib/demo/balance.conf contrib/demo/cib.xml \
	contrib/demo/make-cib.sh contrib/demo/traces contrib/graphs \
	contrib/demo/demo-forecast.png contrib/demo/demo-live-cluster.png

# A load generator and its OCF resource agent (ocf:patmon:load): services
# with real, known CPU load for test and demo clusters.
patmonlibexec_PROGRAMS += contrib/load/patmon-load
contrib_load_patmon_load_SOURCES = contrib/load/patmon-load.c
ocfagentdir = $(ocfrootdir)/resource.d/patmon
ocfagent_SCRIPTS = contrib/pacemaker/load
CLEANFILES += contrib/pacemaker/load
EXTRA_DIST += contrib/pacemaker/load.in
contrib/pacemaker/load: contrib/pacemaker/load.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib/pacemaker && \
	sed -e 's|@PATMON_LOAD@|$(patmonlibexecdir)/patmon-load|g' \
	  $(srcdir)/contrib/pacemaker/load.in > $@.tmp && chmod +x $@.tmp && mv $@.tmp $@
