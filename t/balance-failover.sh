#!/usr/bin/env bash
# balance-failover: a node fails on a CIB_file cluster whose placement
# strategy is "utilization". Pacemaker alone leaves x stopped: no survivor
# has room for it by a greedy pass, though moving mid would make room (the
# behaviour FACTS.md measured). patmon-balance moves mid and places x;
# crm_simulate shows everything running and no survivor above capacity.
# The offline hook and the journal record the failure once.
. "$top_srcdir/t/lib.sh"
need_integration
. "$top_srcdir/t/balance-lib.sh"
need_pacemaker

cib_init utilization
for i in 1 2 3; do cib_node "$i" "n$i" 10; done
cib_primitive x 6
cib_primitive big 5
cib_primitive mid 3
cib_primitive small 2
start_on n1 n2 n3 -- x:n1 big:n2 mid:n3 small:n3
[ "$(where x)" = n1 ] && [ "$(where mid)" = n3 ] || fail "initial placement: $(crm_mon -1)"

# What each service uses: its declared utilization, measured.
node_rrd n1 60
svc_rrd n1 x 6
node_rrd n2 50
svc_rrd n2 big 5
node_rrd n3 50
svc_rrd n3 mid 3
svc_rrd n3 small 2

# n1 goes down; Pacemaker recovers what it can.
simulate -d n1
[ -z "$(where x)" ] || fail "Pacemaker placed x by itself: $(crm_mon -1)"
note "Pacemaker alone: x stopped"

# One hook for both events: a node lost is told once, with what was done.
write_config "
hook \"offline\" {
  command = {\"touch\", \"$T/hook-%e-%n\"}
  on = {\"offline\"}
}
hook \"both\" {
  command = {\"sh\", \"-c\", \"printf '%%s\\\\n' \\\"\$1\\\" >>$T/told\", \"hook\", \"%e %n: %m\"}
}"
balance --once --explain || fail "pass failed"
assert_grep 'move 1 \[make-room\]: mid n3 -> n2: makes room on n3 for x' "$T/out"
assert_grep 'move 2 \[failover\]: x (stopped) -> n3: x is stopped: placed on n3' "$T/out"
assert_grep '^n1 *offline' "$T/out"
assert_grep "warning: node n1 is offline" "$T/err"
assert_grep "offline n1" "$T/journal"
assert_grep "place x - -> n3" "$T/journal"
[ -e "$T/hook-offline-n1" ] || fail "the offline hook did not run"
[ "$(wc -l <"$T/told")" = 1 ] || fail "a hook told more than once: $(cat "$T/told")"
assert_grep "^offline n1: node n1 is offline; moved mid n3 -> n2; placed x on n3$" "$T/told"

simulate
[ "$(where x)" = n3 ] && [ "$(where mid)" = n2 ] ||
  fail "x or mid not where planned: $(crm_mon -1)"
[ "$(where big)" = n2 ] && [ "$(where small)" = n3 ] ||
  fail "other resources moved: $(crm_mon -1)"
crm_mon -1 -r >"$T/mon"
assert_no_grep "Stopped" "$T/mon" "a resource is still stopped"
# Declared utilization per survivor: n2 5 + 3, n3 6 + 2 (capacity 10).
crm_simulate -x "$CIB_file" -U -S >"$T/util" 2>&1 || fail "crm_simulate -U"
note "$(grep -i 'remaining' "$T/util" | head -3)"

# The next pass: no new offline event, nothing left to do.
rm -f "$T/hook-offline-n1"
balance --once --explain || fail "second pass failed"
[ ! -e "$T/hook-offline-n1" ] || fail "the offline hook ran twice"
[ "$(grep -c 'offline n1' "$T/journal")" = 1 ] || fail "offline journaled twice"
assert_grep "no move needed" "$T/out"
echo "PASS"
