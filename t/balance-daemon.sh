#!/usr/bin/env bash
# balance-daemon: patmon-balance --daemon with a static inventory (no
# cluster stack) and the command executor. The first pass moves the
# service that relieves the overloaded node by running the configured
# command (an argument vector, no shell); later passes know where it is.
# SIGHUP reloads the configuration (a bad one is refused and the old one
# kept, with file:line); SIGTERM exits cleanly. A node lost, told on the
# event socket, makes it replan at once.
. "$top_srcdir/t/lib.sh"
need_integration
. "$top_srcdir/t/balance-lib.sh"
mk() { "$MKRRD" "$@" >/dev/null || fail "balance-mkrrd $*"; }
# h1: 3.6 of 4 cores (s1 2.0, s2 1.6); h2: 0.4 of 4.
mk "$RRD/h1/cpu/percent-active.rrd" 10 600 GAUGE value=90
mk "$RRD/h1/processes-s1/ps_cputime.rrd" 10 600 DERIVE user=1500000 syst=500000
mk "$RRD/h1/processes-s2/ps_cputime.rrd" 10 600 DERIVE user=1600000 syst=0
mk "$RRD/h2/cpu/percent-active.rrd" 10 600 GAUGE value=10

# conf THRESHOLD [ESTIMATE]: a static inventory, moves by touching a file.
conf() {
  base_config "interval = 1
threshold = $1
estimate = \"${2:-self}\"
source = \"static\"
node \"h1\" {
  cpu = \"4\"
}
node \"h2\" {
  cpu = \"4\"
}
service \"s1\" {
  node = \"h1\"
}
service \"s2\" {
  node = \"h1\"
}
executor command {
  move = {\"touch\", \"$T/moved-%r-%f-%n\"}
  timeout = 10
}"
}
conf 0.8
"$BAL" -c "$T/balance.conf" --check >"$T/check" || fail "--check failed"
assert_grep "OK" "$T/check"

# estimate = forecast reads what the forecast plugin writes next to the
# measured series (h1's upper bound 98%, s1 forecast at 2.5 cores); s2 has
# no forecast and is forecast from its samples.
mk "$RRD/h1/forecast-cpu/percent-active-h6.rrd" 10 600 GAUGE value=95
mk "$RRD/h1/forecast-cpu/percent-active-h6-upper.rrd" 10 600 GAUGE value=98
mk "$RRD/h1/forecast-processes-s1/ps_cputime-h6.rrd" 10 600 DERIVE \
  user=1250000 syst=1250000
conf 0.8 forecast
"$BAL" -c "$T/balance.conf" --once --dry-run --explain >"$T/out" 2>"$T/err" ||
  fail "forecast pass: $(cat "$T/err")"
sed 's/^/#   /' "$T/out"
assert_grep "estimate forecast (upper bound)" "$T/out"
assert_grep '^h1 .* 2.32/4.00 *98% -> *58%' "$T/out"
assert_grep 'move 1 \[overload\]: s2 h1 -> h2: h1 forecast 98% > 80%' "$T/out"
assert_grep "no fresh forecast series .*/h1/forecast-processes-s2/ps_cputime-h6.rrd" "$T/out"
[ ! -e "$T/moved-s2-h1-h2" ] || fail "a dry run moved"
conf 0.8

"$BAL" -c "$T/balance.conf" --daemon -v 2>"$T/log" &
pid=$!
at_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
wait_for 20 test -e "$T/moved-s2-h1-h2" || fail "no move: $(cat "$T/log")"
assert_grep "move s2 h1 -> h2" "$T/journal"
# A second instance is not the decision-maker.
"$BAL" -c "$T/balance.conf" --once 2>"$T/second" || fail "second instance"
assert_grep "another instance holds the lock" "$T/second"

# Passes continue; the state knows s2 is on h2 and it is not moved again.
sleep 2.5
[ "$(grep -c 'move s2' "$T/journal")" = 1 ] || fail "s2 moved again: $(cat "$T/journal")"
assert_grep "^rsc s2 [0-9]* 0 - h2" "$T/state"

