#!/bin/bash
# Resource patterns with the real Pacemaker tools on a CIB file (no cluster
# runs here): crm_mon and cibadmin as patmon-expand runs them, a resource
# group moved with crm_resource and placed by crm_simulate, and the data
# volume of a Filesystem resource following it to the other node.
. "$top_srcdir/t/lib.sh"
need_integration
need_cmd cibadmin crm_simulate crm_mon crm_resource crm_attribute

export CIB_file=$T/cib.xml
cibadmin --empty > "$CIB_file" || fail "cibadmin --empty"
crm_attribute -n stonith-enabled -v false > /dev/null
crm_attribute -n no-quorum-policy -v ignore > /dev/null
for n in 1 2; do
  cibadmin --create -o nodes --xml-text "<node id=\"$n\" uname=\"node$n\"/>" || fail "add node$n"
done
cibadmin --create -o resources --xml-text '
<group id="nfs-group">
  <primitive id="nfs-data" class="ocf" provider="heartbeat" type="Filesystem">
    <instance_attributes id="nfs-data-ia">
      <nvpair id="nfs-data-dev" name="device" value="/dev/vg0/nfs"/>
      <nvpair id="nfs-data-dir" name="directory" value="/srv/nfs"/>
      <nvpair id="nfs-data-fs" name="fstype" value="xfs"/>
    </instance_attributes>
  </primitive>
  <primitive id="nfs-ip" class="ocf" provider="heartbeat" type="IPaddr2">
    <instance_attributes id="nfs-ip-ia"><nvpair id="nfs-ip-ip" name="ip" value="192.0.2.10"/></instance_attributes>
  </primitive>
</group>' || fail "add nfs-group"
cibadmin --create -o resources --xml-text '
<primitive id="db-vg" class="ocf" provider="heartbeat" type="LVM-activate">
  <instance_attributes id="db-vg-ia"><nvpair id="db-vg-vg" name="vgname" value="vgdb"/></instance_attributes>
</primitive>' || fail "add db-vg"
cibadmin --create -o constraints --xml-text \
  '<rsc_location id="nfs-prefers-node1" rsc="nfs-group" node="node1" score="100"/>' || fail "constraint"
cibadmin --create -o constraints --xml-text \
  '<rsc_location id="db-prefers-node2" rsc="db-vg" node="node2" score="100"/>' || fail "constraint"
# Bring both nodes up and start everything where it prefers to run.
crm_simulate -x "$CIB_file" -S -u node1 -u node2 -O "$T/live.xml" > "$T/sim.log" 2>&1 ||
  fail "crm_simulate: $(tail -5 "$T/sim.log")"
cp "$T/live.xml" "$CIB_file"

cat > "$T/p.conf" <<'EOF'
pattern "volumes" {
  class = resource
  match = { "AGENT==ocf:heartbeat:Filesystem|ocf:heartbeat:LVM-activate" }
  name  = "$param{directory}"
}
pattern "others" { class = resource }
EOF
expand=$top_builddir/patmon-expand
"$expand" -p "$T/p.conf" -n node1 > "$T/n1" || fail "expand node1"
cat > "$T/want" <<'EOF'
volumes	resource	srv-nfs	nfs-data
others	resource	nfs-ip	nfs-ip
EOF
diff -u "$T/want" "$T/n1" || fail "node1 expansion differs"
"$expand" -p "$T/p.conf" -n node2 > "$T/n2" || fail "expand node2"
printf 'volumes\tresource\tdb-vg\tdb-vg\n' > "$T/want"
diff -u "$T/want" "$T/n2" || fail "node2 expansion differs"
"$expand" -p "$T/p.conf" -n node1 -f json > "$T/json"
assert_grep '"volume": {"device": "/dev/vg0/nfs", "directory": "/srv/nfs"}' "$T/json"
# The local node can come from the pattern file too.
{ echo 'node = "node2"'; cat "$T/p.conf"; } > "$T/p2.conf"
"$expand" -p "$T/p2.conf" > "$T/n2b" || fail "expand with node in file"
diff -u "$T/n2" "$T/n2b" || fail "node from the pattern file differs"

# Migrate the NFS group to node2 the way an operator would, let the
# scheduler place it, and expand again: the volume followed the service.
crm_resource --move -r nfs-group -N node2 > "$T/move.log" 2>&1 || fail "crm_resource --move: $(cat "$T/move.log")"
crm_simulate -x "$CIB_file" -S -O "$T/moved.xml" > "$T/sim2.log" 2>&1 || fail "crm_simulate after move"
cp "$T/moved.xml" "$CIB_file"
crm_mon -1 --output-as=xml > "$T/mon.xml"
grep -A1 'id="nfs-data"' "$T/mon.xml" | grep -q 'name="node2"' || fail "nfs-data did not move: $(cat "$T/mon.xml")"
"$expand" -p "$T/p.conf" -n node1 > "$T/n1" || fail "expand node1 after move"
[ -s "$T/n1" ] && fail "node1 still has resources: $(cat "$T/n1")"
"$expand" -p "$T/p.conf" -n node2 > "$T/n2" || fail "expand node2 after move"
assert_grep "volumes	resource	srv-nfs	nfs-data" "$T/n2"
assert_grep "volumes	resource	db-vg	db-vg" "$T/n2"
assert_grep "others	resource	nfs-ip	nfs-ip" "$T/n2"

# No cluster and no CIB file: nothing, and the explanation says why.
CIB_file=$T/missing.xml "$expand" -p "$T/p.conf" -n node1 --explain > "$T/explain"
assert_grep "resource: 0 objects; crm_mon listed no resources: Could not connect to the CIB" "$T/explain"
echo "PASS: resources through crm_mon and the CIB, following a migration"
