# t/cluster-lib.sh: a live Corosync/Pacemaker cluster of N nodes on this
# machine, the test bed of the live tests (t/live-*.sh) and of the demo.
# Sourced after t/lib.sh (fail, note, wait_for, at_exit, $T, top_srcdir,
# top_builddir).
#
# Everything runs inside one private sandbox (network, mount and PID
# namespaces; cluster_sandbox): nothing is created in the machine's own
# network namespace and every process dies with the sandbox. Inside it:
#
#   br0 10.99.0.254   the hub: a central collectd (network plugin in, RRD
#                     files out, in $CL/rrd) as a real deployment has
#   nodeN 10.99.0.N   one node per network, mount, UTS and PID namespace,
#                     process 1 t/cluster-init; corosync (knet, token
#                     1000 ms), pacemakerd, and a collectd with the pattern,
#                     forecast, processes and network plugins
#
# Each node has its own /run, /dev/shm, /var/lib/pacemaker, /var/lib/corosync,
# /etc/corosync and logs (tmpfs or bind mounts of $CL/nodeN/...), its own
# /proc (its PID namespace) and sees the OCF agent ocf:patmon:load. The CIB
# starts with patmon-alert in <alerts> for resource events (the pattern
# plugin's socket) and node events (the balancer daemon's socket).
#
# What differs from a real deployment: the nodes share two cores and one
# kernel, so /proc/stat (collectd's cpu plugin) is the machine's, not the
# node's. A node's CPU is measured instead as the sum over every process of
# its PID namespace (collectd's processes plugin, ProcessMatch "all" ".*",
# series <node>/processes-all/ps_cputime), and capacities are fractions of
# a core. The RRD tree is one directory every node sees (a shared file
# system in a real cluster).

CL_BUILD=$top_builddir
CL=$T/cluster
CL_NET=10.99.0
CL_HUB=$CL_NET.254
CL_N=0
CL_ALERT=$CL_BUILD/contrib/pacemaker/patmon-alert

# cluster_need: whether a cluster can run here; else 1 with the reason in
# $cluster_why (the caller skips, or the demo falls back).
cluster_need() {
  cluster_why=""
  if [ "$(id -u)" -ne 0 ]; then
    cluster_why="needs root (namespaces, a bridge, mounts)"
    return 1
  fi
  local c
  for c in unshare nsenter ip mount corosync corosync-cmapctl pacemakerd crm_mon \
    cibadmin crm_resource crm_attribute crm_node collectd collectdctl rrdtool; do
    command -v "$c" > /dev/null 2>&1 || {
      cluster_why="needs $c"
      return 1
    }
  done
  [ -e /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs ] || {
    cluster_why="needs resource-agents (ocf-shellfuncs)"
    return 1
  }
  id hacluster > /dev/null 2>&1 || {
    cluster_why="needs the hacluster user (package pacemaker)"
    return 1
  }
  for c in t/cluster-init contrib/load/patmon-load contrib/pacemaker/load \
    contrib/pacemaker/patmon-alert .libs/pattern.so .libs/forecast.so; do
    [ -e "$CL_BUILD/$c" ] || {
      cluster_why="$CL_BUILD/$c is not built"
      return 1
    }
  done
  # hacluster runs the alert agent: it must reach it.
  su -s /bin/sh hacluster -c "test -x '$CL_ALERT'" 2> /dev/null || {
    cluster_why="hacluster cannot run $CL_ALERT (a directory on its path is not searchable)"
    return 1
  }
  return 0
}

# cluster_sandbox "$@": re-runs the calling script inside a private sandbox
# (network, mount and PID namespaces) and exits with its status; inside it
# returns at once. $T is shared. What cannot die with the sandbox (loop
# devices: host-wide) is listed in $T/host-cleanup and undone here.
cluster_sandbox() {
  if [ -n "${PATMON_SANDBOX:-}" ]; then
    ip link set lo up || fail "sandbox: no loopback"
    return 0
  fi
  : > "$T/host-cleanup"
  # --kill-child: the sandbox's process 1 dies with unshare, and everything
  # in the sandbox with it.
  PATMON_SANDBOX=1 PATMON_T=$T unshare --net --mount --pid --fork --kill-child \
    --mount-proc --propagation private bash "$0" "$@"
  local rc=$? what
  while read -r what; do
    [ -n "$what" ] && eval "$what" > /dev/null 2>&1
  done < "$T/host-cleanup"
  exit $rc
}

