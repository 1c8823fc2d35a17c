#!/usr/bin/env bash
# live-availability: the availability journal and its figures on a live
# 3-node cluster (t/cluster-lib.sh), against Pacemaker's own alert log.
#
# The balancer runs as a Pacemaker resource on node3 (--daemon, its
# journal and the alert spool in $CL/shared). Loads a, b, c run on node1,
# node2, node3 (a and b kept off node3). Then: node1 is killed (SIGKILL to every process of it) and
# boots again; b is stopped by its target-role and started again; node3,
# the balancer's own node, is killed and boots again: its loss reaches the
# next balancer instance only through the spool. The figures the balancer
# publishes (--availability: the table and the node losses) are compared
# with the times of Pacemaker's alerts (t/cluster-alert-log,
# CRM_alert_timestamp): failures counted exactly, MTTR, outage and
# recovery within 1 s, each journaled event within 1 s of its alert.
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/cluster-lib.sh"
cluster_test "$@"

t0=$SECONDS
J=$CL/shared/availability.journal
ALERTS=$CL/shared/alerts.log
# Changes go through node2, up all along (crm_from): a node that has just
# joined may still be taking the CIB.

cluster_start 3
# Capacity well above the loads: the balancer has nothing to move, every
# change is the test's or Pacemaker's recovery.
cluster_capacity 4
cluster_alert_log
cluster_loads a:0.02:node1 b:0.02:node2 c:0.02:node3
# a and b never go to node3, which is killed second: each fails once, by
# the test's hand, whatever Pacemaker chooses.
for r in a b; do
  crm cibadmin --create -o constraints --xml-text \
    "<rsc_location id=\"$r-not-node3\" rsc=\"$r\" node=\"node3\" score=\"-INFINITY\"/>" ||
    fail "keep $r off node3"
done
cluster_balance_conf
cluster_balancer node3
wait_for 30 grep -q "the active decision-maker: balancer runs here (node3)" "$CL/shared/balancer.log" ||
  fail "the balancer is not active: $(cat "$CL/shared/balancer.log")"

# journaled PATTERN [AFTER_MS]: a journal line matching PATTERN (awk regex on
# the line after its time), at or after AFTER_MS.
journaled() {
  awk -v re="$1" -v after="${2:-0}" '$1 !~ /^#/ && $1 >= after { l = $0; sub(/^[0-9]+ /, "", l); if (l ~ re) f = 1 }
    END { exit !f }' "$J" 2> /dev/null
}
# jtime PATTERN [AFTER_MS]: the time (s, ms decimals) of the first such line.
jtime() {
  awk -v re="$1" -v after="${2:-0}" '$1 !~ /^#/ && $1 >= after { l = $0; sub(/^[0-9]+ /, "", l)
    if (l ~ re) { printf "%.3f\n", $1 / 1000; exit } }' "$J"
}
# alert_time KIND NODE TASK RSC DESC AFTER: the earliest alert matching
# (- matches anything) at or after AFTER (s), in seconds; empty when none.
alert_time() {
  awk -v k="$1" -v n="$2" -v task="$3" -v r="$4" -v d="$5" -v after="$6" '
    { t = $1 + $2 / 1e6 }
    t >= after && $4 == k && (n == "-" || $3 == n) && (task == "-" || $5 == task) &&
      (r == "-" || $6 == r) && (d == "-" || $9 == d) && (k != "resource" || $7 == 0) &&
      (best == "" || t < best) { best = t }
    END { if (best != "") printf "%.3f\n", best }' "$ALERTS"
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# within A B: |A - B| <= 1 s.
within() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d <= 1 && d >= -1) }'; }
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", a - b }'; }
# check_event WHAT JOURNAL ALERT: one journaled event against its alert.
check_event() {
  [ -n "$2" ] && [ -n "$3" ] || fail "$1: journal '$2', alert '$3' ($(cat "$J"))"
  note "$1: journal $(diff_s "$2" "$3") s from Pacemaker's alert"
  within "$2" "$3" || fail "$1: journaled at $2, Pacemaker's alert at $3"
}

