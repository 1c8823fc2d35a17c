#!/bin/bash
# A systemd unit read through its real cgroup by the pattern plugin in a real
# collectd. systemd cannot run as PID 1 on the test machines, so a STAND-IN
# (t/standin-systemd on a private dbus-daemon) reports the unit and its
# ControlGroup; the cgroup, its processes and collectd are real.
. "$top_srcdir/t/lib.sh"
need_integration
need_root "creates a cgroup"
need_cmd collectd collectdctl

if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cgroot=/sys/fs/cgroup
elif [ -d /sys/fs/cgroup/unified ]; then
  cgroot=/sys/fs/cgroup/unified
else
  skip "no cgroup v2 hierarchy to create a test cgroup in"
fi
cg=patmon-test-$$
unit=pmunit-$$.service
mkdir "$cgroot/$cg" || fail "cannot create a cgroup under $cgroot"
at_exit "rmdir $cgroot/$cg"
sleep 300 &
a=$!
sleep 300 &
b=$!
at_exit "kill $a $b"
echo "$a" > "$cgroot/$cg/cgroup.procs" && echo "$b" > "$cgroot/$cg/cgroup.procs" || fail "cannot move processes"
# Processes leave the cgroup before it is removed (cleanups run in reverse).
at_exit "for p in \$(cat $cgroot/$cg/cgroup.procs); do echo \$p > $cgroot/cgroup.procs; done"

printf '%s active running /%s\nother.service active running /nowhere\n' "$unit" "$cg" > "$T/units"
standin_systemd "$T/units"

echo 'pattern "units" { class = unit  match = { "UNIT==pmunit-*" }  metrics = { count, cpu } }' > "$T/patterns.conf"
collectd_conf "$T/collectd.conf" patmon-test
cat >> "$T/collectd.conf" <<EOF
PluginDir "$top_builddir/.libs"
LoadPlugin pattern
<Plugin pattern>
  PatternFile "$T/patterns.conf"
  EntriesFile "$T/entries.json"
</Plugin>
EOF
collectd -f -C "$T/collectd.conf" > "$T/collectd.out" 2>&1 &
at_exit "kill $!"
count() { collectdctl -s "$T/collectd.sock" getval "patmon-test/processes-$unit/ps_count" 2> /dev/null | awk -F= '/^processes=/ {print $2 + 0}'; }
wait_for "$WAIT" test -f "$T/entries.json" || fail "plugin did not start: $(cat "$T/collectd.log")"
assert_grep "\"cgroup\": \"/$cg\"" "$T/entries.json"
wait_for "$WAIT" eval '[ "$(count)" = 2 ]' || fail "ps_count is $(count), want 2 processes in /$cg"
collectdctl -s "$T/collectd.sock" listval | grep -q "processes-$unit/ps_cputime" || fail "no ps_cputime"
kill "$a"
wait "$a" 2> /dev/null
wait_for "$WAIT" eval '[ "$(count)" = 1 ]' || fail "ps_count is $(count) after one exited, want 1"
echo "PASS: a unit read through its cgroup (stand-in systemd, real cgroup and collectd)"