# cluster_test "$@": what a live test starts with: skipped when
# integration tests are off or a cluster cannot run here, then in its
# sandbox.
cluster_test() {
  need_integration
  cluster_need || skip "$cluster_why"
  cluster_sandbox "$@"
  # Notes carry the seconds since the test began: where its time goes.
  note() { echo "# [$SECONDS s] $*"; }
}

# host_cleanup CMD: runs CMD after the sandbox is gone too (loop devices).
host_cleanup() { echo "$*" >> "$T/host-cleanup"; }

# ---- configuration ----------------------------------------------------------

# cluster_write_cib FILE: the initial CIB every node starts with: no fencing
# (one kernel: nothing to fence), a fast first DC election, sticky
# resources, and patmon-alert for resource and node events.
cluster_write_cib() {
  local f=$1
  CIB_file=$f cibadmin --empty > "$f" || fail "cibadmin --empty"
  CIB_file=$f crm_attribute -n dc-deadtime -v 2s > /dev/null
  CIB_file=$f crm_attribute -n stonith-enabled -v false > /dev/null
  CIB_file=$f crm_attribute -n cluster-recheck-interval -v 1min > /dev/null
  CIB_file=$f cibadmin --create -o configuration --xml-text \
    '<rsc_defaults><meta_attributes id="rsc-options"><nvpair id="rsc-options-stickiness" name="resource-stickiness" value="100"/></meta_attributes></rsc_defaults>' ||
    fail "rsc_defaults"
  # Node alerts no balancer heard wait in $CL/shared/balance.spool.
  sed -e "s|/usr/libexec/patmon/patmon-alert|$CL_ALERT|" \
    -e "s|name=\"patmon_spool\" value=\"\"|name=\"patmon_spool\" value=\"$CL/shared/balance.spool\"|" \
    "$top_srcdir/contrib/pacemaker/alerts.xml" > "$CL/alerts.xml"
  CIB_file=$f cibadmin --create -o configuration --xml-file "$CL/alerts.xml" || fail "alerts"
  chown hacluster:haclient "$f"
  chmod 0600 "$f"
}

# The pattern file of every node: load generators (one entry per resource,
# named after it from the command line the OCF agent gives them) and the
# resources running here with their data volumes.
cluster_write_patterns() {
  cat > "$CL/patterns.conf" << 'EOF'
# Every node of the test cluster. A load generator started by ocf:patmon:load
# runs as "patmon-load -n RESOURCE ...": its entry is named after the resource
# (processes-RESOURCE/ps_cputime, what patmon-balance reads per service).
pattern "loads" {
  class = process
  match = { "CMDLINE=~\\S*patmon-load -n (\\S+)( .*)?" }
  name = "%1"
  metrics = { cpu }
}
# Resources running here (their data volumes: df-MOUNT, disk-KERNEL).
pattern "resources" {
  class = resource
  match = { "RSC==*" }
  exclude = { "AGENT==ocf:patmon:load" }
}
EOF
}

