#!/usr/bin/env bash
# balance-avail-publish: the availability figures patmon-balance publishes
# as PUTVAL lines, received by a real collectd (unixsock, csv; started here
# and stopped by pid) and checked in the csv files it wrote. The figures
# come from a recorded journal whose times are set 2 h back from now; the
# CIB_file cluster agrees with its end (n1, n2 online, db on n1, web
# stopped), so the pass reconciles nothing and the journal stays as it is.
#
# Worked by hand (B = the first event, times in seconds after it):
#   n1:  member 0, lost 1000, member 1050: 1 failure, repair 50 s, up
#        1000 s + (now - 1050): MTTR 50 exactly; MTTF = up; availability
#        up / (up + 50), from the time collectd was given.
#   n2:  member 0, nothing since: 0 failures, 100%, MTTF and MTTR U.
#   db:  start on n1 at 0, n1 lost at 1000 (its only instance: a failure),
#        start on n1 at 1060: repair 60 s, MTTR 60 exactly.
#   web: start 0, fail 3000, start 3010, stop 4000 (planned: frozen): up
#        3000 + 990 = 3990 s, repair 10 s, 1 failure, MTTF 3990, MTTR 10,
#        availability 3990 / 4000 = 99.75% in all three windows; stopped.
#   n1's loss at 1000: outage 50 s (to its member), recovery 60 s (to db's
#   start, the one resource it failed); n2 never lost: both U.
# States (gauge-state): 1 online, 3 started, 5 stopped.
. "$top_srcdir/t/lib.sh"
need_integration
. "$top_srcdir/t/balance-lib.sh"
need_pacemaker
need_cmd collectd

cib_init default
cib_node 1 n1 4
cib_node 2 n2 4
cib_primitive db
cib_primitive web
start_on n1 n2 -- db:n1 web:n2
crm_resource -r web --meta -p target-role -v Stopped > /dev/null 2>&1 || fail "stop web"
simulate
[ "$(where db)" = n1 ] && [ -z "$(where web)" ] || fail "placement: $(crm_mon -1)"
node_rrd n1 20
node_rrd n2 20
svc_rrd n1 db 0.4

b=$((($(date +%s) - 7200) * 1000))
at() { echo $((b + $1 * 1000)); }
cat > "$T/avail.journal" <<EOJ
# patmon availability journal, format 1 (see patmon-balance(8))
$(at 0) node member n1
$(at 0) node member n2
$(at 0) resource start db n1
$(at 0) resource start web n2
$(at 1000) node lost n1
$(at 1050) node member n1
$(at 1060) resource start db n1
$(at 3000) resource fail web n2
$(at 3010) resource start web n2
$(at 4000) resource stop web n2
EOJ
cp "$T/avail.journal" "$T/recorded.journal"

collectd_conf "$T/collectd.conf" test
collectd -f -C "$T/collectd.conf" > "$T/collectd.out" 2>&1 &
cpid=$!
at_exit "kill $cpid; wait $cpid"
wait_for "$WAIT" test -S "$T/collectd.sock" || fail "collectd did not start: $(cat "$T/collectd.out" "$T/collectd.log")"

write_config "estimate = \"latest\"
z = 0
unixsock = \"$T/collectd.sock\"
publish_host = \"bal-test\""
balance --once || fail "the pass failed"
cmp "$T/recorded.journal" "$T/avail.journal" || fail "the pass changed the journal: $(diff "$T/recorded.journal" "$T/avail.journal")"

# value NAME TYPE: "TIME VALUE" of the last line collectd wrote.
csvdir=$T/csv/bal-test
value() {
  tail -1 "$csvdir/availability-$1/$2"-[0-9]* 2> /dev/null |
    awk -F, '$1 != "epoch" { printf "%d %s\n", $1, $2 }'
}
for name in node_n1 node_n2 resource_db resource_web; do
  for type in percent-24h percent-7d percent-30d count-failures_30d duration-mttf_30d duration-mttr_30d gauge-state; do
    wait_for "$WAIT" test -n "$(value $name $type)" || fail "collectd wrote no $name/$type: $(ls -R "$T/csv")"
  done
done
for name in node_n1 node_n2; do
  for type in duration-outage_last duration-recovery_last; do
    wait_for "$WAIT" test -n "$(value $name $type)" || fail "collectd wrote no $name/$type: $(ls -R "$T/csv")"
  done
done
# exact NAME TYPE WANT: the value, as a number, is WANT; "nan" for U.
exact() {
  local got
  got=$(value "$1" "$2" | cut -d' ' -f2)
  if [ "$3" = nan ]; then
    [[ $got == *nan* ]] || fail "$1/$2 = $got, want U (nan)"
  else
    awk -v g="$got" -v w="$3" 'BEGIN { exit !(g + 0 == w + 0) }' || fail "$1/$2 = $got, want $3"
  fi
  note "$1/$2 = $got"
}
for w in 24h 7d 30d; do exact resource_web percent-$w 99.75; done
exact resource_web count-failures_30d 1
exact resource_web duration-mttf_30d 3990
exact resource_web duration-mttr_30d 10
exact resource_web gauge-state 5
exact node_n1 count-failures_30d 1
exact node_n1 duration-mttr_30d 50
exact node_n1 gauge-state 1
exact node_n1 duration-outage_last 50
exact node_n1 duration-recovery_last 60
exact resource_db count-failures_30d 1
exact resource_db duration-mttr_30d 60
exact resource_db gauge-state 3
for w in 24h 7d 30d; do exact node_n2 percent-$w 100; done
exact node_n2 count-failures_30d 0
exact node_n2 duration-mttf_30d nan
exact node_n2 duration-mttr_30d nan
exact node_n2 gauge-state 1
exact node_n2 duration-outage_last nan
exact node_n2 duration-recovery_last nan
# What grows with time, from the time the value was given (the pass's
# clock, whole seconds; the figures use its milliseconds: within 2 s).
near() { # NAME TYPE UP-FROM-SECONDS REPAIR KIND
  local t got want
  read -r t got <<< "$(value "$1" "$2")"
  want=$(awk -v t="$t" -v b="$b" -v s="$3" -v r="$4" -v k="$5" 'BEGIN {
    up = 1000 + (t - b / 1000 - s); printf "%.6f", k == "mttf" ? up : 100 * up / (up + r) }')
  awk -v g="$got" -v w="$want" -v k="$5" 'BEGIN { d = g - w; if (d < 0) d = -d;
    exit !(d <= (k == "mttf" ? 2 : 0.001)) }' || fail "$1/$2 = $got at $t, want $want"
  note "$1/$2 = $got at $t (worked out: $want)"
}
near node_n1 duration-mttf_30d 1050 50 mttf
near node_n1 percent-24h 1050 50 avail
near resource_db duration-mttf_30d 1060 60 mttf
near resource_db percent-30d 1060 60 avail
echo "PASS: collectd received the availability figures of a recorded journal, exact where they are fixed"
