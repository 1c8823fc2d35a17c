#!/bin/bash
# What an operator installs: `make install DESTDIR=...` puts the plugins
# where collectd and gmond load them, the programs, the man pages and the
# examples; the installed programs run; and collectd accepts the installed
# example configuration (collectd 5.12's -t exits before reading it, so
# collectd also runs it until the plugin has expanded the patterns).
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
  /collectd/pattern.so /collectd/forecast.so /ganglia/modpatmon.so /examples/gmond/patmon.conf \
  /man1/patmon-expand.1 /man5/patmon-patterns.5 /man5/collectd-patmon.5 /man8/patmon-balance.8 \
  /examples/patterns/example.conf /examples/patterns/storage-node.conf \
  /examples/patterns/database-node.conf /examples/patterns/nfs-pair.conf \
  /examples/collectd/patmon.conf /examples/pacemaker/alerts.xml \
  /examples/balancer/balance.conf /examples/balancer/patmon-balance.service \
  /examples/balancer/patmon-balance.cron /examples/balancer/pacemaker-resource.xml; do
  has "$f"
done
grep -q '\.la$' "$T/files" && fail "libtool .la files installed: $(grep '\.la$' "$T/files")"
prefix=$(dirname "$(dirname "$(grep '/bin/patmon-expand$' "$T/files")")")
plugindir=$(dirname "$(grep '/pattern.so$' "$T/files")")
"$root$prefix/bin/patmon-expand" --version | grep -q "patmon-expand" || fail "installed patmon-expand does not run"
"$root$prefix/sbin/patmon-balance" --help > /dev/null || fail "installed patmon-balance does not run"

# The installed example collectd snippet, with the installed example
# patterns, in a private collectd.
examples=$(dirname "$(dirname "$(grep '/examples/collectd/patmon.conf$' "$T/files")")")
sed -e "s|\"/etc/patmon/patterns.conf\"|\"$root$examples/patterns/example.conf\"|" \
  -e "s|\"/var/lib/collectd/patmon/entries.json\"|\"$T/entries.json\"|" \
  "$root$examples/collectd/patmon.conf" > "$T/patmon.conf"
collectd_conf "$T/collectd.conf" install-test
cat >> "$T/collectd.conf" <<EOF
PluginDir "$root$plugindir"
Include "$T/patmon.conf"
EOF
collectd -t -C "$T/collectd.conf" || fail "collectd -t refused the installed example"
collectd -f -C "$T/collectd.conf" > "$T/run.out" 2>&1 &
cd_pid=$!
at_exit "kill $cd_pid"
wait_for 20 grep -q "pattern plugin: .* entries from" "$T/collectd.log" ||
  fail "the pattern plugin did not start: $(cat "$T/run.out" "$T/collectd.log")"
[ -s "$T/entries.json" ] || fail "no entries file"
kill "$cd_pid"
wait "$cd_pid" || fail "collectd did not exit cleanly"
echo "PASS: make install DESTDIR puts everything in place and collectd takes the example"
