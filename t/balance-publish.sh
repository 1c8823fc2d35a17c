#!/usr/bin/env bash
# balance-publish: publish_utilization on a CIB_file cluster whose placement
# strategy is "balanced". The declared utilization says every service uses
# 1 core; the measured demand is a 6, b 1, c 1, d 4. patmon-balance writes
# the numbers that changed materially, the largest first and at most
# publish_max_writes a pass, and nothing once they hold. Then n1 fails:
# crm_simulate on the CIB as it was (Pacemaker's own numbers) puts a on n3
# (10 cores used of 10); on the published numbers it puts a on n2 (8 of 10).
. "$top_srcdir/t/lib.sh"
need_integration
. "$top_srcdir/t/balance-lib.sh"
need_pacemaker

cib_init balanced
for i in 1 2 3; do cib_node "$i" "n$i" 10; done
for r in a b c d; do cib_primitive "$r" 1; done
start_on n1 n2 n3 -- a:n1 b:n2 c:n2 d:n3
[ "$(where a)" = n1 ] && [ "$(where d)" = n3 ] || fail "initial placement: $(crm_mon -1)"
cp "$CIB_file" "$T/declared.xml"

node_rrd n1 60
svc_rrd n1 a 6
node_rrd n2 20
svc_rrd n2 b 1
svc_rrd n2 c 1
node_rrd n3 40
svc_rrd n3 d 4

util() { crm_resource -r "$1" --utilization --get-parameter cpu 2>/dev/null | tail -1; }
writes() { grep -c ' utilization ' "$T/journal" 2>/dev/null || true; }

write_config "
publish_utilization = true
publish_max_writes = 1"
balance --once --dry-run --explain || fail "dry run failed"
[ "$(util a)" = 1 ] || fail "a dry run wrote utilization: a is $(util a)"

# One write a pass: the largest change (a, 1 -> 6) first, then d.
balance --once --explain || fail "first pass failed"
assert_grep 'utilization: 2 material change(s), 1 written' "$T/out"
[ "$(util a)" = 6 ] && [ "$(util d)" = 1 ] || fail "first pass: a $(util a), d $(util d)"
assert_grep 'utilization a cpu: 1 -> 6' "$T/journal"
balance --once --explain || fail "second pass failed"
[ "$(util d)" = 4 ] || fail "second pass: d $(util d)"
[ "$(util b)" = 1 ] && [ "$(util c)" = 1 ] || fail "b or c rewritten without a change"
# The numbers hold: nothing more is written.
balance --once --explain || fail "third pass failed"
assert_grep 'utilization: 0 material change(s), 0 written' "$T/out"
[ "$(writes)" = 2 ] || fail "$(writes) utilization writes, expected 2"

# n1 fails: Pacemaker's balanced placement on each set of numbers.
after_fail() {
  crm_simulate -x "$1" -S -d n1 -O "$T/fail.xml" >"$T/fail.out" 2>&1 ||
    fail "crm_simulate: $(cat "$T/fail.out")"
  CIB_file=$T/fail.xml where a
}
declared=$(after_fail "$T/declared.xml")
published=$(after_fail "$CIB_file")
note "n1 fails: a goes to $declared on the declared numbers, to $published on the published ones"
[ "$declared" = n3 ] || fail "on the declared numbers a went to '$declared'"
[ "$published" = n2 ] || fail "on the published numbers a went to '$published'"
echo "PASS"