# cluster_write_node N: node N's directories, corosync.conf, collectd.conf.
cluster_write_node() {
  local n=$1 nd=$CL/node$1 i
  mkdir -p "$nd"/{lib-pacemaker/{cib,pengine,blackbox,cores},lib-corosync,etc-corosync,log-pacemaker,log-corosync,collectd}
  chown -R hacluster:haclient "$nd/lib-pacemaker" "$nd/log-pacemaker"
  chmod 0750 "$nd"/lib-pacemaker/{cib,pengine,blackbox,cores}
  chmod 0770 "$nd/log-pacemaker"
  [ -e "$nd/lib-pacemaker/cib/cib.xml" ] || cp -p "$CL/cib-initial.xml" "$nd/lib-pacemaker/cib/cib.xml"
  {
    cat << EOF
totem {
  version: 2
  cluster_name: patmon
  transport: knet
  crypto_cipher: none
  crypto_hash: none
  token: 1000
}
logging {
  to_stderr: no
  to_syslog: no
  to_logfile: yes
  logfile: /var/log/corosync/corosync.log
  timestamp: on
}
quorum {
  provider: corosync_votequorum
}
nodelist {
EOF
    for ((i = 1; i <= CL_N; i++)); do
      printf '  node {\n    name: node%d\n    nodeid: %d\n    ring0_addr: %s.%d\n  }\n' "$i" "$i" "$CL_NET" "$i"
    done
    echo "}"
  } > "$nd/etc-corosync/corosync.conf"
  cat > "$nd/collectd.conf" << EOF
# node$n: what collectd measures on this node and sends to the hub.
Hostname "node$n"
FQDNLookup false
BaseDir "$nd/collectd"
PIDFile "$nd/collectd/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  File "$nd/collectd.log"
  LogLevel info
</Plugin>
# The node's CPU on this test bed: every process of its PID namespace
# (collectd's cpu plugin would report the whole machine's /proc/stat).
LoadPlugin processes
<Plugin processes>
  ProcessMatch "all" ".*"
</Plugin>
LoadPlugin network
<Plugin network>
  Server "$CL_HUB" "25826"
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "$nd/collectd.sock"
  SocketGroup "root"
</Plugin>
PluginDir "$CL_BUILD/.libs"
LoadPlugin pattern
<Plugin pattern>
  PatternFile "$CL/patterns.conf"
  EntriesFile "$nd/entries.json"
  EventSocket "/run/patmon/events.sock"
  EventSocketGroup "haclient"
  Node "node$n"
  RescanInterval 60
</Plugin>
LoadPlugin forecast
<Plugin forecast>
  <Series>
    Plugin "processes"
    PluginInstance "all"
    Type "ps_cputime"
  </Series>
  Window ${CL_FC_WINDOW:-35}
  Horizon ${CL_FC_HORIZON:-6}
  RefitEvery 5
</Plugin>
EOF
}

# ---- the hub ------------------------------------------------------------------

cluster_hub_start() {
  mkdir -p "$CL/rrd" "$CL/hub"
  cat > "$CL/hub.conf" << EOF
# The hub: receives every node's values and writes the RRD tree.
Hostname "hub"
FQDNLookup false
BaseDir "$CL/hub"
PIDFile "$CL/hub/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  File "$CL/hub.log"
  LogLevel info
</Plugin>
LoadPlugin network
<Plugin network>
  Listen "$CL_HUB" "25826"
</Plugin>
LoadPlugin rrdtool
<Plugin rrdtool>
  DataDir "$CL/rrd"
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "$CL/hub.sock"
  SocketGroup "root"
</Plugin>
# Only what the balancer, the tests and the demo read is written: of the
# processes plugin's values the CPU, of the forecasts those 6 s ahead.
# Everything else would be hundreds of RRD updates a second on two shared
# cores, and the writes fell 15-20 s behind on a busy machine.
LoadPlugin match_regex
<Chain "PreCache">
  <Rule "processes-cpu">
    <Match "regex">
      Plugin "^processes\$"
      Type "^ps_cputime\$"
    </Match>
    Target "return"
  </Rule>
  <Rule "processes-other">
    <Match "regex">
      Plugin "^processes\$"
    </Match>
    Target "stop"
  </Rule>
  <Rule "forecast-h6">
    <Match "regex">
      Plugin "^forecast\$"
      TypeInstance "^h6"
    </Match>
    Target "return"
  </Rule>
  <Rule "forecast-other">
    <Match "regex">
      Plugin "^forecast\$"
    </Match>
    Target "stop"
  </Rule>
</Chain>
EOF
  collectd -f -C "$CL/hub.conf" > "$CL/hub.out" 2>&1 &
  CL_HUB_PID=$!
  wait_for 20 test -S "$CL/hub.sock" || fail "the hub's collectd did not start: $(cat "$CL/hub.out" "$CL/hub.log" 2> /dev/null)"
}

# ---- nodes ----------------------------------------------------------------------

# node_pid N: process 1 of node N (as the sandbox sees it).
node_pid() { cat "$CL/node$1/init.pid" 2> /dev/null; }

# on N CMD...: runs CMD in node N's namespaces (its network, mounts, host
# name, PID namespace), in the foreground, with its exit status.
on() {
  local n=$1 pid
  shift
  pid=$(node_pid "$n")
  [ -n "$pid" ] || {
    echo "node$n is not running" >&2
    return 125
  }
  nsenter -t "$pid" -n -m -u -p -- "$@"
}

# node_boot N: starts node N as if the machine had booted: new namespaces,
# fresh /run and /dev/shm, its network, corosync, pacemakerd and collectd.
# The node's disks (CIB, logs) are kept. Does not wait for the cluster.
node_boot() {
  local n=$1 nd=$CL/node$1 holder pid
  # A killed node's namespaces (and its veth) may take a moment to go.
  wait_for 20 bash -c "! ip link show vn$n > /dev/null 2>&1" || fail "vn$n of the previous node$n is still there"
  # (unshare says "sigprocmask unblock failed" when the node is killed.)
  unshare --net --mount --uts --pid --fork --mount-proc --propagation private \
    "$CL_BUILD/t/cluster-init" 2>> "$nd/holder.err" &
  holder=$!
  echo "$holder" > "$nd/holder.pid"
  wait_for 10 grep -q . "/proc/$holder/task/$holder/children" || fail "node$n: no process 1"
  pid=$(cat "/proc/$holder/task/$holder/children")
  pid=${pid%% *}
  echo "$pid" > "$nd/init.pid"
  ip link add "vn$n" type veth peer name eth0 netns "$pid" || fail "node$n: veth"
  ip link set "vn$n" master br0 up || fail "node$n: bridge port"
  on "$n" bash -s > "$nd/boot.out" 2>&1 << EOF || fail "node$n: setup failed: $(cat "$nd/boot.out")"
set -e
hostname node$n
ip link set lo up
ip addr add $CL_NET.$n/24 dev eth0
ip link set eth0 up
mount -n -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/crm /run/resource-agents /run/patmon
chown hacluster:haclient /run/crm
chmod 0750 /run/crm
mount -n -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -n --bind $nd/lib-pacemaker /var/lib/pacemaker
mount -n --bind $nd/lib-corosync /var/lib/corosync
mount -n --bind $nd/etc-corosync /etc/corosync
mount -n --bind $nd/log-pacemaker /var/log/pacemaker
mount -n --bind $nd/log-corosync /var/log/corosync
# ocf:patmon:load beside the installed agents, in this node only.
mkdir /run/ocf
mount -n --bind /usr/lib/ocf/resource.d /run/ocf
mount -n -t tmpfs -o mode=0755 tmpfs /usr/lib/ocf/resource.d
for d in /run/ocf/*/; do
  d=\${d%/}
  mkdir "/usr/lib/ocf/resource.d/\${d##*/}"
  mount -n --bind "\$d" "/usr/lib/ocf/resource.d/\${d##*/}"
done
mkdir /usr/lib/ocf/resource.d/patmon
sed 's|^: "\${OCF_RESKEY_binary:=.*|: "\${OCF_RESKEY_binary:=$CL_BUILD/contrib/load/patmon-load}"|' \
  $CL_BUILD/contrib/pacemaker/load > /usr/lib/ocf/resource.d/patmon/load
chmod 0755 /usr/lib/ocf/resource.d/patmon/load
EOF
  on "$n" corosync -f > "$nd/corosync.out" 2>&1 &
  wait_for 20 on "$n" corosync-cmapctl -g totem.cluster_name > /dev/null 2>&1 ||
    fail "node$n: corosync did not start: $(cat "$nd/corosync.out"; tail -5 "$nd/log-corosync/corosync.log")"
  on "$n" env PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none \
    pacemakerd > "$nd/pacemakerd.out" 2>&1 &
  on "$n" collectd -f -C "$nd/collectd.conf" > "$nd/collectd.out" 2>&1 &
}

