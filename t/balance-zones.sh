#!/usr/bin/env bash
# balance-zones: what an instance knows of zones, on a CIB_file cluster.
# A node's zone is its node section's zone, else its Pacemaker node
# attribute zone, else "default"; the instance's zone is --zone, else the
# configuration's zone. --explain lists the zones with their nodes and the
# zone records in the CIB (crm_config, see patmon-balance(8)) in the CIB's
# order; a malformed record is named, not trusted.
. "$top_srcdir/t/lib.sh"
need_integration
. "$top_srcdir/t/balance-lib.sh"
need_pacemaker

cib_init default
for i in 1 2 3 4 5; do cib_node "$i" "n$i" 4; done
cib_primitive bal-b
start_on n1 n2 n3 n4 n5 -- bal-b:n3
for z in n1:a n2:a n3:b n4:b; do
  crm_attribute --node "${z%%:*}" --name zone --update "${z#*:}" || fail "zone of ${z%%:*}"
done
record() {
  cibadmin --create -o crm_config --xml-text "<cluster_property_set id=\"patmon-zone-$1\"><nvpair id=\"patmon-zone-$1-v\" name=\"patmon-zone-$1\" value=\"$2\"/></cluster_property_set>"
}
record post.b "pass=4 spare=1/-/-" || fail "record"
record req.a.1 "to=b units=x@1/-/-" || fail "record"
cibadmin --create -o crm_config --xml-text '<cluster_property_set id="patmon-zone-bad"/>' || fail "bad record"
printf 'data_dir = "%s"\nzone = "b"\nnode "n4" { zone = "c" }\n' "$RRD" > "$T/b.conf"
"$BAL" -c "$T/b.conf" --once --dry-run --explain > "$T/explain" 2> "$T/err" ||
  fail "explain: $(cat "$T/err")"
