#!/usr/bin/env bash
# balance-overload: a node forecast above 80% on a CIB_file cluster. The
# real patmon-balance moves the group (the smallest unit that covers the
# excess) to the node allowed by the constraints, with crm_resource; the
# cluster (crm_simulate) runs it there; the next pass clears the
# constraint the move left. Dry run, the lock, the journal, a hook and
# publishing to a real collectd are checked on the way.
. "$top_srcdir/t/lib.sh"
need_integration
. "$top_srcdir/t/balance-lib.sh"
need_pacemaker

cib_init default
for i in 1 2 3 4; do cib_node "$i" "n$i" 4; done
for r in a b p u d e; do cib_primitive "$r"; done
cibadmin --create -o resources --xml-text \
  "<group id=\"g\">$(primitive_xml g1)$(primitive_xml g2)</group>" || fail "group"
# p is pinned to n1, g may not run on n3.
cibadmin --create -o constraints --xml-text \
  '<rsc_location id="pin-p" rsc="p" node="n1" score="INFINITY"/>' || fail "pin"
cibadmin --create -o constraints --xml-text \
  '<rsc_location id="no-g-on-n3" rsc="g" node="n3" score="-INFINITY"/>' || fail "ban"
start_on n1 n2 n3 n4 -- a:n1 b:n1 u:n1 p:n1 g:n1 d:n2 e:n3
crm_standby -N n4 -v on
# u runs on n1 and is not managed.
cibadmin --modify -o resources --xml-text \
  '<primitive id="u"><meta_attributes id="u-m"><nvpair id="u-m-managed" name="is-managed" value="false"/></meta_attributes></primitive>' ||
  fail "unmanaged"
[ "$(where g1)" = n1 ] && [ "$(where a)" = n1 ] && [ "$(where e)" = n3 ] ||
  fail "initial placement: $(crm_mon -1)"

# n1 runs 3.6 of 4 cores (90%): a 1.5, b 1.2, g 0.4 + 0.3, p 0.1, u 0.1.
node_rrd n1 90
svc_rrd n1 a 1.5
svc_rrd n1 b 1.2
svc_rrd n1 g1 0.4
svc_rrd n1 g2 0.3
svc_rrd n1 p 0.1
svc_rrd n1 u 0.1
node_rrd n2 30
svc_rrd n2 d 1.0
node_rrd n3 10
svc_rrd n3 e 0.3
node_rrd n4 5

# A real collectd receives what the balancer publishes.
have_collectd=0
if command -v collectd >/dev/null && command -v collectdctl >/dev/null; then
  have_collectd=1
  collectd_conf "$T/collectd.conf" test
  cat >>"$T/collectd.conf" <<EOF
LoadPlugin rrdtool
<Plugin rrdtool>
  DataDir "$T/published"
</Plugin>
EOF
  collectd -f -C "$T/collectd.conf" >"$T/collectd.out" 2>&1 &
  cpid=$!
  at_exit "kill $cpid; wait $cpid"
  wait_for "$WAIT" test -S "$T/collectd.sock" || fail "collectd did not start: $(cat "$T/collectd.out" "$T/collectd.log")"
fi

write_config "
unixsock = \"$([ $have_collectd = 1 ] && echo "$T/collectd.sock")\"
publish_host = \"balancer-test\"
hook \"mark\" {
  command = {\"touch\", \"$T/hook-%e-%c\"}
}"

# Dry run: the plan, and nothing changes.
balance --once --dry-run --explain || fail "dry run failed"
assert_grep "dry run" "$T/out"
assert_grep 'move 1 \[overload\]: g n1 -> n2' "$T/out"
# estimate = auto (the default): each move's gain, each series' estimator.
assert_grep 'move 1 \[overload\]: g n1 -> n2: .*; gain [0-9.]* a move' "$T/out"
assert_grep '^estimate: g cpu: [a-z-]* [0-9.]*.*, spread [0-9.e-]*; error over [0-9]* steps:' "$T/out"
assert_grep '^n1 .* 2.90/4.00 *90% -> *7[23]%' "$T/out"
assert_grep 'fixed: u: not managed' "$T/out"
assert_grep 'fixed: p: pinned to n1 by location pin-p' "$T/out"
constraints >"$T/cons"
assert_no_grep cli-prefer "$T/cons" "a dry run created a constraint"
[ ! -e "$T/journal" ] || fail "a dry run wrote the journal"