# node_pids N NAME: the pids (node N's own numbering) of its processes
# named NAME.
node_pids() { on "$1" pgrep -x "$2"; }

# node_stop N: stops node N cleanly: pacemakerd (which stops its
# resources, or lets them move), then collectd and corosync, then its
# process 1, and with it the namespaces.
node_stop() {
  local n=$1 holder
  holder=$(cat "$CL/node$n/holder.pid" 2> /dev/null) || return 0
  if kill -0 "$holder" 2> /dev/null; then
    on "$n" pkill -TERM -x pacemakerd
    wait_for 90 bash -c "! nsenter -t $(node_pid "$n") -p -m pgrep -x pacemakerd > /dev/null" ||
      note "node$n: pacemakerd did not stop within 90 s"
    on "$n" pkill -TERM -x collectd
    on "$n" pkill -TERM -x corosync
    wait_for 20 bash -c "! nsenter -t $(node_pid "$n") -p -m pgrep -x 'corosync|collectd' > /dev/null" ||
      note "node$n: corosync or collectd did not stop within 20 s"
    kill -TERM "$(node_pid "$n")" 2> /dev/null
    wait_for 20 bash -c "! kill -0 $holder 2> /dev/null" || kill -KILL "$(node_pid "$n")" 2> /dev/null
  fi
  rm -f "$CL/node$n/init.pid" "$CL/node$n/holder.pid"
}

