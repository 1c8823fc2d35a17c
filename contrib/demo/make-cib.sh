#!/bin/bash
# How contrib/demo/cib.xml was made (run by hand; the demo uses the result):
# three nodes of 2 cores (utilization cpu=2; the demo sets demo1's to this
# machine's cores), and four services that prefer where they start.
set -eu
export CIB_file=${1:-cib.xml}
cibadmin --empty > "$CIB_file"
crm_attribute -n stonith-enabled -v false > /dev/null
crm_attribute -n no-quorum-policy -v ignore > /dev/null
for n in 1 2 3; do
  cibadmin --create -o nodes --xml-text \
    "<node id=\"$n\" uname=\"demo$n\"><utilization id=\"demo$n-u\"><nvpair id=\"demo$n-cpu\" name=\"cpu\" value=\"2\"/></utilization></node>"
done
place() { # resource node
  cibadmin --create -o resources --xml-text \
    "<primitive id=\"$1\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>"
  cibadmin --create -o constraints --xml-text \
    "<rsc_location id=\"$1-home\" rsc=\"$1\" node=\"$2\" score=\"50\"/>"
}
place patmon-load demo1
place db demo2
place cache demo2
place mail demo3