# The first pass records where everything runs.
for r in a:node1 b:node2 c:node3; do
  wait_for 30 journaled "^resource (start|promote) ${r%%:*} ${r#*:}" ||
    fail "${r%%:*} not journaled on ${r#*:}: $(cat "$J")"
done

# ---- node1 dies (the balancer hears it on its socket) -----------------------------
k1=$(date +%s.%N)
k1_ms=$(now_ms)
node_kill 1
wait_for 90 away a node1 || fail "a not restarted: $(crm_from 2 crm_mon -1)"
a_at=$at
wait_for 60 journaled "^node lost node1" "$k1_ms" || fail "node1's loss not journaled: $(cat "$J")"
node_boot 1
wait_for 90 cluster_online 3 || fail "node1 did not rejoin"
wait_for 60 journaled "^node member node1" "$k1_ms" || fail "node1's return not journaled: $(cat "$J")"
wait_for 60 journaled "^resource start a $a_at" "$k1_ms" || fail "a's restart not journaled: $(cat "$J")"
note "node1 killed and back; a restarted on $a_at"

# ---- b stopped by hand, then started (a planned stop: no failure) ---------------------
s_ms=$(now_ms)
s_at=$(date +%s.%N)
b_at=$(where b)
crm_from 2 crm_resource -r b --meta -p target-role -v Stopped > /dev/null || fail "stop b"
wait_for 60 journaled "^resource stop b $b_at" "$s_ms" || fail "b's stop not journaled: $(cat "$J")"
crm_from 2 crm_resource -r b --meta -p target-role -v Started > /dev/null || fail "start b"
wait_for 60 journaled "^resource start b " "$s_ms" || fail "b's start not journaled: $(cat "$J")"
b_back=$(where b)

# ---- node3, the balancer's node, dies: its loss comes from the spool -------------------
crm_from 2 crm_resource --wait --timeout 60s > /dev/null 2>&1 || note "the cluster is still busy before the kill"
k3=$(date +%s.%N)
k3_ms=$(now_ms)
node_kill 3
wait_for 90 away c node3 || fail "c not restarted: $(crm_from 2 crm_mon -1)"
c_at=$at
wait_for 90 away balancer node3 || fail "the balancer not restarted: $(crm_from 2 crm_mon -1)"
bal_at=$at
wait_for 60 journaled "^node lost node3" "$k3_ms" || fail "node3's loss not journaled: $(cat "$J"; tail "$CL/shared/balancer.log")"
# No balancer listened when the survivors' agents ran: the next one took
# the loss from the spool, an alert (not reconciled) with its own time.
journaled "^node lost node3$" "$k3_ms" || fail "node3's loss was reconciled, not taken from the spool: $(cat "$J")"
note "$(grep "node alert(s) taken from" "$CL/shared/balancer.log" | tail -1)"
node_boot 3
wait_for 90 cluster_online 3 || fail "node3 did not rejoin"
wait_for 60 journaled "^node member node3" "$k3_ms" || fail "node3's return not journaled: $(cat "$J")"
wait_for 60 journaled "^resource start c $c_at" "$k3_ms" || fail "c's restart not journaled: $(cat "$J")"
wait_for 60 journaled "^resource start balancer $bal_at" "$k3_ms" || fail "the balancer's restart not journaled: $(cat "$J")"
note "node3 killed and back; c restarted on $c_at, the balancer on $bal_at"

"$CL_BUILD/patmon-balance" -c "$CL/balance.conf" --availability --since all > "$T/report" 2> "$T/report.err" ||
  fail "--availability: $(cat "$T/report.err")"
sed 's/^/#   /' "$T/report"
sed 's/^/#   journal: /' "$J"

# ---- measured from Pacemaker's alerts ----------------------------------------------------
lost1=$(alert_time node node1 - - lost "$k1")
member1=$(alert_time node node1 - - member "$lost1")
start_a=$(alert_time resource "$a_at" start a - "$k1")
stop_b=$(alert_time resource "$b_at" stop b - "$s_at")
start_b=$(alert_time resource "$b_back" start b - "$stop_b")
lost3=$(alert_time node node3 - - lost "$k3")
member3=$(alert_time node node3 - - member "$lost3")
start_c=$(alert_time resource "$c_at" start c - "$k3")
start_bal=$(alert_time resource "$bal_at" start balancer - "$k3")