# node_kill N: node N dies: SIGKILL to every process of it at once (the
# kernel kills all of a PID namespace with its process 1). Prints nothing;
# the time of the kill is the caller's to take.
node_kill() {
  local n=$1 holder
  holder=$(cat "$CL/node$n/holder.pid")
  kill -KILL "$(node_pid "$n")"
  wait_for 10 bash -c "! kill -0 $holder 2> /dev/null" || fail "node$n did not die"
  rm -f "$CL/node$n/init.pid" "$CL/node$n/holder.pid"
}

# ---- the cluster -----------------------------------------------------------------

# crm CMD...: a Pacemaker command on the first live node (outside its PID
# namespace); crm_from N CMD...: the same, from node N on (a node that has
# just rejoined may still be taking the cluster's CIB: a change made there
# can be lost in that sync).
crm() { crm_from 1 "$@"; }
crm_from() {
  local n
  for ((n = $1; n <= CL_N; n++)); do
    [ -n "$(node_pid "$n")" ] && kill -0 "$(node_pid "$n")" 2> /dev/null || continue
    # The node's network and mounts (Pacemaker's IPC), not its PID
    # namespace: the tests' own crm_mon and cibadmin calls, every 20 ms
    # while they wait, must not count as that node's CPU.
    shift
    nsenter -t "$(node_pid "$n")" -n -m -u -- "$@"
    return
  done
  echo "no node is running" >&2
  return 125
}

# cluster_online K: whether crm_mon shows K nodes online and quorum.
cluster_online() {
  local x
  x=$(crm crm_mon -1 --output-as=xml 2> /dev/null) || return 1
  grep -q 'with_quorum="true"' <<< "$x" || return 1
  [ "$(grep -c '<node name=.* online="true"' <<< "$x")" -ge "$1" ]
}

# cluster_start [N]: N nodes (3) online with quorum; sets CL_N, CL_READY_S
# (seconds from the first corosync to ready). Stopped by cluster_stop, also
# at exit.
cluster_start() {
  CL_N=${1:-3}
  local n t0
  mkdir -p "$CL/shared"
  # Alert agents run as hacluster: they may pass through $T to shared/.
  chmod 0711 "$T" "$CL"
  chmod 0777 "$CL/shared"
  cluster_write_cib "$CL/cib-initial.xml"
  cluster_write_patterns
  ip link add br0 type bridge || fail "no bridge in the sandbox"
  # A bridge takes the lowest MAC address of its ports unless given one: a
  # node rebooting (a new veth) would change the hub's, and the nodes would
  # send to the old one until their ARP entries expire (15-45 s of values
  # lost).
  ip link set br0 address 02:00:0a:63:00:fe
  ip addr add "$CL_HUB/24" dev br0
  ip link set br0 up
  cluster_hub_start
  at_exit cluster_keep_logs
  at_exit cluster_stop
  t0=${EPOCHREALTIME/./}
  for ((n = 1; n <= CL_N; n++)); do
    cluster_write_node "$n"
    node_boot "$n"
  done
  wait_for 60 cluster_online "$CL_N" || {
    crm crm_mon -1 >&2
    fail "the cluster did not come online within 60 s"
  }
  CL_READY_S=$(awk -v us=$((${EPOCHREALTIME/./} - t0)) 'BEGIN { printf "%.1f", us / 1e6 }')
  note "cluster of $CL_N nodes online with quorum in $CL_READY_S s"
}

