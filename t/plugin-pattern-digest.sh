#!/bin/bash
# The collectd plugin `pattern` publishes its pattern set's digest, in a real
# collectd (foreground, private config under a temp dir, stopped by pid):
#  - pattern/gauge-digest is the first 32 bits of `patmon-expand --digest`;
#  - the node attribute patmon-pattern-digest is set with attrd_updater's
#    argument vector once at start, not again for an edit that changes only
#    comments and layout, and again for an edit that changes a pattern
#    (attrd_updater needs a live cluster: here a stand-in first in PATH
#    records its arguments; t/live-*.sh run the real one);
#  - with the real attrd_updater and no Pacemaker running, nothing is said.
. "$top_srcdir/t/lib.sh"
need_integration
need_cmd collectd
[ -f "$top_builddir/.libs/pattern.so" ] || skip "pattern.so not built"
expand=$top_builddir/patmon-expand
host=patmon-test

cat > "$T/patterns.conf" <<'EOC'
pattern "lo" { class = nic  match = { "NAME==lo" } }
EOC
digest() { "$expand" -p "$T/patterns.conf" --digest; }
hex1=$(digest) || fail "patmon-expand --digest"

mkdir -p "$T/bin"
cat > "$T/bin/attrd_updater" <<EOC
#!/bin/sh
echo "\$*" >> "$T/attrd.calls"
EOC
chmod +x "$T/bin/attrd_updater"

# start NAME [PATH]: a collectd with the pattern plugin, its pid in $pid, its
# log in $T/NAME.log, its csv under $T/csv.
start() {
  collectd_conf "$T/$1.conf" "$host"
  sed -i "s|$T/collectd|$T/$1|g" "$T/$1.conf"
  cat >> "$T/$1.conf" <<EOC
PluginDir "$top_builddir/.libs"
LoadPlugin pattern
<Plugin pattern>
  PatternFile "$T/patterns.conf"
  EntriesFile "$T/$1-entries.json"
  Node "n1"
</Plugin>
EOC
  PATH=${2:-$PATH} collectd -f -C "$T/$1.conf" > "$T/$1.out" 2>&1 &
  pid=$!
  at_exit "kill $pid"
}

# The gauge's last value as an integer (csv writes gauges as %f or %e).
gauge() {
  tail -1 "$T"/csv/$host/pattern/gauge-digest-* 2> /dev/null |
    awk -F, '$1 != "epoch" { printf "%.0f\n", $2 }'
}
want_gauge() { [ "$(gauge)" = "$((16#${1:0:8}))" ]; }
calls() { wc -l < "$T/attrd.calls" 2> /dev/null || echo 0; }

# 1. At start: the gauge and one attrd_updater call.
start standin "$T/bin:$PATH"
wait_for 60 want_gauge "$hex1" ||
  fail "gauge-digest is '$(gauge)', want $((16#${hex1:0:8})) (digest $hex1): $(cat "$T/standin.log")"
wait_for 30 test -s "$T/attrd.calls" || fail "attrd_updater not run: $(cat "$T/standin.log")"
[ "$(cat "$T/attrd.calls")" = "-n patmon-pattern-digest -U $hex1 -N n1" ] ||
  fail "attrd_updater ran with: $(cat "$T/attrd.calls")"
assert_grep "pattern set digest $hex1 published as node attribute patmon-pattern-digest" "$T/standin.log"
note "digest $hex1: gauge $(gauge), node attribute set once"

# 2. Comments and layout only: reloaded, the same digest, no new call.
cat > "$T/patterns.conf" <<'EOC'
# the loopback interface, nothing else
pattern lo {
  class = "nic"
  match = { "NAME == lo" }
}
EOC
[ "$(digest)" = "$hex1" ] || fail "a comment changed the digest: $(digest)"
wait_for 30 grep -q "pattern file reloaded" "$T/standin.log" || fail "the edit was not reloaded"
sleep 2 # a call would follow the reload at once
[ "$(calls)" -eq 1 ] || fail "attrd_updater ran again for a comment: $(cat "$T/attrd.calls")"
want_gauge "$hex1" || fail "gauge-digest changed for a comment: $(gauge)"

# 3. A real change: a second pattern. A new digest, one more call.
echo 'pattern "loop" { class = disk  match = { "KERNEL==loop*" } }' >> "$T/patterns.conf"
hex2=$(digest)
[ "$hex2" != "$hex1" ] || fail "a new pattern left the digest as it was"
wait_for 30 eval '[ "$(calls)" -eq 2 ]' || fail "attrd_updater not run for the change: $(cat "$T/attrd.calls")"
[ "$(tail -1 "$T/attrd.calls")" = "-n patmon-pattern-digest -U $hex2 -N n1" ] ||
  fail "attrd_updater ran with: $(tail -1 "$T/attrd.calls")"
wait_for 30 want_gauge "$hex2" || fail "gauge-digest is $(gauge), want $((16#${hex2:0:8}))"
assert_no_grep "cannot publish the pattern set digest" "$T/standin.log"
kill "$pid"
wait "$pid"
note "after a real change: digest $hex2, gauge $(gauge); 2 calls in all"

# 4. The real attrd_updater without Pacemaker: quiet.
if ! command -v attrd_updater > /dev/null; then
  note "attrd_updater is not installed: the quiet case without Pacemaker is not run"
elif attrd_updater -Q -n patmon-pattern-digest > /dev/null 2>&1; then
  note "Pacemaker runs here: the quiet case without it is not run"
else
  rm -rf "$T/csv"
  start nopcmk
  wait_for 60 want_gauge "$hex2" || fail "gauge-digest is '$(gauge)' without Pacemaker"
  assert_no_grep "digest" "$T/nopcmk.log" "the digest was mentioned without Pacemaker: $(grep digest "$T/nopcmk.log")"
  kill "$pid"
  wait "$pid"
fi
echo "PASS: the pattern set digest is published as a gauge and, once per change, as a node attribute"
