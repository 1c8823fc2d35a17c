#!/bin/bash
# The collectd plugin `pattern` in a real collectd (foreground, private
# config, csv, rrdtool and unixsock under a temp dir): it follows veth pairs, zram
# disks, a loop-backed filesystem mounted and unmounted under a matched path,
# a matched process, and an HA resource moved here and away on a CIB file
# (told by the real alert agent), with no restart. Each time: the entries
# file, collectdctl, and the csv and RRD files (values appear, or stop
# growing).
. "$top_srcdir/t/lib.sh"
need_integration
need_root "creates devices and mounts"
need_cmd collectd collectdctl ip losetup rrdtool mkfs.ext4 cibadmin crm_simulate crm_resource
kernel_objects

tag=pp$$
node=$(uname -n)
host=patmon-test
sock=$T/collectd.sock # collectd_conf puts it there
csv=$T/csv/$host
rrd=$T/rrd/$host
entries=$T/state/entries.json
mkdir -p "$T/srv" "$T/ha/data"

# A loop-backed ext4 filesystem, the resource's data volume.
truncate -s 16M "$T/disk.img"
mkfs.ext4 -q -F "$T/disk.img" || fail "mkfs.ext4"
dev=$(losetup -f --show "$T/disk.img") || fail "losetup"
at_exit "losetup -d $dev"
loopk=$(basename "$dev")

# A two-node CIB: the data group runs on the other node at first.
ha_cib "$dev" "$T/ha/data"

cat > "$T/patterns.conf" <<EOF
node = "$node"
pattern "veths" { class = nic  match = { "NAME==${tag}*" } }
pattern "zram" { class = disk  match = { "KERNEL==zram*" }  name = "z-%k" }
pattern "data" { class = mount  match = { "MOUNT==$T/srv/*" }  metrics = { space } }
pattern "workers" { class = process  match = { "CMDLINE==${tag}-worker*" }  name = "${tag}" }
pattern "ha" { class = resource  match = { "AGENT==ocf:heartbeat:Filesystem" }  name = "rsc-%k" }
EOF
collectd_conf "$T/collectd.conf" "$host"
cat >> "$T/collectd.conf" <<EOF
LoadPlugin rrdtool
<Plugin rrdtool>
  DataDir "$T/rrd"
</Plugin>
PluginDir "$top_builddir/.libs"
LoadPlugin pattern
<Plugin pattern>
  PatternFile "$T/patterns.conf"
  EntriesFile "$entries"
  EventSocket "$T/events.sock"
  RescanInterval 300
</Plugin>
EOF
collectd -f -C "$T/collectd.conf" > "$T/collectd.out" 2>&1 &
cd_pid=$!
at_exit "kill $cd_pid"
wait_for "$WAIT" test -S "$T/events.sock" || fail "plugin did not start: $(cat "$T/collectd.log" "$T/collectd.out")"
start_time=$(cut -d' ' -f22 "/proc/$cd_pid/stat")

in_entries() { grep -q "\"instance\": \"$1\"" "$entries"; }
listed() { collectdctl -s "$sock" listval | grep -qx "$host/$1"; }
lines() { cat "$csv"/$1-* 2> /dev/null | wc -l; }
last() { rrdtool last "$rrd/$1.rrd"; }
# appears NAME ID: the entry (at once: the time is noted), then values in
# collectd's cache, the csv file and the RRD file.
appears() {
  wait_for "$WAIT" in_entries "$1" || fail "entry $1 not in the entries file after $WAIT s: $(cat "$entries")"
  local file_ms=$waited_ms
  wait_for "$WAIT" listed "$2" || fail "no value $2 in collectd's cache"
  note "$1: in the entries file after ${file_ms} ms, $2 in the cache ${waited_ms} ms later"
  wait_for "$WAIT" test -n "$(ls "$csv"/$2-* 2> /dev/null)" || fail "no csv for $2"
  wait_for "$WAIT" test -s "$rrd/$2.rrd" || fail "no RRD file for $2"
}
# stops NAME ID: gone from the entries file within one interval, and no more
# values written for it.
stops() {
  wait_for "$WAIT" eval "! in_entries $1" || fail "entry $1 still in the entries file"
  # a read that began before the entry went may still be writing
  sleep 3
  local before updated
  before=$(lines "$2")
  updated=$(last "$2") || fail "$rrd/$2.rrd unreadable"
  sleep 3
  [ "$(lines "$2")" -eq "$before" ] || fail "$2 still dispatched after its entry went"
  [ "$(last "$2")" = "$updated" ] || fail "$2.rrd still updated after its entry went"
}

# NICs
ip link add "${tag}a" type veth peer name "${tag}b" || fail "veth"
at_exit "ip link del ${tag}a"
appears "${tag}a" "interface-${tag}a/if_octets"
ip link del "${tag}a"
stops "${tag}a" "interface-${tag}a/if_octets"