# cluster_keep_logs: the logs of the last run of this test, for a look
# after a failure: $top_builddir/t/live-logs/TEST/ (replaced at each run).
cluster_keep_logs() {
  local keep n
  keep=$top_builddir/t/live-logs/$(basename "$0" .sh)
  rm -rf "$keep"
  mkdir -p "$keep"
  cp "$CL"/*.log "$CL"/*.conf "$CL"/shared/* "$keep/" 2> /dev/null
  for ((n = 1; n <= CL_N; n++)); do
    mkdir -p "$keep/node$n"
    cp "$CL/node$n"/*.log "$CL/node$n"/*.out "$CL/node$n"/entries.json \
      "$CL/node$n"/log-pacemaker/pacemaker.log "$CL/node$n"/log-corosync/corosync.log \
      "$keep/node$n/" 2> /dev/null
  done
}

# cluster_stop: every node cleanly, then the hub.
cluster_stop() {
  local n
  crm cibadmin -Q > "$CL/shared/cib-at-stop.xml" 2> /dev/null
  for ((n = CL_N; n >= 1; n--)); do node_stop "$n"; done
  [ -n "${CL_HUB_PID:-}" ] && kill "$CL_HUB_PID" 2> /dev/null && wait "$CL_HUB_PID" 2> /dev/null
  CL_HUB_PID=""
}

# ---- services with real load, and the balancer ----------------------------------

# millicores CORES: Pacemaker utilization values are integers.
millicores() { awk -v c="$1" 'BEGIN { printf "%d", c * 1000 + 0.5 }'; }

# cluster_capacity CORES: every node's capacity, as Pacemaker utilization
# (cpu in millicores; the balancer's utilization_scale is 0.001).
cluster_capacity() {
  local n
  for ((n = 1; n <= CL_N; n++)); do
    crm crm_attribute --node "node$n" --utilization --name cpu --update "$(millicores "$1")" ||
      fail "capacity of node$n"
  done
}

# load_xml ID CORES: an ocf:patmon:load primitive burning CORES, declaring
# them as its utilization; created stopped (cluster_start_on starts it).
load_xml() {
  echo "<primitive id=\"$1\" class=\"ocf\" provider=\"patmon\" type=\"load\">
  <instance_attributes id=\"$1-ia\"><nvpair id=\"$1-cores\" name=\"cores\" value=\"$2\"/></instance_attributes>
  <meta_attributes id=\"$1-meta\"><nvpair id=\"$1-role\" name=\"target-role\" value=\"Stopped\"/></meta_attributes>
  <utilization id=\"$1-u\"><nvpair id=\"$1-u-cpu\" name=\"cpu\" value=\"$(millicores "$2")\"/></utilization>
  <operations><op id=\"$1-mon\" name=\"monitor\" interval=\"10s\" timeout=\"20s\"/></operations>
</primitive>"
}

# cluster_start_on ID:NODE...: starts resources created stopped, each on
# its node, then forgets where (stickiness keeps them there).
cluster_start_on() {
  local r
  for r in "$@"; do
    crm cibadmin --create -o constraints --xml-text \
      "<rsc_location id=\"home-${r%%:*}\" rsc=\"${r%%:*}\" node=\"${r#*:}\" score=\"INFINITY\"/>" ||
      fail "place $r"
  done
  for r in "$@"; do
    crm crm_resource -r "${r%%:*}" --meta --delete-parameter target-role > /dev/null ||
      fail "start ${r%%:*}"
  done
  for r in "$@"; do
    wait_for 60 running_on "${r%%:*}" "${r#*:}" || fail "${r%%:*} did not start on ${r#*:}: $(crm crm_mon -1)"
  done
  for r in "$@"; do
    crm cibadmin --delete -o constraints --xml-text "<rsc_location id=\"home-${r%%:*}\"/>" ||
      fail "unplace $r"
  done
}

# cluster_loads ID:CORES:NODE...: load resources, each started on its node.
cluster_loads() {
  local r places=()
  for r in "$@"; do
    local id=${r%%:*} rest=${r#*:}
    crm cibadmin --create -o resources --xml-text "$(load_xml "$id" "${rest%%:*}")" || fail "resource $id"
    places+=("$id:${r##*:}")
  done
  cluster_start_on "${places[@]}"
}

# set_load ID CORES: a new share for a running load (reload-agent: no
# restart), and its declared utilization.
set_load() {
  crm crm_resource -r "$1" --set-parameter cores --parameter-value "$2" > /dev/null ||
    fail "set cores of $1"
}

# mon_xml: crm_mon's XML; retried for 10 s while the cluster cannot answer
# (a DC election after a node died).
mon_xml() {
  local i out
  for ((i = 0; i < 20; i++)); do
    out=$(crm crm_mon -1 --output-as=xml 2> /dev/null) && [[ $out == *"<resources"* ]] && break
    sleep 0.5
  done
  printf '%s\n' "$out"
}

# where RSC: the node crm_mon shows RSC (a primitive, or a group: its first
# member) started on; empty when none.
where() {
  mon_xml | awk -v id="$1" '
    $0 ~ "<group id=\"" id "\"" { g = 1; next }
    g && /<\/group>/ { exit }
    (g && /<resource /) || index($0, "<resource id=\"" id "\"") {
      inside = ($0 !~ /\/>$/) && ($0 ~ /role="Started"/); next }
    inside && /<node name=/ { sub(/.*<node name="/, ""); sub(/".*/, ""); print; exit }
    inside && /<\/resource>/ { inside = 0; if (!g) exit }'
}
running_on() { [ "$(where "$1")" = "$2" ]; }
# away RSC NODE: true once crm_mon shows RSC started on a node other than
# NODE; that node is left in $at. Wait with it and read $at, not where
# again: a crm_mon a moment later can show RSC in no started role.
away() { at=$(where "$1"); [ -n "$at" ] && [ "$at" != "$2" ]; }

