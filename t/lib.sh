# t/lib.sh: helpers for integration tests (sourced by bash scripts).
# Exit codes follow automake: 0 pass, 77 skip, 99 hard error, other fail.

set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?run through make check}"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*"; }

need_integration() {
  [ "${PATMON_INTEGRATION:-1}" = 0 ] && skip "integration tests disabled (PATMON_INTEGRATION=0)"
  return 0
}
need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root: $*"; }
need_cmd() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done
}
# kernel_objects: this test makes kernel objects (zram, loop, veth, mounts)
# or listens to the kernel's events, which are the whole machine's: it runs
# alone among such tests. make check -j runs tests side by side, and one
# test's zram1, removed, is the next one's new zram1. The lock is held until
# the test and every child that inherited it exit; a wait is noted.
kernel_objects() {
  [ -n "${PATMON_KERNEL_LOCKED:-}" ] && return 0
  local lock=$top_builddir/t/kernel-objects.lock t0=$SECONDS
  exec 9>> "$lock" || fail "cannot open $lock"
  flock -w 1800 9 || fail "$lock: still held after 1800 s (a test's process left running?)"
  export PATMON_KERNEL_LOCKED=1
  [ $((SECONDS - t0)) -lt 1 ] || note "waited $((SECONDS - t0)) s for another test's kernel objects"
}

# A private work dir removed at exit, and pids and commands to clean up.
# Inside a sandbox (t/cluster-lib.sh) the script that made it owns $T.
if [ -n "${PATMON_T:-}" ]; then
  T=$PATMON_T
else
  T=$(mktemp -d "${TMPDIR:-/tmp}/patmon-test.XXXXXX")
fi
_cleanups=()
at_exit() { _cleanups+=("$*"); }
_run_cleanups() {
  local i
  for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[i]}" >/dev/null 2>&1 || true; done
  [ -n "${PATMON_T:-}" ] || rm -rf "$T"
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

# How long a test waits for anything that should happen at once: generous,
# so that a busy 2-core machine (a build beside the tests) does not fail
# them; the time it really took is noted where it matters.
WAIT=${PATMON_TEST_WAIT:-30}

