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
for k in post.b req.a.1 bad; do
  cibadmin --delete -o crm_config --xml-text "<cluster_property_set id=\"patmon-zone-$k\"/>" || fail "delete $k"
done
printf 'data_dir = "%s"\n' "$RRD" > "$T/b.conf"
"$BAL" -c "$T/b.conf" --once --dry-run --explain > "$T/explain" 2> /dev/null || fail "explain"
! grep -q "zone" "$T/explain" || fail "zones said without zones: $(cat "$T/explain")"
echo PASS