# Another instance holds the lock: this one does not act.
command -v flock >/dev/null || skip "needs flock"
flock "$T/lock" "$BAL" -c "$T/balance.conf" --once 2>"$T/err" || fail "locked run failed"
assert_grep "another instance holds the lock" "$T/err"
constraints >"$T/cons"
assert_no_grep cli-prefer "$T/cons" "a second instance acted"

# A plan crm_simulate cannot check is reported, never executed.
cp "$T/balance.conf" "$T/good.conf"
echo 'crm_simulate = "false"' >>"$T/balance.conf"
balance --once --explain || fail "unverified pass failed"
assert_grep "held: the plan could not be verified" "$T/out"
assert_grep "error: the plan could not be checked with crm_simulate" "$T/err"
constraints >"$T/cons"
assert_no_grep cli-prefer "$T/cons" "an unverified plan was executed"
cp "$T/good.conf" "$T/balance.conf"

# One decision-maker: the balancer runs as the resource bal, on n2. An
# instance on n1 (started by hand) plans, says why it does not act, and
# changes nothing.
cib_primitive bal
crm_resource --move -r bal -N n2 >/dev/null 2>&1 || fail "place bal"
simulate
crm_resource --clear -r bal >/dev/null 2>&1
[ "$(where bal)" = n2 ] || fail "bal not on n2: $(crm_mon -1)"
echo 'own_resource = "bal"' >>"$T/good.conf"
cp "$T/good.conf" "$T/balance.conf"
echo 'node_name = "n1"' >>"$T/balance.conf"
balance --once --explain || fail "standby pass failed"
assert_grep "not the active decision-maker: bal runs on n2, this is n1" "$T/err"
assert_grep "not the active decision-maker: planning only" "$T/out"
assert_grep 'move 1 \[overload\]: g n1 -> n2' "$T/out"
constraints >"$T/cons"
assert_no_grep cli-prefer-g "$T/cons" "a standby instance acted"
[ ! -e "$T/journal" ] || fail "a standby instance wrote the journal"
[ ! -e "$T/hook-plan-1" ] || fail "a standby instance ran a hook"
cp "$T/good.conf" "$T/balance.conf"
echo 'node_name = "n2"' >>"$T/balance.conf"

# The real pass, from n2: crm_resource --move for the group, with a
# lifetime.
balance --once --explain || fail "pass failed"
assert_grep "the active decision-maker: bal runs here (n2)" "$T/err"
assert_grep "executing" "$T/out"
constraints >"$T/cons"
assert_grep 'id="cli-prefer-g"' "$T/cons"
assert_grep 'value="n2"' "$T/cons"
assert_grep 'cli-prefer-lifetime-end-g' "$T/cons"
assert_grep "move g n1 -> n2: n1 forecast 90% > 80%" "$T/journal"
assert_grep "notice: move g n1 -> n2" "$T/err"
[ -e "$T/hook-plan-1" ] || fail "the plan hook did not run"
assert_grep "^rsc g [0-9]* 0 n2 n2" "$T/state"

# The cluster acts: the group runs on n2, the rest stays.
simulate
[ "$(where g1)" = n2 ] && [ "$(where g2)" = n2 ] || fail "g not on n2: $(crm_mon -1)"
[ "$(where a)" = n1 ] && [ "$(where b)" = n1 ] && [ "$(where p)" = n1 ] ||
  fail "something else moved: $(crm_mon -1)"

if [ $have_collectd = 1 ]; then
  collectdctl -s "$T/collectd.sock" getval balancer-test/balancer/count-plan_moves >"$T/val" ||
    fail "plan size not published"
  assert_grep "value=1" "$T/val"
  collectdctl -s "$T/collectd.sock" getval balancer-test/balancer-n2/gauge-whatif_absorbable >"$T/val" ||
    fail "what-if not published"
  assert_grep "value=" "$T/val"
  wait_for "$WAIT" test -e "$T/published/balancer-test/balancer/count-executed_moves.rrd" ||
    fail "collectd wrote no RRD for the balancer"
else
  note "collectd not installed: publishing not checked"
fi

# Next pass: the move is done and the cluster is sticky: the constraint goes.
balance --once || fail "second pass failed"
constraints >"$T/cons"
assert_no_grep 'cli-prefer-g' "$T/cons" "the constraint was not cleared"
assert_grep "clear g - -> n2: the move is done" "$T/journal"
simulate
[ "$(where g1)" = n2 ] || fail "g moved back after the clear: $(crm_mon -1)"
echo "PASS"
