# t/balance-lib.sh: helpers for the balancer's integration tests (sourced
# after t/lib.sh). A cluster is a CIB file (CIB_file) handled by the real
# Pacemaker tools; crm_simulate plays the cluster's part (starting what the
# scheduler decides, failing nodes). RRD inputs come from balance-mkrrd
# (librrd).

BAL=$top_builddir/patmon-balance
MKRRD=$top_builddir/t/balance-mkrrd
[ -x "$BAL" ] || fail "patmon-balance not built"
[ -x "$MKRRD" ] || fail "balance-mkrrd not built"
RRD=$T/rrd
mkdir -p "$RRD"

# need_pacemaker: the Pacemaker tools, on a CIB file of this test.
need_pacemaker() {
  need_cmd cibadmin crm_mon crm_resource crm_simulate crm_attribute crm_standby
  export CIB_file=$T/cib.xml
}

# cib_init STRATEGY: an empty cluster without fencing or quorum, resources
# sticky (100), placement-strategy STRATEGY.
cib_init() {
  cibadmin --empty >"$CIB_file" || fail "cibadmin --empty"
  crm_attribute -n stonith-enabled -v false
  crm_attribute -n no-quorum-policy -v ignore
  crm_attribute -n placement-strategy -v "$1"
  cibadmin --create -o configuration --xml-text \
    '<rsc_defaults><meta_attributes id="rsc-options"><nvpair id="rsc-options-stickiness" name="resource-stickiness" value="100"/></meta_attributes></rsc_defaults>' ||
    fail "rsc_defaults"
}

# cib_node ID NAME CPU: a node with a cpu utilization (its capacity).
cib_node() {
  cibadmin --create -o nodes --xml-text \
    "<node id=\"$1\" uname=\"$2\"><utilization id=\"$2-u\"><nvpair id=\"$2-u-cpu\" name=\"cpu\" value=\"$3\"/></utilization></node>" ||
    fail "node $2"
}

# primitive_xml ID [CPU]: a Dummy resource, with a cpu utilization if given.
primitive_xml() {
  local u=""
  [ -n "${2:-}" ] && u="<utilization id=\"$1-u\"><nvpair id=\"$1-u-cpu\" name=\"cpu\" value=\"$2\"/></utilization>"
  echo "<primitive id=\"$1\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">$u</primitive>"
}

cib_primitive() {
  cibadmin --create -o resources --xml-text "$(primitive_xml "$@")" || fail "primitive $1"
}

# start_on NODE... -- RSC:NODE...: brings the nodes online and starts each
# resource on its node (a temporary move, applied by crm_simulate, then
# cleared: stickiness keeps them there).
start_on() {
  local up=() r
  while [ "$1" != -- ]; do
    up+=(-u "$1")
    shift
  done
  shift
  for r in "$@"; do
    crm_resource --move -r "${r%%:*}" -N "${r#*:}" >/dev/null 2>&1 || fail "place $r"
  done
  simulate "${up[@]}"
  for r in "$@"; do crm_resource --clear -r "${r%%:*}" >/dev/null 2>&1; done
}

# simulate [crm_simulate options]: the cluster acts on the CIB (the
# transition is executed) and the result becomes the CIB.
simulate() {
  crm_simulate -x "$CIB_file" -S "$@" -O "$T/sim.xml" >"$T/sim.out" 2>&1 ||
    fail "crm_simulate $*: $(cat "$T/sim.out")"
  cp "$T/sim.xml" "$CIB_file"
}

# where RSC: the node crm_mon says RSC runs on (empty when stopped: its
# element then closes itself).
where() {
  crm_mon -1 --output-as=xml | awk -v id="<resource id=\"$1\"" '
    index($0, id) { inside = ($0 !~ /\/>$/); next }
    inside && /<node name=/ { sub(/.*<node name="/, ""); sub(/".*/, ""); print; exit }
    inside && /<\/resource>/ { exit }'
}

# constraints: the constraints section.
constraints() { cibadmin -Q -o constraints; }

# node_rrd HOST PERCENT: the node's CPU use (collectd cpu plugin, ReportByCpu
# false, ValuesPercentage true).
node_rrd() {
  "$MKRRD" "$RRD/$1/cpu/percent-active.rrd" 10 600 GAUGE "value=$2" ||
    fail "rrd $1"
}

# svc_rrd HOST RSC CORES: a service's CPU (the pattern plugin, like the
# processes plugin: microseconds per second in user and syst).
svc_rrd() {
  local us
  us=$(awk -v c="$3" 'BEGIN { printf "%.0f", c * 1e6 }')
  "$MKRRD" "$RRD/$1/processes-$2/ps_cputime.rrd" 10 600 DERIVE \
    "user=$((us / 2))" "syst=$((us - us / 2))" || fail "rrd $1 $2"
}

# base_config [EXTRA LINES]: the balancer's configuration for this test
# (its files under $T, a short window on a 10 s grid) and EXTRA LINES.
base_config() {
  cat >"$T/balance.conf" <<EOF
# written by $(basename "$0")
execute = true
data_dir = "$RRD"
state_file = "$T/state"
journal = "$T/journal"
availability_journal = "$T/avail.journal"
lock_file = "$T/lock"
window = 900
step = 10
horizon = 60
stale = 300
$*
EOF
}

# write_config [EXTRA LINES]: the same with the pacemaker executor.
write_config() {
  base_config "executor pacemaker {
  lifetime = \"PT10M\"
  timeout = 30
}
$*"
}

# balance ARGS...: runs patmon-balance with this test's configuration,
# output in $T/out and $T/err.
balance() {
  "$BAL" -c "$T/balance.conf" "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  note "patmon-balance $* (exit $rc)"
  sed 's/^/#   /' "$T/out" "$T/err"
  return $rc
}
