#!/usr/bin/env bash
# live-balance: the balancer on a live 3-node cluster (t/cluster-lib.sh),
# running as a Pacemaker resource in --daemon mode with execute = true.
#
# Proof 2, moved before overload: a service's load is raised on node1 so
# that node1's estimate crosses threshold x capacity; the balancer moves the
# fewest services to bring every node back under threshold, crm_mon shows
# them there, nothing is moved twice, the plan is journaled and the hook
# runs once.
# Proof 6, standby and maintenance respected: with node3 in standby (the
# least loaded node), a new overload on node1 is relieved towards node2
# only; with node2 in maintenance and over its threshold, nothing is moved
# off it.
#
# Capacities are half a core per node and loads tenths of a core: the two
# shared cores of the machine can give that while other work runs. The
# test judges by the balancer's planning numbers (a dry-run pass on a copy
# of the CIB, see explain) and crm_mon.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/cluster-lib.sh"
cluster_test "$@"

t0=$SECONDS
cluster_start 3
cluster_capacity 0.5
cluster_loads a:0.08:node1 b:0.15:node1 c:0.06:node2 d:0.04:node3
cluster_balance_conf

# plan: the planning numbers, "node util%" per line.
plan() {
  explain | awk '$2 ~ /^(online|standby|maintenance|offline)$/ {
    u = $4; sub(/%/, "", u); print $1, u }'
}
moves() { cat "$CL/shared/balance.journal" 2> /dev/null | grep -c 'Z move '; }
told() { cat "$CL/shared/told" 2> /dev/null | grep -c -- "$1"; }

# The balancer starts once the nodes' series show the steady state (the
# first seconds of a node hold its boot).
settled 120 || fail "the cluster did not settle: $(cat "$CL/explain" "$CL/explain.err")"
cluster_balancer node2
wait_for 30 grep -q "the active decision-maker: balancer runs here (node2)" "$CL/shared/balancer.log" ||
  fail "the balancer is not active: $(cat "$CL/shared/balancer.log")"
note "settled, balancer active at $((SECONDS - t0)) s"
sleep 6 # a pass or two: nothing to do
[ "$(moves)" = 0 ] || fail "moves before any overload: $(cat "$CL/shared/balance.journal")"

# ---- proof 2: moved before overload --------------------------------------------
note "proof 2: a raised to 0.30 core on node1 (capacity 0.5, threshold 0.4)"
raised=$SECONDS
set_load a 0.30
wait_for 90 bash -c "grep -q 'Z move ' '$CL/shared/balance.journal' 2>/dev/null" ||
  fail "no move within 90 s: $(plan; tail -20 "$CL/shared/balancer.log")"
note "first move $((SECONDS - raised)) s after the raise: $(grep 'Z move ' "$CL/shared/balance.journal")"
moved=$(awk '/Z move / { print $3; exit }' "$CL/shared/balance.journal")
target=$(awk '/Z move / { print $6; exit }' "$CL/shared/balance.journal")
target=${target%:}
wait_for 30 running_on "$moved" "$target" || fail "$moved not on $target: $(crm crm_mon -1)"
# Once the estimate's window holds only samples from after the move (the
# moved load's start is in it until then): no node above threshold, and
# nothing else moved meanwhile.
under() { plan > "$T/plan" && awk '$2 == "?" || $2 + 0 > 80 { exit 1 }' "$T/plan"; }
t_under=$SECONDS
poll $((${CL_BAL_WINDOW:-10} + 30)) under || fail "a node stays above threshold: $(cat "$T/plan")"
note "planning after the move ($((SECONDS - t_under)) s): $(tr '\n' ' ' < "$T/plan")"
[ "$(moves)" = 1 ] || fail "more than one move: $(cat "$CL/shared/balance.journal")"
[ "$(where a)" = node1 ] || fail "a moved"
[ "$(told ' plan ')" = 1 ] || fail "the plan hook ran $(told ' plan ') times: $(cat "$CL/shared/told")"
assert_grep "node2 plan -: patmon-balance moved 1 service(s), 0 failed: moved $moved node1 -> $target" "$CL/shared/told"
crm crm_mon -1 > "$T/mon"
assert_no_grep "Stopped" "$T/mon" "a resource is stopped"

# ---- proof 6: standby and maintenance --------------------------------------------
# node3 becomes the least loaded node (b and d nearly idle wherever they
# are), then goes to standby; e is started on node1, which goes over.
note "proof 6: node3 in standby, e (0.12 core) added to node1"
set_load b 0.01
set_load d 0.01
crm crm_standby -N node3 -v on || fail "standby"
sleep 11 # the estimates see the lowered loads
plan > "$T/plan"
note "before: $(tr '\n' ' ' < "$T/plan")"
crm cibadmin --create -o resources --xml-text "$(load_xml e 0.12)" || fail "resource e"
cluster_start_on e:node1
wait_for 90 bash -c "[ \$(grep -c 'Z move ' '$CL/shared/balance.journal') -ge 2 ]" ||
  fail "no move for e's overload: $(plan; tail -20 "$CL/shared/balancer.log")"
grep 'Z move ' "$CL/shared/balance.journal" | tail -n +2 > "$T/later"
note "$(cat "$T/later")"
assert_no_grep " -> node3" "$T/later" "a service was moved to the standby node3"
sleep 6
for r in a c e; do [ "$(where "$r")" != node3 ] || fail "$r runs on the standby node3"; done
crm crm_standby -N node3 -v off || fail "standby off"

# node2 in maintenance, then over its threshold: the load of a service on
# node2 (c, unless the moves above swapped it away) rises where Pacemaker
# does not look (its control file), nothing is moved off node2.
r2=""
for r in c a b d e; do
  [ "$(where "$r")" = node2 ] && r2=$r && break
done
[ -n "$r2" ] || fail "no load runs on node2: $(crm crm_mon -1)"
note "proof 6: node2 in maintenance, $r2 raised to 0.40 core there"
crm crm_attribute --node node2 --name maintenance --update true || fail "maintenance"
before=$(moves)
on 2 sh -c "echo 0.40 > /run/resource-agents/patmon-load-$r2.cores.new &&
  mv /run/resource-agents/patmon-load-$r2.cores.new /run/resource-agents/patmon-load-$r2.cores" ||
  fail "raise $r2"
node2_over() {
  explain > "$T/explain" && awk '$1 == "node2" && $4 + 0 > 80 { f = 1 } END { exit !f }' "$T/explain"
}
poll 60 node2_over ||
  fail "node2 did not go above threshold: $(cat "$T/explain")"
note "node2 over threshold in maintenance: $(grep '^node2' "$T/explain")"
sleep 11 # two passes
# Other nodes may still even out (node3 is back from standby); nothing
# moves off node2 or onto it.
grep 'Z move ' "$CL/shared/balance.journal" | tail -n +$((before + 1)) > "$T/during"
awk '$4 == "node2" || $6 == "node2:" { f = 1 } END { exit !f }' "$T/during" &&
  fail "moved off or onto node2 in maintenance: $(cat "$T/during")"
note "moves during maintenance, none of node2's: $(wc -l < "$T/during")"
[ "$(where "$r2")" = node2 ] || fail "$r2 left node2 in maintenance"
note "live-balance: $((SECONDS - t0)) s in all"
echo PASS
