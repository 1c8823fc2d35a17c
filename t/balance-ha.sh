#!/usr/bin/env bash
# balance-ha: HA modes on a CIB_file cluster. db-clone is a promotable
# clone (promoted on n1, its standby on n2), cl a clone on every node (active
# / active), web a primitive. patmon-balance --explain reports each mode, never
# moves an instance, and its what-if for n1 counts the promotion of the
# standby on n2 (n2 takes the promoted demand in place of the standby's),
# not a restart; the loss of n2 or n3 restarts no clone instance.
. "$top_srcdir/t/lib.sh"
need_integration
. "$top_srcdir/t/balance-lib.sh"
need_pacemaker

cib_init default
for i in 1 2 3; do cib_node "$i" "n$i" 4; done
cibadmin --create -o resources --xml-text \
  '<clone id="db-clone"><meta_attributes id="db-m"><nvpair id="db-m-p" name="promotable" value="true"/><nvpair id="db-m-cm" name="clone-max" value="2"/></meta_attributes><primitive id="db" class="ocf" provider="pacemaker" type="Stateful"/></clone>' ||
  fail "promotable clone"
cibadmin --create -o resources --xml-text "<clone id=\"cl\">$(primitive_xml cp)</clone>" ||
  fail "clone"
cib_primitive web
for c in '<rsc_location id="db-promoted-n1" rsc="db-clone" role="Promoted" node="n1" score="200"/>' \
  '<rsc_location id="db-on-n1" rsc="db-clone" node="n1" score="50"/>' \
  '<rsc_location id="db-on-n2" rsc="db-clone" node="n2" score="40"/>'; do
  cibadmin --create -o constraints --xml-text "$c" || fail "constraint $c"
done
start_on n1 n2 n3 -- web:n3
simulate # promotes
crm_mon -1 --output-as=xml >"$T/mon.xml"
grep -A1 'role="Promoted"' "$T/mon.xml" | grep -q 'name="n1"' ||
  fail "db not promoted on n1: $(crm_mon -1)"
grep -A1 'role="Unpromoted"' "$T/mon.xml" | grep -q 'name="n2"' ||
  fail "db's standby not on n2: $(crm_mon -1)"

# Cores (of 4): n1 2.4 (db promoted 2.0, cp 0.2), n2 0.8 (db standby 0.4,
# cp 0.2), n3 1.4 (web 1.0, cp 0.2). Each instance is measured on its own
# node, under the primitive's name (processes-db, processes-cp).
node_rrd n1 60
svc_rrd n1 db 2.0
svc_rrd n1 cp 0.2
node_rrd n2 20
svc_rrd n2 db 0.4
svc_rrd n2 cp 0.2
node_rrd n3 35
svc_rrd n3 web 1.0
svc_rrd n3 cp 0.2

write_config 'estimate = "latest"
z = 0'
balance --once --dry-run --explain || fail "dry run failed"
assert_grep '^ha: db-clone: promotable clone (primary/standby): n1 (promoted), n2 (standby)$' "$T/out"
assert_grep '^ha: cl: clone (active/active): n1, n2, n3$' "$T/out"
assert_grep '^fixed: db-clone@n1: the promoted instance of a promotable clone' "$T/out"
assert_grep '^fixed: db-clone@n2: an unpromoted (standby) instance' "$T/out"
assert_grep '^fixed: cl@n3: a clone instance (active/active)' "$T/out"
assert_grep 'no move needed' "$T/out"
# n1 fails: db's standby on n2 is promoted: 0.8 - 0.4 + 2.0 = 2.4 of 4 =
# 60%. A restart would have gone to n3 (1.4 + 2.0 = 85%), n2 being its
# standby's node. n2 or n3 fails: web (1.0) restarts where it is lowest;
# the clone instances and the standby are not restarted: n1's 60% is the
# worst survivor.
assert_grep '^n1 .*absorbable (worst survivor 60%)' "$T/out"
assert_grep '^n2 .*absorbable (worst survivor 60%)' "$T/out"
assert_grep '^n3 .*absorbable (worst survivor 60%)' "$T/out"
assert_no_grep 'no series' "$T/err" "a clone instance's series was missed"

# N+M: with spare_nodes = 1 n1's failure leaves n2 2.4 and n3 1.4 of 4
# cores: 4.2 free, at least one node's 4: absorbable. Two spare nodes need
# 8: not.
write_config 'estimate = "latest"
z = 0
spare_nodes = 1'
balance --once --dry-run --explain || fail "dry run (spare_nodes 1) failed"
assert_grep '^spare nodes 1: ' "$T/out"
assert_grep '^n1 .*absorbable (worst survivor 60%)' "$T/out"
write_config 'estimate = "latest"
z = 0
spare_nodes = 2'
balance --once --dry-run --explain || fail "dry run (spare_nodes 2) failed"
assert_grep '^n1 .*NOT absorbable' "$T/out"