check_event "node lost node1 (socket)" "$(jtime "^node lost node1" "$k1_ms")" "$lost1"
check_event "node member node1" "$(jtime "^node member node1" "$k1_ms")" "$member1"
check_event "a started on $a_at (CIB)" "$(jtime "^resource start a $a_at" "$k1_ms")" "$start_a"
check_event "b stopped on $b_at (CIB)" "$(jtime "^resource stop b $b_at" "$s_ms")" "$stop_b"
check_event "b started on $b_back (CIB)" "$(jtime "^resource start b $b_back" "$s_ms")" "$start_b"
check_event "node lost node3 (spool)" "$(jtime "^node lost node3" "$k3_ms")" "$lost3"
check_event "node member node3" "$(jtime "^node member node3" "$k3_ms")" "$member3"
check_event "c started on $c_at (CIB)" "$(jtime "^resource start c $c_at" "$k3_ms")" "$start_c"
check_event "the balancer started on $bal_at (CIB)" "$(jtime "^resource start balancer $bal_at" "$k3_ms")" "$start_bal"

# ---- the published figures ----------------------------------------------------------
# row KIND NAME FIELD: a table row's field (4 failures, 6 MTTR) in seconds.
row() {
  awk -v k="$1" -v n="$2" -v f="$3" '$1 == k && $2 == n { v = $f
    if (v ~ /^[0-9.]+s$/) { sub(/s$/, "", v); print v }
    else if (v ~ /^[0-9]+m[0-9]+s$/) { split(v, p, /[ms]/); print p[1] * 60 + p[2] }
    else print v; exit }' "$T/report"
}
# loss NODE N FIELD: the Nth loss row of NODE (4 fenced, 5 outage, 6
# recovery, 7 failed; fields 2 and 3 are its date and time).
loss() {
  awk -v n="$1" -v i="$2" -v f="$3" '/^NODE LOST/ { on = 1; next } on && $1 == n && ++c == i { print $f; exit }' "$T/report"
}
expect_failures() {
  local got
  got=$(row "$1" "$2" 4)
  [ "$got" = "$3" ] || fail "$1 $2: $got failures, expected $3"
}
expect_failures node node1 1
expect_failures node node2 0
expect_failures node node3 1
expect_failures resource a 1
expect_failures resource b 0
expect_failures resource c 1
expect_failures resource balancer 1

recovery3=$(awk -v a="$start_c" -v b="$start_bal" 'BEGIN { print (a > b ? a : b) }')
while read -r what got want; do
  note "$what: published $got s, measured $want s ($(diff_s "$got" "$want") s)"
  within "$got" "$want" || fail "$what: published $got s, measured $want s"
done << EOF
outage_node1 $(loss node1 1 5) $(diff_s "$member1" "$lost1")
recovery_node1 $(loss node1 1 6) $(diff_s "$start_a" "$lost1")
outage_node3 $(loss node3 1 5) $(diff_s "$member3" "$lost3")
recovery_node3 $(loss node3 1 6) $(diff_s "$recovery3" "$lost3")
MTTR_node1 $(row node node1 6) $(diff_s "$member1" "$lost1")
MTTR_node3 $(row node node3 6) $(diff_s "$member3" "$lost3")
MTTR_a $(row resource a 6) $(diff_s "$start_a" "$lost1")
MTTR_c $(row resource c 6) $(diff_s "$start_c" "$lost3")
MTTR_balancer $(row resource balancer 6) $(diff_s "$start_bal" "$lost3")
EOF
[ "$(loss node1 1 7)" = 1 ] || fail "node1's loss failed $(loss node1 1 7) resources, expected 1 (a)"
[ "$(loss node3 1 7)" = 2 ] || fail "node3's loss failed $(loss node3 1 7) resources, expected 2 (c, balancer)"
[ "$(loss node1 1 4)" = no ] && [ "$(loss node3 1 4)" = no ] || fail "a loss marked fenced (fencing is off here)"
note "load average $(cut -d' ' -f1-3 /proc/loadavg)"
note "live-availability: $((SECONDS - t0)) s in all"
echo PASS
