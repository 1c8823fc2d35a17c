#!/usr/bin/env bash
# live-failback: fail-back on a live 3-node cluster (t/cluster-lib.sh), the
# balancer running as a Pacemaker resource on node2 (--daemon, execute =
# true). a has the meta attribute patmon-failback=auto, b the default
# (never). node1 is killed (SIGKILL to every process of it): Pacemaker
# restarts a and b on the survivors. node1 boots again: the balancer moves
# a back to node1 only once node1 has been online for failback_stable
# (20 s), and leaves b where it went (Pacemaker's stickiness).
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/cluster-lib.sh"
cluster_test "$@"

t0=$SECONDS
STABLE=20
cluster_start 3
cluster_capacity 0.5
cluster_loads a:0.05:node1 b:0.05:node1 c:0.03:node2 d:0.03:node3
cluster_balance_conf "failback_stable = $STABLE"
crm crm_resource -r a --meta -p patmon-failback -v auto > /dev/null || fail "meta a"
settled 120 || fail "the cluster did not settle: $(cat "$CL/explain" "$CL/explain.err")"
cluster_balancer node2
wait_for 30 grep -q "the active decision-maker: balancer runs here (node2)" "$CL/shared/balancer.log" ||
  fail "the balancer is not active: $(cat "$CL/shared/balancer.log")"
# A pass records where a and b run.
wait_for 30 grep -qs '^home a node1 ' "$CL/shared/balance.state" ||
  fail "no pass recorded a on node1: $(cat "$CL/shared/balance.state")"

node_kill 1
wait_for 90 away a node1 || fail "a not restarted: $(crm crm_mon -1)"
a_at=$at
wait_for 90 away b node1 || fail "b not restarted: $(crm crm_mon -1)"
b_at=$at
note "node1 killed; a restarted on $a_at, b on $b_at"
wait_for 60 grep -qs "^home a $a_at node1 " "$CL/shared/balance.state" ||
  fail "a's loss from node1 not recorded: $(cat "$CL/shared/balance.state")"

node_boot 1
wait_for 60 cluster_online 3 || fail "node1 did not rejoin"
t_online=$EPOCHREALTIME
note "node1 online $((SECONDS - t0)) s into the test"
wait_for $((STABLE + 120)) running_on a node1 ||
  fail "a not back on node1 within $((STABLE + 120)) s: $(tail -20 "$CL/shared/balancer.log"; cat "$CL/explain")"
t_home=$EPOCHREALTIME
took=$(awk -v a="$t_online" -v b="$t_home" 'BEGIN { printf "%.1f", b - a }')
back=$(awk '$1 == "back" && $2 == "node1" { print $3 }' "$CL/shared/balance.state")
moved=$(grep "move a $a_at -> node1: fail-back" "$CL/shared/balance.journal" | head -1)
[ -n "$moved" ] || fail "no fail-back move journaled: $(cat "$CL/shared/balance.journal")"
moved_s=$(date -u -d "$(cut -d' ' -f1 <<< "$moved")" +%s)
note "a on node1 again $took s after crm_mon showed node1 online; the balancer saw it back at $back, moved a at $moved_s ($((moved_s - back)) s later; stable time $STABLE s)"
[ -n "$back" ] && [ $((moved_s - back)) -ge $STABLE ] || fail "moved $((moved_s - back)) s after node1 was back, before $STABLE s"
# Measured outside the balancer: a is back at least STABLE s after the test
# saw node1 online, less 2 s: the balancer's clock has a 1 s resolution, and
# its pass may read crm_mon a moment before the test's poll does.
awk -v t="$took" -v s="$STABLE" 'BEGIN { exit !(t >= s - 2) }' ||
  fail "a back on node1 $took s after node1 came online, before $STABLE s"
[ "$(where b)" = "$b_at" ] || fail "b (failback never) moved: now on $(where b)"
note "live-failback: $((SECONDS - t0)) s in all"
echo PASS