# wait_for SECONDS CMD...: polls CMD every 20 ms until it succeeds; the time
# it took, in ms, is left in $waited_ms.
wait_for() {
  local start=${EPOCHREALTIME//[.,]/}
  local deadline=$((start + $1 * 1000000))
  shift
  while ! "$@"; do
    if [ "${EPOCHREALTIME//[.,]/}" -ge "$deadline" ]; then
      waited_ms=$(((${EPOCHREALTIME//[.,]/} - start) / 1000))
      return 1
    fi
    sleep 0.02
  done
  waited_ms=$(((${EPOCHREALTIME//[.,]/} - start) / 1000))
}

# zram_add: hot-adds a zram disk, its index in $zram_n; zram_remove N
# removes it. Disks still there are removed at exit, once: an index removed
# twice may by then be another test's disk.
_zrams=()
zram_add() {
  zram_n=$(cat /sys/class/zram-control/hot_add) || return 1
  _zrams+=("$zram_n")
}
zram_remove() {
  local i
  echo "$1" > /sys/class/zram-control/hot_remove || return 1
  for i in "${!_zrams[@]}"; do [ "${_zrams[i]}" != "$1" ] || unset '_zrams[i]'; done
}
at_exit 'for z in "${_zrams[@]}"; do echo "$z" > /sys/class/zram-control/hot_remove; done'

# A free loopback port (TCP and UDP).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    [ -z "$(ss -Hantu "sport = :$p")" ] && { echo "$p"; return; }
  done
}

# assert_grep PATTERN FILE [MESSAGE]
assert_grep() { grep -q -- "$1" "$2" || fail "${3:-expected /$1/ in $2}"; }
assert_no_grep() { ! grep -q -- "$1" "$2" || fail "${3:-unexpected /$1/ in $2}"; }

# collectd_conf FILE HOST [nocsv]: a private collectd configuration under $T
# (foreground-friendly, Interval 1, log to $T/collectd.log, csv under $T/csv
# unless nocsv, unixsock at $T/collectd.sock). Append plugin blocks after it.
collectd_conf() {
  mkdir -p "$T/csv"
  local csv="LoadPlugin csv
<Plugin csv>
  DataDir \"$T/csv\"
</Plugin>"
  # Without a writer collectd 5.12 logs "Available write targets" for every
  # value; a post-cache chain that stops keeps values cached, unwritten.
  [ "${3:-}" = nocsv ] && csv='PostCacheChain "nowrite"
<Chain "nowrite">
  Target "stop"
</Chain>'
  cat > "$1" <<EOC
Hostname "$2"
FQDNLookup false
BaseDir "$T"
PIDFile "$T/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  File "$T/collectd.log"
  LogLevel info
</Plugin>
$csv
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "$T/collectd.sock"
  SocketGroup "root"
</Plugin>
EOC
}

# standin_systemd UNITS-FILE: a private dbus-daemon with t/standin-systemd
# owning org.freedesktop.systemd1 on it (systemd cannot be PID 1 on the test
# machines); exports DBUS_SYSTEM_BUS_ADDRESS and sets $standin to its pid.
standin_systemd() {
  need_cmd dbus-daemon
  cat > "$T/bus.conf" <<EOB
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOB
  dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile > "$T/dbus.log" 2>&1 &
  at_exit "kill $!"
  wait_for "$WAIT" test -S "$T/bus" || fail "dbus-daemon did not start: $(cat "$T/dbus.log")"
  export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus"
  "$top_builddir/t/standin-systemd" "$1" > "$T/standin.out" 2>&1 &
  standin=$!
  at_exit "kill $standin"
  wait_for "$WAIT" grep -q ready "$T/standin.out" || fail "stand-in did not start: $(cat "$T/standin.out")"
}

# ha_cib DEV DIR: a two-node CIB file (this node and "othernode") at
# $T/cib.xml, exported as CIB_file, with one Filesystem resource data-fs (in
# group data-group) mounting DEV on DIR, placed on the other node.
ha_cib() {
  export CIB_file=$T/cib.xml
  cibadmin --empty > "$CIB_file"
  crm_attribute -n stonith-enabled -v false > /dev/null
  crm_attribute -n no-quorum-policy -v ignore > /dev/null
  cibadmin --create -o nodes --xml-text "<node id=\"1\" uname=\"$(uname -n)\"/>"
  cibadmin --create -o nodes --xml-text '<node id="2" uname="othernode"/>'
  cibadmin --create -o resources --xml-text "
<group id=\"data-group\">
  <primitive id=\"data-fs\" class=\"ocf\" provider=\"heartbeat\" type=\"Filesystem\">
    <instance_attributes id=\"data-fs-ia\">
      <nvpair id=\"data-fs-dev\" name=\"device\" value=\"$1\"/>
      <nvpair id=\"data-fs-dir\" name=\"directory\" value=\"$2\"/>
      <nvpair id=\"data-fs-type\" name=\"fstype\" value=\"ext4\"/>
    </instance_attributes>
  </primitive>
</group>" || fail "cibadmin resources"
  ha_move othernode
}

# ha_move NODE: moves data-group to NODE and lets the CIB file show it
# running there.
ha_move() {
  crm_resource --move -r data-group -N "$1" > /dev/null 2>&1 || fail "move to $1"
  crm_simulate -x "$CIB_file" -S -u "$(uname -n)" -u othernode -O "$T/cib.next" > /dev/null 2>&1 ||
    fail "crm_simulate"
  cp "$T/cib.next" "$CIB_file"
}

# ha_alert TASK SOCKET: the real alert agent, run as Pacemaker runs it,
# tells patmon at SOCKET that data-fs did TASK (start, stop) on this node.
ha_alert() {
  CRM_alert_kind=resource CRM_alert_rsc=data-fs CRM_alert_node="$(uname -n)" \
    CRM_alert_task=$1 CRM_alert_rc=0 CRM_alert_target_rc=0 CRM_alert_status=0 \
    CRM_alert_recipient="$2" "$top_builddir/contrib/pacemaker/patmon-alert" ||
    fail "alert agent failed"
}