# cluster_alert_log: every resource operation's and node's alert, on every
# node, is logged to $CL/shared/alerts.log by t/cluster-alert-log (its
# format is there): when Pacemaker started what where, for latencies.
cluster_alert_log() {
  : > "$CL/shared/alerts.log"
  chmod 0666 "$CL/shared/alerts.log"
  crm cibadmin --create -o alerts --xml-text "<alert id=\"timing\" path=\"$top_srcdir/t/cluster-alert-log\">
  <select><select_resources/><select_nodes/></select>
  <recipient id=\"timing-log\" value=\"$CL/shared/alerts.log\"/>
</alert>" || fail "timing alert"
}

# cluster_balance_conf [CONFIG LINES]: $CL/balance.conf: the test bed's
# node series, capacities from Pacemaker in millicores, the journal, state
# and hook log in $CL/shared (every node sees them, as a shared file system
# would), node events from patmon-alert on /run/patmon/balance.sock.
cluster_balance_conf() {
  cat > "$CL/balance.conf" << EOF
# patmon-balance on the test cluster (t/cluster-lib.sh).
execute = true
interval = ${CL_BAL_INTERVAL:-5}
threshold = 0.8
# Samples every second of loads of a tenth of a core: the one-step errors
# are sampling noise (the background jumps by 0.1 core when Pacemaker runs
# a monitor), and an upper bound from them would plan on noise. The mean
# of the last 10 s follows a raised load within its window, and never
# overshoots it.
estimate = "${CL_BAL_ESTIMATE:-average}"
upper = false
horizon = 10
window = ${CL_BAL_WINDOW:-10}
step = 1
stale = 10
data_dir = "$CL/rrd"
state_file = "$CL/shared/balance.state"
journal = "$CL/shared/balance.journal"
availability_journal = "$CL/shared/availability.journal"
event_spool = "$CL/shared/balance.spool"
lock_file = "/run/patmon-balance.lock"
own_resource = "balancer"
event_socket = "/run/patmon/balance.sock"
event_socket_group = "haclient"
unixsock = "$CL/hub.sock"
publish_host = "balancer"
command_timeout = 30
metric cpu {
  # The test bed's node CPU: every process of the node (see cluster-lib.sh).
  node = "%h/processes-all/ps_cputime.rrd"
  node_ds = {"user", "syst"}
  node_scale = 1e-6
  node_percent = false
  service = "%h/processes-%s/ps_cputime.rrd"
  service_ds = {"user", "syst"}
  service_scale = 1e-6
  utilization = "cpu"
  utilization_scale = 0.001
}
metric memory {
  utilization = ""
}
metric net {
  utilization = ""
}
executor pacemaker {
  lifetime = "PT1H"
  timeout = 30
}
hook "tell" {
  command = {"sh", "-c", "printf '%%s\\\\n' \\"\$1\\" >> $CL/shared/told", "tell", "%h %e %n: %m"}
}
$*
EOF
  "$CL_BUILD/patmon-balance" -c "$CL/balance.conf" --check > /dev/null ||
    fail "balance.conf: $("$CL_BUILD/patmon-balance" -c "$CL/balance.conf" --check 2>&1)"
}

