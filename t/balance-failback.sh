#!/usr/bin/env bash
# balance-failback: fail-back on a CIB_file cluster. db (patmon-failback
# auto) and web (manual) run on n1; n1 fails and Pacemaker restarts them
# elsewhere; n1 returns. patmon-balance moves db back only once n1 has been
# online for failback_stable (6 s), lists web without moving it, and a
# restart of the balancer in between keeps what n1 lost (the state file).
. "$top_srcdir/t/lib.sh"
need_integration
. "$top_srcdir/t/balance-lib.sh"
need_pacemaker

cib_init default
for i in 1 2 3; do cib_node "$i" "n$i" 4; done
cib_primitive db
cib_primitive web
start_on n1 n2 n3 -- db:n1 web:n1
crm_resource -r db --meta -p patmon-failback -v auto >/dev/null 2>&1 || fail "meta db"
crm_resource -r web --meta -p patmon-failback -v manual >/dev/null 2>&1 || fail "meta web"
[ "$(where db)" = n1 ] && [ "$(where web)" = n1 ] || fail "initial placement: $(crm_mon -1)"
node_rrd n1 50
svc_rrd n1 db 1.0
svc_rrd n1 web 0.6
node_rrd n2 10
node_rrd n3 10

write_config 'estimate = "latest"
z = 0
failback_stable = 6'
balance --once || fail "first pass failed"
assert_grep '^home db n1 - ' "$T/state"

# n1 fails: Pacemaker restarts both elsewhere; their series follow them.
simulate -d n1
db_at=$(where db) web_at=$(where web)
[ -n "$db_at" ] && [ "$db_at" != n1 ] && [ -n "$web_at" ] && [ "$web_at" != n1 ] ||
  fail "not restarted: $(crm_mon -1)"
rm -rf "$RRD/n1/processes-db" "$RRD/n1/processes-web"
node_rrd n2 40
node_rrd n3 40
svc_rrd "$db_at" db 1.0
svc_rrd "$web_at" web 0.6
balance --once --explain || fail "pass with n1 offline failed"
assert_grep "^home db $db_at n1 " "$T/state"
assert_grep '^failback: db (auto) waits: n1 is not online' "$T/out"

# n1 returns, nearly idle. The first pass sees it back and waits.
simulate -u n1
node_rrd n1 5
balance --once --explain || fail "pass with n1 back failed"
t_back=$(awk '$1 == "back" && $2 == "n1" { print $3 }' "$T/state")
[ -n "$t_back" ] || fail "n1's return not recorded: $(cat "$T/state")"
assert_grep '^failback: db (auto) waits: n1 online for [0-9]* of 6 s' "$T/out"
assert_grep '^failback: web (manual) waits: n1 online for' "$T/out"
[ "$(where db)" = "$db_at" ] || fail "db moved before the stable time"

# Passes (each one then acted on by the cluster) until db is on n1: not
# before t_back + 6, the restart of every pass included.
db_home() {
  balance --once --explain >/dev/null 2>&1 || return 1
  simulate
  [ "$(where db)" = n1 ]
}
wait_for 120 db_home || fail "db not moved back within 120 s: $(cat "$T/out")"
t_home=$(date +%s)
note "db back on n1 $((t_home - t_back)) s after the pass that saw n1 return (stable time 6 s)"
[ $((t_home - t_back)) -ge 6 ] || fail "db moved back after $((t_home - t_back)) s, before 6 s"
assert_grep "move db $db_at -> n1: fail-back: db" "$T/journal"
# web is manual: listed (once in the journal), never moved.
assert_grep "failback manual web: could return from $web_at to n1" "$T/journal"
[ "$(grep -c 'failback manual web' "$T/journal")" = 1 ] || fail "web listed more than once"
balance --once --explain || fail "last pass failed"
assert_grep "^failback: web (manual) could return from $web_at to n1" "$T/out"
[ "$(where web)" = "$web_at" ] || fail "web (manual) was moved"
# db is home: the loss is over.
assert_grep '^home db n1 - ' "$T/state"
