#!/usr/bin/env bash
# live-zones: planning by zone on a live 3-node cluster (t/cluster-lib.sh).
# Zones: node1 is zone a, node2 zone b, node3 zone c (a third zone: two
# zones must ask for one spare at the same time; one node a zone keeps the
# load generators within what two shared cores give beside other work). One
# patmon-balance --daemon --zone Z per zone, each the Pacemaker resource
# balancer-Z (own_resource = "balancer-%z"), kept out of what they balance.
#
#  1. A surplus placed in another zone through a grant: a's node and c's
#     are above the threshold; b's node has room for one of their units:
#     b grants it and the requester's instance moves the unit there.
#  2. Zones a and c both ask for b's spare, which fits one unit: b grants
#     one request (the first recorded) and refuses the other, or (the
#     instances pass on their own clocks) the second requester sees the
#     spare gone and asks nobody: either way b's spare is granted once.
#  3. The node running zone a's instance is killed (balancer-a may run on
#     node1 only, so Pacemaker cannot start it elsewhere): the live
#     instance with the lowest zone name, b's, adopts zone a within two
#     intervals of a's silence; node1 back, a's instance posts again and b
#     returns the zone. Adoption and return are journaled and told to the
#     hook once each; node1's loss once, by the leader (b's, once a's
#     instance is silent).
#
# Capacities are half a core per node (threshold 80%: 0.4), loads tenths
# of a core. Times are noted, not asserted beyond generous limits.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/cluster-lib.sh"
cluster_test "$@"

t0=$SECONDS
IV=${CL_BAL_INTERVAL:-5}
cluster_start 3
cluster_capacity 0.5
cluster_alert_log
for z in 1:a 2:b 3:c; do
  crm crm_attribute --node "node${z%%:*}" --name zone --update "${z#*:}" || fail "zone of node${z%%:*}"
done
# Quiet to start with: every node well under the threshold.
cluster_loads a1:0.15:node1 a2:0.05:node1 b1:0.15:node2 c1:0.15:node3 c2:0.05:node3
cluster_balance_conf 'own_resource = "balancer-%z"
exclude = {"balancer-*"}'
settled 120 || fail "the cluster did not settle: $(cat "$CL/explain")"

# rec KEY: a zone record's value (empty when absent).
rec() {
  crm cibadmin -Q -o crm_config 2> /dev/null |
    sed -n "s/.* name=\"patmon-zone-$1\" value=\"\([^\"]*\)\".*/\1/p"
}
# zone_balancer ZONE NODE [ONLY]: zone ZONE's instance as the resource
# balancer-ZONE, for NODE (with ONLY, allowed there only); created stopped.
zone_balancer() {
  local z=$1 node=$2
  crm cibadmin --create -o resources --xml-text "<primitive id=\"balancer-$z\" class=\"ocf\" provider=\"heartbeat\" type=\"anything\">
  <instance_attributes id=\"balancer-$z-ia\">
    <nvpair id=\"balancer-$z-bin\" name=\"binfile\" value=\"$CL_BUILD/patmon-balance\"/>
    <nvpair id=\"balancer-$z-opts\" name=\"cmdline_options\" value=\"-c $CL/balance.conf --daemon --zone $z -vv\"/>
    <nvpair id=\"balancer-$z-log\" name=\"logfile\" value=\"$CL/shared/balancer-$z.log\"/>
    <nvpair id=\"balancer-$z-pid\" name=\"pidfile\" value=\"/run/patmon-balance-$z.pid\"/>
  </instance_attributes>
  <meta_attributes id=\"balancer-$z-meta\"><nvpair id=\"balancer-$z-role\" name=\"target-role\" value=\"Stopped\"/></meta_attributes>
  <operations><op id=\"balancer-$z-mon\" name=\"monitor\" interval=\"10s\" timeout=\"20s\"/></operations>
</primitive>" || fail "balancer-$z"
  if [ -n "${3:-}" ]; then
    crm cibadmin --create -o constraints --xml-text \
      "<rsc_location id=\"only-balancer-$z\" rsc=\"balancer-$z\"><rule id=\"only-balancer-$z-r\" score=\"-INFINITY\"><expression id=\"only-balancer-$z-e\" attribute=\"#uname\" operation=\"ne\" value=\"$node\"/></rule></rsc_location>" ||
      fail "balancer-$z only on $node"
  fi
}
posts() { [ -n "$(rec "post.$1")" ]; }
zone_balancer a node1 only
zone_balancer b node2
zone_balancer c node3
# Started together: an instance that starts a few intervals after the
# others finds its zone adopted for a while (it has been silent).
cluster_start_on balancer-a:node1 balancer-b:node2 balancer-c:node3
for z in a b c; do
  wait_for 60 grep -q "the active decision-maker: balancer-$z runs here" "$CL/shared/balancer-$z.log" ||
    fail "zone $z's instance is not active: $(cat "$CL/shared/balancer-$z.log")"
  poll 30 posts "$z" || fail "zone $z posted nothing"
done
note "three zones posting: $(for z in a b c; do echo "$z: $(rec "post.$z");"; done)"