expect() { grep -qxF -- "$1" "$T/explain" || fail "no line '$1' in: $(cat "$T/explain")"; }
expect "this instance's zone: b"
expect "zone a: n1 n2"
expect "zone b: n3"
expect "zone c: n4"
expect "zone default: n5"
expect "zone records in the CIB (2, in their order):"
[ "$(grep -A2 'zone records in the CIB' "$T/explain" | tail -2)" = "  post.b = pass=4 spare=1/-/-
  req.a.1 = to=b units=x@1/-/-" ] || fail "records out of order: $(cat "$T/explain")"
grep -q "zone records skipped: 1, first: .*patmon-zone-bad: no <nvpair> named as the set" "$T/explain" ||
  fail "the malformed record is not named: $(cat "$T/explain")"

# With source = static (no cluster read) the zone records still come from
# the CIB, and --explain shows the ones the pass read.
printf 'data_dir = "%s"\nsource = "static"\nnode "n1" {\n  cpu = "4"\n  zone = "a"\n}\nnode "n3" {\n  cpu = "4"\n  zone = "b"\n}\n' "$RRD" > "$T/st.conf"
"$BAL" -c "$T/st.conf" --zone b --once --dry-run --explain > "$T/explain" 2> "$T/err" ||
  fail "static explain: $(cat "$T/err")"
expect "zone a: n1"
expect "zone b: n3"
expect "zone records in the CIB (2, in their order):"
expect "  req.a.1 = to=b units=x@1/-/-"

# --zone wins over the configuration; a bad name is refused.
"$BAL" -c "$T/b.conf" --zone a --once --dry-run --explain 2> /dev/null | grep -qx "this instance's zone: a" ||
  fail "--zone a not shown"
"$BAL" -c "$T/b.conf" --zone "a/b" --check > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q "zone name is 1-32 of" "$T/err" || fail "--zone a/b accepted: $(cat "$T/err")"

# Each zone's instance has its own lock and state file: zone a's instance
# holding its lock does not stop zone b's.
printf 'data_dir = "%s"\nstate_file = "%s"\nlock_file = "%s"\n' "$RRD" "$T/state" "$T/lock" > "$T/s.conf"
exec 9> "$T/lock.a"
flock -n 9 || fail "cannot take $T/lock.a"
"$BAL" -c "$T/s.conf" --zone b --once > /dev/null 2> "$T/err" || fail "zone b's pass: $(cat "$T/err")"
[ -e "$T/state.b" ] && [ -e "$T/lock.b" ] && [ ! -e "$T/state" ] || fail "zone b's files: $(ls "$T")"
"$BAL" -c "$T/s.conf" --zone a --once > /dev/null 2> "$T/err"
grep -q "another instance holds the lock" "$T/err" && [ ! -e "$T/state.a" ] ||
  fail "zone a's instance ran beside the lock holder: $(cat "$T/err")"
exec 9>&-

# One resource per zone: own_resource names it with %z.
printf 'data_dir = "%s"\nown_resource = "bal-%%z"\nnode_name = "n3"\n' "$RRD" > "$T/o.conf"
"$BAL" -c "$T/o.conf" --zone b --once --dry-run > /dev/null 2> "$T/err"
grep -q "the active decision-maker: bal-b runs here (n3)" "$T/err" || fail "zone b's own resource: $(cat "$T/err")"
"$BAL" -c "$T/o.conf" --zone a --once --dry-run > /dev/null 2> "$T/err"
grep -q "own_resource bal-a is not a resource of this cluster" "$T/err" || fail "zone a's own resource: $(cat "$T/err")"
"$BAL" -c "$T/o.conf" --once --dry-run > /dev/null 2> "$T/err"
grep -q "own_resource bal-%z names the zone (%z), but this instance has none" "$T/err" ||
  fail "%z without a zone: $(cat "$T/err")"

# Without any zone: nothing about zones.
for n in n1 n2 n3 n4; do crm_attribute --node $n --name zone --delete > /dev/null || fail "delete zone of $n"; done
# (zone b's passes above wrote records of their own: every one goes)
for k in $(cibadmin -Q -o crm_config | sed -n 's/.*<cluster_property_set id="patmon-zone-\([^"]*\)".*/\1/p'); do
  cibadmin --delete -o crm_config --xml-text "<cluster_property_set id=\"patmon-zone-$k\"/>" || fail "delete $k"
done
printf 'data_dir = "%s"\n' "$RRD" > "$T/b.conf"
"$BAL" -c "$T/b.conf" --once --dry-run --explain > "$T/explain" 2> /dev/null || fail "explain"
! grep -q "zone" "$T/explain" || fail "zones said without zones: $(cat "$T/explain")"

# Planning by zone: three instances (zones a, b, c, one node each, so a
# and c cannot shed locally) take turns on one CIB, as daemons (the core
# remembers its requests between passes), each pass asked for with
# SIGUSR1. b posts its spare (room for one 3-core unit under 80%, not
# two); a, then c, ask it for room; b grants a's request, the first
# recorded, and refuses c's; a moves its unit to b's node through the
# grant (crm_resource; crm_simulate runs it); c moves nothing; the
# answered requests are deleted by their requesters.
cib_init default
for z in 1:a 2:b 3:c; do cib_node "${z%%:*}" "${z#*:}1" 10; done
for r in a-small a-big b-x c-small c-big; do cib_primitive "$r"; done
start_on a1 b1 c1 -- a-small:a1 a-big:a1 b-x:b1 c-small:c1 c-big:c1
for z in a b c; do crm_attribute --node "${z}1" --name zone --update "$z" || fail "zone of ${z}1"; done
node_rrd a1 90
svc_rrd a1 a-small 3
svc_rrd a1 a-big 6
node_rrd b1 40
svc_rrd b1 b-x 4
node_rrd c1 90
svc_rrd c1 c-small 3
svc_rrd c1 c-big 6
write_config "interval = 3600"
rec() { # KEY: the zone record's value (empty when absent)
  cibadmin -Q -o crm_config | sed -n "s/.* name=\"patmon-zone-$1\" value=\"\([^\"]*\)\".*/\1/p"
}
# A dry run writes nothing, and says so.
balance --zone b --once --dry-run --explain || fail "zone b's dry run"
assert_grep "^  set post.b = pass=[0-9]* .*: not written (dry run or standby)" "$T/out"
[ -z "$(rec post.b)" ] || fail "a dry run wrote post.b: $(rec post.b)"
# A zone pass reads only the zones it plans: a1 and c1 are not read (no
# load, no warning about them), b1 is.
assert_grep "^not read (other zones' nodes, planned there): a1 c1$" "$T/out"
assert_grep "^b1 *online" "$T/out"
assert_no_grep "a1 cpu" "$T/err"
assert_no_grep "the failure of a1" "$T/err"
posted() { rec "post.$1" | grep -q "^pass=$2 "; }
declare -A pid pass
# ZONE's pass N is over: its post says pass N, and its daemon logged the
# end of N passes (-vv).
passed() { posted "$1" "$2" && [ "$(grep -c "pass over" "$T/daemon.$1")" -ge "$2" ]; }
turn() { # ZONE: a pass of ZONE's daemon (the first starts it), finished
  local z=$1
  pass[$z]=$((${pass[$z]:-0} + 1))
  if [ -z "${pid[$z]:-}" ]; then
    "$BAL" -c "$T/balance.conf" --zone "$z" --daemon -vv 2> "$T/daemon.$z" &
    pid[$z]=$!
    at_exit "kill ${pid[$z]}"
  else
    kill -USR1 "${pid[$z]}"
  fi
  wait_for "$WAIT" passed "$z" "${pass[$z]}" ||
    fail "zone $z's pass ${pass[$z]}: $(rec "post.$z"); $(cat "$T/daemon.$z")"
}
turn b
rec post.b | grep -q "spare=4/" || fail "b's post: $(rec post.b)"
turn a
turn c
rec req.a.1 | grep -q "^to=b .*units=a-small@3/" || fail "a's request: $(rec req.a.1)"
rec req.c.1 | grep -q "^to=b .*units=c-small@3/" || fail "c's request: $(rec req.c.1)"
turn b
rec grant.req.a.1 | grep -q "^ok by=b .*nodes=b1$" || fail "a's grant: $(rec grant.req.a.1)"
rec grant.req.c.1 | grep -q "^refused by=b .*why=nofit" || fail "c's refusal: $(rec grant.req.c.1)"
turn a
grep -q "move a-small a1 -> b1: zone b granted room on b1 (req.a.1)" "$T/journal" ||
  fail "a did not move a-small: $(cat "$T/daemon.a")"
simulate
turn c
turn a
[ "$(where a-small)" = b1 ] && [ "$(where c-small)" = c1 ] ||
  fail "after the grant: a-small on $(where a-small), c-small on $(where c-small)"
assert_no_grep "move c-small" "$T/journal"
[ -z "$(rec req.a.1)$(rec grant.req.a.1)$(rec req.c.1)$(rec grant.req.c.1)" ] ||
  fail "answered requests left in the CIB: $(cibadmin -Q -o crm_config)"

# The duties done once for the whole cluster are the leader's, the live
# instance of the lowest zone name: a node gone offline is journaled and
# told to the offline hook once, by a's instance, though b's sees it too.
for z in a b c; do kill "${pid[$z]}"; done
wait "${pid[a]}" "${pid[b]}" "${pid[c]}" 2> /dev/null
write_config "interval = 3600
hook \"told\" {
  command = {\"sh\", \"-c\", \"printf '%%s\\\\n' \\\"\$1\\\" >>$T/told\", \"hook\", \"%e %n\"}
  on = {\"offline\"}
}"
overs() { [ "$(grep -c "pass over" "$T/daemon.$1")" -ge "$2" ]; }
for z in b a; do
  "$BAL" -c "$T/balance.conf" --zone "$z" --daemon -vv 2> "$T/daemon.$z" &
  pid[$z]=$!
  at_exit "kill ${pid[$z]}"
  wait_for "$WAIT" overs "$z" 1 || fail "zone $z's first pass: $(cat "$T/daemon.$z")"
done
simulate -d c1
for z in b a; do
  kill -USR1 "${pid[$z]}"
  wait_for "$WAIT" overs "$z" 2 || fail "zone $z's second pass: $(cat "$T/daemon.$z")"
done
[ "$(grep -c "offline c1$" "$T/journal")" = 1 ] || fail "offline c1 journaled $(grep -c "offline c1$" "$T/journal") times: $(cat "$T/journal")"
[ "$(cat "$T/told" 2> /dev/null)" = "offline c1" ] || fail "the offline hook: $(cat "$T/told" 2> /dev/null)"
grep -q "node c1 is offline" "$T/daemon.a" || fail "a's instance did not see c1 go: $(cat "$T/daemon.a")"
assert_no_grep "node c1 is offline" "$T/daemon.b"
sed 's/^/#   /' "$T/journal"
echo PASS
