#!/usr/bin/env bash
# Regenerates cib.xml and crm_mon.xml here with the real Pacemaker tools
# (pacemaker-cli-utils, no cluster: CIB_file). check_balancer parses them.
#
# Nodes: n1 n2 online, n3 maintenance, n4 standby, n5 offline.
# Resources: a b c primitives, g a group (g1 g2), cl a clone, u unmanaged,
# s stopped by target-role, w stopped (wanted: banned from every node but
# n5), v colocated with a, x apart from b, y with the clone, z pinned.
# Constraints cover node scores, rules on #uname and on a node attribute, a
# rule with an unknown expression, an expired lifetime (cli-prefer with a
# date), a cli-ban.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CIB_file=$tmp/cib.xml TZ=UTC LC_ALL=C
cibadmin --empty >"$CIB_file"
crm_attribute -n stonith-enabled -v false
crm_attribute -n no-quorum-policy -v ignore
crm_attribute -n placement-strategy -v balanced
cibadmin --create -o configuration --xml-text \
  '<rsc_defaults><meta_attributes id="rsc-options"><nvpair id="rsc-options-stickiness" name="resource-stickiness" value="100"/></meta_attributes></rsc_defaults>'
for i in 1 2 3 4 5; do
  cibadmin --create -o nodes --xml-text \
    "<node id=\"$i\" uname=\"n$i\"><utilization id=\"n$i-u\"><nvpair id=\"n$i-u-cpu\" name=\"cpu\" value=\"8\"/><nvpair id=\"n$i-u-mem\" name=\"memory\" value=\"16384\"/></utilization></node>"
done
crm_attribute -N n2 -n rack -v r2 -l forever
prim() {
  echo "<primitive id=\"$1\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"><utilization id=\"$1-u\"><nvpair id=\"$1-u-cpu\" name=\"cpu\" value=\"${2:-1}\"/></utilization></primitive>"
}
for r in a b c u s w v x y z; do cibadmin --create -o resources --xml-text "$(prim $r)"; done
cibadmin --create -o resources --xml-text "<group id=\"g\">$(prim g1 2)$(prim g2 1)</group>"
cibadmin --create -o resources --xml-text "<clone id=\"cl\">$(prim cp)</clone>"
cons() { cibadmin --create -o constraints --xml-text "$1"; }
cons '<rsc_colocation id="v-with-a" rsc="v" with-rsc="a" score="INFINITY"/>'
cons '<rsc_colocation id="x-apart-b" rsc="x" with-rsc="b" score="-INFINITY"/>'
cons '<rsc_colocation id="y-with-cl" rsc="y" with-rsc="cl" score="INFINITY"/>'
cons '<rsc_colocation id="c-likes-a" rsc="c" with-rsc="a" score="50"/>'
cons '<rsc_location id="pin-z" rsc="z" node="n2" score="INFINITY"/>'
cons '<rsc_location id="c-not-n2" rsc="c" node="n2" score="-INFINITY"/>'
cons '<rsc_location id="c-likes-n1" rsc="c" node="n1" score="100"/>'
cons '<rsc_location id="w-only-n5" rsc="w"><rule id="w-only-n5-r" score="-INFINITY"><expression id="w-only-n5-e" attribute="#uname" operation="ne" value="n5"/></rule></rsc_location>'
cons '<rsc_location id="g-not-rack2" rsc="g"><rule id="g-not-rack2-r" score="-INFINITY"><expression id="g-not-rack2-e" attribute="rack" operation="eq" value="r2"/></rule></rsc_location>'
cons '<rsc_location id="b-odd" rsc="b"><rule id="b-odd-r" score="INFINITY"><expression id="b-odd-e" attribute="#uname" operation="eq" value="n1" value-source="param"/></rule></rsc_location>'
cons '<rsc_location id="cli-prefer-a" rsc="a" role="Started"><rule id="cli-prefer-rule-a" score="INFINITY" boolean-op="and"><expression id="cli-prefer-expr-a" attribute="#uname" operation="eq" value="n1" type="string"/><date_expression id="cli-prefer-lifetime-end-a" operation="lt" end="2020-01-01 00:00:00Z"/></rule></rsc_location>'
crm_resource --ban -r x -N n2 >/dev/null 2>&1
# Start everything (n1 and n2 take what they can; n3 and n4 come up empty).
crm_simulate -x "$CIB_file" -S -u n1 -u n2 -u n3 -u n4 -O "$tmp/up.xml" >/dev/null
cp "$tmp/up.xml" "$CIB_file"
cibadmin --modify -o resources --xml-text \
  '<primitive id="u"><meta_attributes id="u-m"><nvpair id="u-m-managed" name="is-managed" value="false"/></meta_attributes></primitive>'
cibadmin --modify -o resources --xml-text \
  '<primitive id="s"><meta_attributes id="s-m"><nvpair id="s-m-role" name="target-role" value="Stopped"/></meta_attributes></primitive>'
crm_attribute -N n3 -n maintenance -v true -l forever
crm_standby -N n4 -v on
crm_simulate -x "$CIB_file" -S -O "$tmp/final.xml" >/dev/null
cp "$tmp/final.xml" "$here/cib.xml"
CIB_file=$here/cib.xml crm_mon -1 --output-as=xml |
  sed 's/<last_update time="[^"]*"/<last_update time="(fixture)"/' >"$here/crm_mon.xml"
echo "wrote $here/cib.xml and $here/crm_mon.xml"

# promotable-*.xml: n1 n2 n3 online; db-clone a promotable clone of two
# instances (promoted on n1 by a role location, unpromoted on n2), web on n3.
export CIB_file=$tmp/prom.xml
cibadmin --empty >"$CIB_file"
crm_attribute -n stonith-enabled -v false
crm_attribute -n no-quorum-policy -v ignore
for i in 1 2 3; do cibadmin --create -o nodes --xml-text "<node id=\"$i\" uname=\"n$i\"/>"; done
cibadmin --create -o resources --xml-text \
  '<clone id="db-clone"><meta_attributes id="db-m"><nvpair id="db-m-p" name="promotable" value="true"/><nvpair id="db-m-cm" name="clone-max" value="2"/></meta_attributes><primitive id="db" class="ocf" provider="pacemaker" type="Stateful"/></clone>'
cibadmin --create -o resources --xml-text "$(prim web)"
cons '<rsc_location id="web-on-n3" rsc="web" node="n3" score="50"/>'
cons '<rsc_location id="db-promoted-n1" rsc="db-clone" role="Promoted" node="n1" score="100"/>'
cons '<rsc_location id="db-on-n1" rsc="db-clone" node="n1" score="50"/>'
cons '<rsc_location id="db-on-n2" rsc="db-clone" node="n2" score="40"/>'
crm_simulate -x "$CIB_file" -S -u n1 -u n2 -u n3 -O "$tmp/prom-up.xml" >/dev/null
crm_simulate -x "$tmp/prom-up.xml" -S -O "$here/promotable-cib.xml" >/dev/null
CIB_file=$here/promotable-cib.xml crm_mon -1 --output-as=xml |
  sed 's/<last_update time="[^"]*"/<last_update time="(fixture)"/' >"$here/promotable-crm_mon.xml"
echo "wrote $here/promotable-cib.xml and $here/promotable-crm_mon.xml"