# ---- 1 and 2: a surplus placed through a grant, one spare asked twice ----------
# The loads rise: a: node1 a1 0.15 + a2 0.30 (above 0.4; a1 brings it
# under). c: node3 c1 0.15 + c2 0.35, the same. b: node2 b1 0.15: room
# under 0.4 (less its background, about 0.08 with b's instance) for one
# 0.15 unit, not two.
grant_t0=$(date +%s.%N)
set_load a2 0.30
set_load c2 0.35
rec_all() {
  crm cibadmin -Q -o crm_config 2> /dev/null |
    sed -n 's/.* name="patmon-zone-\([^"]*\)" value="\([^"]*\)".*/\1 = \2/p'
}
# The records are deleted once answered: the grant is seen in the journals.
# The posts are kept meanwhile, to judge a wait that ends without one.
moved_by_grant() {
  { rec_all; echo --; } >> "$CL/posts.log"
  grep -q "zone b granted room on node2" "$CL/shared/balance.journal" 2> /dev/null
}
# premise_seen: some round of posts showed a surplus unit of a or c that
# fit in b's posted spare (cpu): then a grant had to come.
premise_seen() {
  awk '/^post\.b = / { if (match($0, /spare=[0-9.e+-]+/)) room = substr($0, RSTART + 6, RLENGTH - 6) + 0 }
    /^post\.[ac] = .*surplus=[^ ]/ {
      u = $0; sub(/.*surplus=/, "", u); sub(/ .*/, "", u)
      n = split(u, v, ",")
      for (i = 1; i <= n; i++) { d = v[i]; sub(/.*@/, "", d); sub(/\/.*/, "", d)
        if (least == "" || d + 0 < least) least = d + 0 } }
    /^--$/ { if (room != "" && least != "" && least <= room) ok = 1; room = ""; least = "" }
    END { exit !ok }' "$CL/posts.log"
}
if ! poll 240 moved_by_grant; then
  # On a machine too busy to give the load generators their share, no
  # surplus arises, or b's background leaves it no room for one: that is
  # no verdict on the zones (SKIP, with the posts). When a surplus unit
  # fit in b's posted spare, the grant had to come.
  premise_seen || skip "no surplus of a or c fit in b's posted spare in 240 s (the load generators short of their share? load average $(cut -d' ' -f1-3 /proc/loadavg)); last posts: $(rec_all | grep '^post' | tr '\n' ';')"
  fail "no move through b's grant though a surplus fit b's spare: $(rec_all; tail -20 "$CL/shared/balancer-a.log")"
fi
note "moved through a grant $(awk -v a="$grant_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the loads rose"
grep "granted room" "$CL/shared/balance.journal" | sed 's/^/#   journal: /'
[ "$(grep -c "zone b granted room on node2" "$CL/shared/balance.journal")" = 1 ] ||
  fail "b's spare was granted more than once: $(cat "$CL/shared/balance.journal")"
# The instances pass on their own clocks: the other requester's request
# reached b before its grant (refused: nofit) or after it (b's post then
# showed too little spare, and it asked nobody). The deterministic case is
# t/balance-zones.sh's; here which one happened is noted.
note "b: $(grep -c 'request(s) granted, [1-9] refused' "$CL/shared/balancer-b.log") pass(es) with a refusal; c: $(grep 'zone c:' "$CL/shared/balancer-c.log" | tail -1)"

# ---- 3: adoption and return ------------------------------------------------------
last_a=$(rec post.a)
kill1=$(date +%s.%N)
note "killing node1 (runs zone a's instance; its last post: $last_a)"
node_kill 1
adopted() { [ -n "$(rec adopt.a.1)" ]; }
# Silent for two intervals, then b's next pass: 3 intervals and the
# cluster's reaction to the loss, generously.
poll $((6 * IV + 60)) adopted || fail "zone a not adopted: $(rec_all)"
took=$(awk -v a="$kill1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
rec adopt.a.1 | grep -q "^by=b since=" || fail "adopted by another: $(rec adopt.a.1)"
note "zone a adopted by b $took s after the kill (interval $IV s): $(rec adopt.a.1)"
plans_a() { rec post.b | grep -q "plans=b,a"; }
poll $((2 * IV + 30)) plans_a || fail "b does not plan a: $(rec post.b)"
node_boot 1
wait_for 60 cluster_online 3 || fail "node1 did not rejoin"
wait_for 60 running_on balancer-a node1 || fail "balancer-a did not restart: $(crm crm_mon -1)"
returned() { rec adopt.a.1 | grep -q " ended="; }
poll $((6 * IV + 60)) returned || fail "zone a not returned: $(rec_all)"
note "zone a returned: $(rec adopt.a.1)"
sleep $((2 * IV))
[ "$(grep -c "zone a adopted by zone b" "$CL/shared/balance.journal")" = 1 ] ||
  fail "adoption journaled $(grep -c "zone a adopted" "$CL/shared/balance.journal") times"
[ "$(grep -c "zone a returned" "$CL/shared/balance.journal")" = 1 ] || fail "return not journaled once"
[ "$(grep -c " zone a: zone a adopted by zone b" "$CL/shared/told")" = 1 ] ||
  fail "the hook was told of the adoption $(grep -c "zone a adopted" "$CL/shared/told") times: $(cat "$CL/shared/told")"
[ "$(grep -c " zone a: zone a returned" "$CL/shared/told")" = 1 ] || fail "the hook was not told of the return once"
# node1's loss is told once, by the leader: a's instance went with node1,
# b's led once a was silent and told the loss it had seen.
[ "$(grep -c "offline node1$" "$CL/shared/balance.journal")" = 1 ] ||
  fail "offline node1 journaled $(grep -c "offline node1$" "$CL/shared/balance.journal") times: $(cat "$CL/shared/balance.journal")"
[ "$(grep -c " offline node1: " "$CL/shared/told")" = 1 ] ||
  fail "the offline hook was told of node1 $(grep -c " offline node1: " "$CL/shared/told") times: $(cat "$CL/shared/told")"
note "live-zones: $((SECONDS - t0)) s in all"
echo PASS
