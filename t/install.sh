#!/bin/bash
# What an operator installs: `make install DESTDIR=...` puts the plugins
# where collectd and gmond load them, the programs, the man pages, the
# configuration (SYSCONFDIR/patmon) and the examples; the installed programs
# run; collectd takes the installed configuration (collectd 5.12's -t exits
# before reading it, so collectd runs it until the plugin has expanded the
# patterns); a second install keeps an edited configuration file, and
# uninstall leaves only that.
. "$top_srcdir/t/lib.sh"
need_integration
need_cmd collectd
root=$T/root
make -s -C "$top_builddir" install DESTDIR="$root" > "$T/install.log" 2>&1 ||
  fail "make install failed: $(tail -20 "$T/install.log")"
(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\./|/|' | sort) > "$T/files"
cat "$T/files"
has() { grep -q -- "$1\$" "$T/files" || fail "not installed: $1"; }
for f in /bin/patmon-expand /bin/patmon-graph /sbin/patmon-balance /libexec/patmon/patmon-alert \
  /collectd/pattern.so /collectd/forecast.so /ganglia/modpatmon.so \
  /etc/patmon/patterns.conf /etc/patmon/balance.conf /etc/patmon/collectd.conf /etc/patmon/gmond.conf \
  /man1/patmon-expand.1 /man1/patmon-graph.1 /man5/patmon-patterns.5 /man5/collectd-patmon.5 \
  /man5/gmond-patmon.5 /man8/patmon-balance.8 /man8/patmon-alert.8 \
  /examples/patterns/example.conf /examples/patterns/storage-node.conf \
  /examples/patterns/database-node.conf /examples/patterns/nfs-pair.conf \
  /examples/collectd/patmon.conf /examples/gmond/patmon.conf /examples/pacemaker/alerts.xml \
  /examples/balancer/balance.conf /examples/balancer/patmon-balance.service \
  /examples/balancer/patmon-balance.cron /examples/balancer/pacemaker-resource.xml \
  /examples/balancer/pacemaker-zones.xml /examples/balancer/patmon-balance@.service; do
  has "$f"
done
grep -q '\.la$' "$T/files" && fail "libtool .la files installed: $(grep '\.la$' "$T/files")"
prefix=$(dirname "$(dirname "$(grep '/bin/patmon-expand$' "$T/files")")")
plugindir=$(dirname "$(grep '/pattern.so$' "$T/files")")
moduledir=$(dirname "$(grep '/modpatmon.so$' "$T/files")")
confdir=$(dirname "$(grep '/etc/patmon/patterns.conf$' "$T/files")")
"$root$prefix/bin/patmon-expand" --version > "$T/version" || fail "installed patmon-expand does not run"
assert_grep "^default pattern file: $confdir/patterns.conf\$" "$T/version" \
  "patmon-expand's default pattern file is not the installed one: $(cat "$T/version")"
"$root$prefix/sbin/patmon-balance" --check -c "$root$confdir/balance.conf" > /dev/null ||
  fail "patmon-balance refuses the installed balance.conf"
"$root$prefix/bin/patmon-expand" -p "$root$confdir/patterns.conf" > /dev/null ||
  fail "patmon-expand refuses the installed patterns.conf"
# The installed snippets name this build's paths.
assert_grep "path = \"$moduledir/modpatmon.so\"" "$root$confdir/gmond.conf" "gmond.conf: wrong module path"
assert_grep "^ *#PatternFile *\"$confdir/patterns.conf\"" "$root$confdir/collectd.conf" "collectd.conf: wrong default"

# The installed collectd configuration, with the installed pattern file.
sed -e "s|^<Plugin pattern>|&\\n  PatternFile \"$root$confdir/patterns.conf\"\\n  EntriesFile \"$T/entries.json\"|" \
  "$root$confdir/collectd.conf" > "$T/patmon.conf"
collectd_conf "$T/collectd.conf" install-test
cat >> "$T/collectd.conf" <<EOF
PluginDir "$root$plugindir"
Include "$T/patmon.conf"
EOF
collectd -f -C "$T/collectd.conf" > "$T/run.out" 2>&1 &
cd_pid=$!
at_exit "kill $cd_pid"
wait_for 20 grep -q "pattern plugin: .* entries from $root$confdir/patterns.conf" "$T/collectd.log" ||
  fail "the pattern plugin did not start: $(cat "$T/run.out" "$T/collectd.log")"
[ -s "$T/entries.json" ] || fail "no entries file"
assert_grep "forecast plugin: 2 series pattern(s)" "$T/collectd.log"
kill "$cd_pid"
wait "$cd_pid" || fail "collectd did not exit cleanly"

# An edited configuration survives a second install and the uninstall.
echo '# edited' >> "$root$confdir/patterns.conf"
make -s -C "$top_builddir" install DESTDIR="$root" > "$T/install2.log" 2>&1 || fail "second make install failed"
assert_grep '^# edited$' "$root$confdir/patterns.conf" "a second install overwrote the edited patterns.conf"
make -s -C "$top_builddir" uninstall DESTDIR="$root" > "$T/uninstall.log" 2>&1 || fail "make uninstall failed"
left=$(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\./|/|')
[ "$left" = "$confdir/patterns.conf" ] || fail "uninstall left: $left"
echo "PASS: make install DESTDIR puts everything in place and collectd takes the installed configuration"