# cluster_balancer NODE: patmon-balance --daemon with $CL/balance.conf as
# the Pacemaker resource "balancer" (ocf:heartbeat:anything), started on
# NODE; its log is $CL/shared/balancer.log.
cluster_balancer() {
  local node=$1
  [ -e "$CL/balance.conf" ] || cluster_balance_conf
  crm cibadmin --create -o resources --xml-text "<primitive id=\"balancer\" class=\"ocf\" provider=\"heartbeat\" type=\"anything\">
  <instance_attributes id=\"balancer-ia\">
    <nvpair id=\"balancer-bin\" name=\"binfile\" value=\"$CL_BUILD/patmon-balance\"/>
    <nvpair id=\"balancer-opts\" name=\"cmdline_options\" value=\"-c $CL/balance.conf --daemon -v\"/>
    <nvpair id=\"balancer-log\" name=\"logfile\" value=\"$CL/shared/balancer.log\"/>
    <nvpair id=\"balancer-pid\" name=\"pidfile\" value=\"/run/patmon-balance.pid\"/>
  </instance_attributes>
  <meta_attributes id=\"balancer-meta\"><nvpair id=\"balancer-role\" name=\"target-role\" value=\"Stopped\"/></meta_attributes>
  <operations><op id=\"balancer-mon\" name=\"monitor\" interval=\"10s\" timeout=\"20s\"/></operations>
</primitive>" || fail "balancer resource"
  cluster_start_on "balancer:$node"
}

# explain: the balancer's planning numbers now: a dry-run pass with
# --explain on a copy of the CIB, outside every node (a pass inside one
# would add its own CPU to that node's load).
explain() {
  crm cibadmin -Q > "$CL/cib-now.xml" 2> "$CL/explain.err" || return 1
  CIB_file=$CL/cib-now.xml "$CL_BUILD/patmon-balance" -c "$CL/balance.conf" --once --dry-run \
    --explain 2> "$CL/explain.err"
}

# quiet_now: the planning numbers show every online node's load known and
# under threshold, and no move planned (the explanation is in $CL/explain).
quiet_now() {
  explain > "$CL/explain" || return 1
  grep -q "no move needed" "$CL/explain" &&
    ! awk '$2 == "online" && ($4 == "?" || $4 + 0 >= 80) { bad = 1 } END { exit !bad }' "$CL/explain"
}

# settled SECONDS: quiet_now holds without a break for the estimate's
# window and two seconds more, within SECONDS. A cluster's first seconds
# hold its boot (the daemons read the CIB, every node probes every
# resource, the agents start the loads: up to 0.5 core on a node for a few
# seconds), and one quiet reading can come before the window reaches them.
settled() {
  local end=$((SECONDS + $1)) since=""
  while :; do
    if quiet_now; then
      since=${since:-$SECONDS}
      [ $((SECONDS - since)) -ge $((${CL_BAL_WINDOW:-10} + 2)) ] && return 0
    else
      since=""
    fi
    [ $SECONDS -ge $end ] && return 1
    sleep 1
  done
}

# poll SECONDS CMD...: CMD every second until it succeeds (for checks that
# cost something: wait_for polls every 20 ms).
poll() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -ge $end ] && return 1
    sleep 1
  done
}