# SIGHUP with a bad file: refused, the old configuration stays.
printf 'threshold = 0.9\nbogus = 1\n' >"$T/balance.conf"
kill -HUP "$pid"
wait_for "$WAIT" grep -q "reload failed" "$T/log" || fail "bad reload not reported: $(cat "$T/log")"
assert_grep "balance.conf:2: .*bogus" "$T/log"
kill -0 "$pid" || fail "the daemon died on a bad reload"
# SIGHUP with a good one.
conf 0.9
kill -HUP "$pid"
wait_for "$WAIT" grep -q "configuration reloaded" "$T/log" || fail "reload not logged"

kill -TERM "$pid"
rc=0
wait_for "$WAIT" bash -c "! kill -0 $pid 2>/dev/null" || fail "the daemon did not exit on SIGTERM"
wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "exit status $rc on SIGTERM"
assert_grep "exiting on a signal" "$T/log"

# Node events: with event_socket, a "node lost" from patmon-alert (run as
# Pacemaker runs it for a node alert) makes the daemon replan at once, not
# at its interval (an hour here). The active daemon records node alerts in
# the availability journal with the time they arrived.
conf 0.8
sed -i 's/^interval = 1$/interval = 3600/' "$T/balance.conf"
printf 'event_socket = "%s"\nevent_socket_group = "root"\n' "$T/bal.sock" >>"$T/balance.conf"
"$BAL" -c "$T/balance.conf" --daemon -v 2>"$T/log2" &
pid=$!
at_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
wait_for 20 grep -q "started, node events on $T/bal.sock" "$T/log2" ||
  fail "no event socket: $(cat "$T/log2")"
# Each pass says s2 is planned with its history (it moved, and nothing
# measures it on h2): the count of these lines counts the passes.
passes() { grep -c "service s2 cpu: no fresh series under host h2 yet" "$T/log2"; }
wait_for 20 test -e "$T/state" || fail "no first pass: $(cat "$T/log2")"
sleep 0.5
before=$(passes)
sleep 1.1
[ "$(passes)" = "$before" ] || fail "a pass ran without a cause"
sent_from=$(date +%s%3N)
CRM_alert_kind=node CRM_alert_node=h3 CRM_alert_desc=lost CRM_alert_nodeid=3 \
  CRM_alert_recipient="$T/bal.sock" "$top_builddir/contrib/pacemaker/patmon-alert" ||
  fail "patmon-alert failed"
sent_to=$(date +%s%3N)
wait_for 10 grep -q "node h3 lost: replanning now" "$T/log2" || fail "the event was not seen: $(cat "$T/log2")"
wait_for 10 bash -c "[ \$(grep -c 'service s2 cpu: no fresh series under host h2 yet' '$T/log2') -gt $before ]" ||
  fail "no pass after the event: $(cat "$T/log2")"
wait_for 10 grep -q " node lost h3\$" "$T/avail.journal" ||
  fail "node h3 lost is not in the availability journal: $(cat "$T/avail.journal" "$T/log2")"
t_lost=$(awk '/ node lost h3$/ { print $1 }' "$T/avail.journal")
[ "$t_lost" -ge "$sent_from" ] && [ "$t_lost" -le "$sent_to" ] ||
  fail "node h3 lost recorded at $t_lost, sent between $sent_from and $sent_to"
echo "node lost recorded $((t_lost - sent_from)) ms after patmon-alert started"
CRM_alert_kind=node CRM_alert_node=h3 CRM_alert_desc=member CRM_alert_nodeid=3 \
  CRM_alert_recipient="$T/bal.sock" "$top_builddir/contrib/pacemaker/patmon-alert" ||
  fail "patmon-alert failed"
wait_for 10 grep -q " node member h3\$" "$T/avail.journal" ||
  fail "node h3 member is not in the availability journal: $(cat "$T/avail.journal")"
"$BAL" -c "$T/balance.conf" --availability --since all >"$T/avail" ||
  fail "--availability failed"
assert_grep "^node     h3  *online  *0 " "$T/avail"
kill -USR1 "$pid"
wait_for 10 grep -q "SIGUSR1: a pass now" "$T/log2" || fail "SIGUSR1 did not ask for a pass"
kill -TERM "$pid"
wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || fail "the daemon did not exit on SIGTERM"
[ ! -e "$T/bal.sock" ] || fail "the event socket was left behind"
echo "PASS"
