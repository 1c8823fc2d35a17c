#!/bin/bash
# The collectd plugin `pattern`, configured badly or not at all, in a real
# collectd (foreground, private config under a temp dir, stopped by pid):
#  - an EventSocketGroup that does not exist stops collectd at start, with
#    the reason, as other bad options do;
#  - `LoadPlugin pattern` without a block says what it does, once;
#  - bad event-socket datagrams 30 ms apart (a broken sender) give one log
#    line, not one each, and every one is counted.
. "$top_srcdir/t/lib.sh"
need_integration
need_cmd collectd
[ -f "$top_builddir/.libs/pattern.so" ] || skip "pattern.so not built"
send=$top_builddir/t/hp-send
host=patmon-test

echo 'pattern "lo" { class = nic  match = { "NAME==lo" } }' > "$T/patterns.conf"

# start NAME BLOCK: a collectd with the pattern plugin and BLOCK; its pid in
# $pid, its log in $T/NAME.log.
start() {
  collectd_conf "$T/$1.conf" "$host"
  sed -i "s|$T/collectd|$T/$1|g" "$T/$1.conf"
  printf 'PluginDir "%s"\nLoadPlugin pattern\n%s\n' "$top_builddir/.libs" "$2" >> "$T/$1.conf"
  collectd -f -C "$T/$1.conf" > "$T/$1.out" 2>&1 &
  pid=$!
  at_exit "kill $pid"
}

# 1. A group that does not exist: collectd stops at start and says why.
group=patmon-no-such-group-$$
getent group "$group" > /dev/null && skip "group $group exists"
start group "<Plugin pattern>
  PatternFile \"$T/patterns.conf\"
  EntriesFile \"$T/group-entries.json\"
  EventSocket \"$T/events-group.sock\"
  EventSocketGroup \"$group\"
</Plugin>"
wait_for 30 eval "! kill -0 $pid 2> /dev/null" || fail "collectd runs with EventSocketGroup $group"
wait "$pid" && fail "collectd exited 0 with EventSocketGroup $group"
assert_grep "pattern plugin: socket group $group: no such group" "$T/group.log"
[ -e "$T/events-group.sock" ] && fail "the socket was made all the same"

# 2. No <Plugin pattern> block: the defaults, said once at start.
if [ -e /etc/patmon/patterns.conf ]; then
  note "/etc/patmon/patterns.conf exists: the no-block case is not run (it would use it)"
else
  start noblock ""
  wait_for 30 grep -q "loaded without a <Plugin pattern> block" "$T/noblock.log" ||
    fail "nothing said about the missing block: $(cat "$T/noblock.log")"
  assert_grep "/etc/patmon/patterns.conf: cannot read pattern file" "$T/noblock.log"
  assert_grep "nothing is monitored" "$T/noblock.log"
  wait_for 30 grep -q "Initialization complete" "$T/noblock.log" || fail "collectd did not start"
  sleep 2.5 # a few read intervals: still one line
  [ "$(grep -c "loaded without a <Plugin pattern> block" "$T/noblock.log")" -eq 1 ] ||
    fail "said more than once"
  kill -0 "$pid" || fail "collectd died without a pattern block"
  kill "$pid"
  wait "$pid"
fi

# 3. A broken sender: 100 bad datagrams, 30 ms apart.
start drops "<Plugin pattern>
  PatternFile \"$T/patterns.conf\"
  EntriesFile \"$T/drops-entries.json\"
  EventSocket \"$T/events-drops.sock\"
</Plugin>"
wait_for 30 test -S "$T/events-drops.sock" || fail "plugin did not start: $(cat "$T/drops.log" "$T/drops.out")"
"$send" "$T/events-drops.sock" 100 30 "resource restart web" > "$T/sent" || fail "sending: $(cat "$T/sent")"
dropped() { tail -1 "$T"/csv/$host/pattern/operations-dropped_events-* 2> /dev/null | cut -d, -f2; }
wait_for 30 eval '[ "$(dropped)" = 100 ] || [ "$(dropped)" = 100.000000 ]' ||
  fail "dropped_events says $(dropped), 100 were sent"
lines=$(grep -c "pattern plugin: event socket: " "$T/drops.log")
[ "$lines" -eq 1 ] || fail "$lines log lines for 100 bad datagrams: $(grep 'event socket' "$T/drops.log" | head -3)"
# The line counts what came before the follower got to it (1 on a quiet
# machine; more when a step, e.g. the start's digest publication, ran
# while the datagrams 30 ms apart arrived) and quotes the first.
assert_grep 'event socket: [0-9]* dropped, first: unknown action for resource: "resource restart web' "$T/drops.log"
kill "$pid"
wait "$pid"
echo "PASS: bad or missing pattern configuration is refused or said once; bad datagrams are counted, logged once"