# Disks
if [ -w /sys/class/zram-control/hot_add ]; then
  zram_add || fail "zram hot_add"
  n=$zram_n
  # Values come with the disk's first I/O, as from collectd's disk plugin.
  echo 4M > "/sys/block/zram$n/disksize" || fail "zram$n disksize"
  dd if=/dev/zero of="/dev/zram$n" bs=4k count=4 oflag=direct conv=nocreat status=none || fail "write to zram$n"
  appears "z-zram$n" "disk-z-zram$n/disk_octets"
  zram_remove "$n" || fail "cannot remove zram$n"
  stops "z-zram$n" "disk-z-zram$n/disk_octets"
else
  note "no zram-control: zram part not run"
fi

# A filesystem mounted and unmounted under the matched path
mkdir -p "$T/srv/vol"
mount "$dev" "$T/srv/vol" || fail "mount"
at_exit "umount $T/srv/vol"
inst=$(echo "${T#/}/srv/vol" | tr / -)
appears "$inst" "df-$inst/df_complex-used"
umount "$T/srv/vol"
stops "$inst" "df-$inst/df_complex-used"

# A bind mount (same device as its parent) is a mount like any other.
mkdir -p "$T/srv/src" "$T/srv/bound"
mount --bind "$T/srv/src" "$T/srv/bound" || fail "bind mount"
at_exit "umount $T/srv/bound"
bound=$(echo "${T#/}/srv/bound" | tr / -)
appears "$bound" "df-$bound/df_complex-used"
umount "$T/srv/bound"
stops "$bound" "df-$bound/df_complex-used"

# A process
bash -c "exec -a ${tag}-worker sleep 120" &
worker=$!
at_exit "kill $worker"
appears "$tag" "processes-$tag/ps_count"
grep -q "\"object\": \\[$worker\\]" "$entries" || fail "worker pid not in the entries file"
kill "$worker"
wait "$worker" 2> /dev/null
stops "$tag" "processes-$tag/ps_count"

# An HA resource moved here: Pacemaker places it, the Filesystem agent
# mounts its volume, the alert agent tells the plugin.
in_entries rsc-data-fs && fail "resource listed while on the other node"
ha_move "$node"
mount "$dev" "$T/ha/data" || fail "mount the volume"
at_exit "umount $T/ha/data"
ha_alert start "$T/events.sock"
volume=$(echo "${T#/}/ha/data" | tr / -)
appears rsc-data-fs "df-$volume/df_complex-used"
wait_for "$WAIT" listed "disk-$loopk/disk_octets" || fail "the volume's disk is not read"
grep -q '"volume": {"device": "'"$dev"'", "directory": "'"$T"'/ha/data"}' "$entries" ||
  fail "volume missing from the entries file"
ha_move othernode
umount "$T/ha/data"
ha_alert stop "$T/events.sock"
stops rsc-data-fs "df-$volume/df_complex-used"

# A bad edit later: logged once with file and line, monitoring goes on.
ip link add "${tag}c" type veth peer name "${tag}d"
at_exit "ip link del ${tag}c"
appears "${tag}c" "interface-${tag}c/if_octets"
cp "$T/patterns.conf" "$T/patterns.good"
printf 'pattern "x" {\n  class = nic\n  match = { "NAME=~(" }\n}\n' >> "$T/patterns.conf"
wait_for "$WAIT" grep -q "patterns.conf:9: pattern \"x\": bad regex" "$T/collectd.log" ||
  fail "bad edit not reported: $(tail -5 "$T/collectd.log")"
sleep 2.5
[ "$(grep -c 'bad regex' "$T/collectd.log")" -eq 1 ] || fail "bad edit reported more than once"
in_entries "${tag}c" || fail "entries lost after a bad edit"
before=$(lines "interface-${tag}c/if_octets")
wait_for "$WAIT" eval '[ "$(lines "interface-${tag}c/if_octets")" -gt "$before" ]' ||
  fail "monitoring stopped after a bad edit"
cp "$T/patterns.good" "$T/patterns.conf"
touch "$T/patterns.conf"

# One collectd all along.
kill -0 "$cd_pid" || fail "collectd died"
[ "$(cut -d' ' -f22 "/proc/$cd_pid/stat")" = "$start_time" ] || fail "collectd restarted"
[ "$(grep -c 'Initialization complete' "$T/collectd.log")" -eq 1 ] || fail "collectd initialized twice"
kill "$cd_pid"
wait "$cd_pid"

# A bad pattern file at start: collectd refuses to start and says where.
printf 'pattern "y" {\n  class = toaster\n}\n' > "$T/patterns.conf"
collectd -f -C "$T/collectd.conf" > "$T/bad.out" 2>&1 &
bad_pid=$!
at_exit "kill $bad_pid"
wait_for "$WAIT" eval "! kill -0 $bad_pid 2> /dev/null" || fail "collectd started with a bad pattern file"
wait "$bad_pid" && fail "collectd exited 0 with a bad pattern file"
assert_grep "pattern plugin: $T/patterns.conf:2: pattern \"y\": unknown class toaster" "$T/collectd.log"
echo "PASS: the pattern plugin follows hotplug, mounts, processes and HA moves"
