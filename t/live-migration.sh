#!/usr/bin/env bash
# live-migration: proof 1, migration followed, on a live 3-node cluster
# (t/cluster-lib.sh).
#
# A group with a data volume (a Filesystem resource on a loop-backed ext4
# image, and a load) is moved between node1 and node2 with crm_resource
# --move, ten times. Each time the target's entries file lists the resource
# with its mount and disk, and its collectd dispatches them; the node it
# left stops dispatching them (its RRD files stop growing). The time from
# the resource's start (Pacemaker's alert timestamp) to the entry in the
# target's entries file is measured for each move (median and worst are
# printed and kept in $top_builddir/t/live-migration.time). Each node's
# pattern set digest is checked as its node attribute on the way.
#
# The loop device is host-wide: it is made by name and removed by name
# (also when the sandbox dies), and this test runs alone (./quickstart's
# live stage).
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/cluster-lib.sh"
need_cmd losetup mkfs.ext4 modprobe fuser
cluster_test "$@"

t0=$SECONDS
truncate -s 16M "$T/data.img"
mkfs.ext4 -q -F "$T/data.img" || fail "mkfs.ext4"
loop=$(losetup --find --show "$T/data.img") || fail "no loop device"
host_cleanup "losetup -d $loop"
at_exit "losetup -d $loop"
kernel=${loop#/dev/}
cluster_start 3
mkdir -p "$CL/data"
crm cibadmin --create -o resources --xml-text "<group id=\"data\">
  <meta_attributes id=\"data-meta\"><nvpair id=\"data-role\" name=\"target-role\" value=\"Stopped\"/></meta_attributes>
  <primitive id=\"data-fs\" class=\"ocf\" provider=\"heartbeat\" type=\"Filesystem\">
    <instance_attributes id=\"data-fs-ia\">
      <nvpair id=\"data-fs-dev\" name=\"device\" value=\"$loop\"/>
      <nvpair id=\"data-fs-dir\" name=\"directory\" value=\"$CL/data\"/>
      <nvpair id=\"data-fs-type\" name=\"fstype\" value=\"ext4\"/>
    </instance_attributes>
    <operations><op id=\"data-fs-mon\" name=\"monitor\" interval=\"20s\" timeout=\"40s\"/></operations>
  </primitive>
  $(load_xml data-load 0.05 | sed '/target-role/d')
</group>" || fail "the data group"
cluster_start_on data:node1
wait_for 30 running_on data-load node1 || fail "data-load not on node1: $(crm crm_mon -1)"

# entry N: node N's entries file lists data-fs with its volume.
entry() {
  grep -q "\"instance\": \"data-fs\".*\"volume\": {\"device\": \"$loop\", \"directory\": \"$CL/data\"}" \
    "$CL/node$1/entries.json" 2> /dev/null
}
# growing N: node N's collectd sends the volume's values: the df and disk
# RRD files of data-fs's mount and loop device grow.
rrds() { ls "$CL"/rrd/node"$1"/df-*/df_complex-used.rrd "$CL/rrd/node$1/disk-$kernel/disk_octets.rrd" 2> /dev/null; }
lasts() { local f; for f in $(rrds "$1"); do rrdtool last "$f"; done | tr '\n' ' '; }
growing() {
  local before
  [ "$(rrds "$1" | wc -l)" = 2 ] || return 1
  before=$(lasts "$1")
  sleep 2.5
  [ "$(lasts "$1")" != "$before" ]
}
# still N: node N's files do not grow for 3 s.
still() {
  local before
  before=$(lasts "$1")
  sleep 3
  [ "$(lasts "$1")" = "$before" ]
}

wait_for 30 entry 1 || fail "node1's entries do not list data-fs with its volume: $(cat "$CL/node1/entries.json")"
wait_for 30 growing 1 || fail "node1 dispatches no df/disk values for data-fs: $(rrds 1)"
note "data group on node1 (loop device $loop) after $((SECONDS - t0)) s"

# Each node's pattern plugin published its pattern set's digest as the
# transient node attribute patmon-pattern-digest (attrd_updater): the same
# on all three, that of the shared pattern file.
want=$("$CL_BUILD/patmon-expand" -p "$CL/patterns.conf" --digest) || fail "patmon-expand --digest"
digest_on() { [ "$(crm crm_attribute -G -N "node$1" -n patmon-pattern-digest -l reboot -q 2> /dev/null)" = "$want" ]; }
for n in 1 2 3; do
  wait_for 60 digest_on $n || fail "node$n's patmon-pattern-digest is not $want: $(crm crm_attribute -G -N "node$n" -n patmon-pattern-digest -l reboot 2>&1)"
done
note "patmon-pattern-digest $want on node1..3 after $((SECONDS - t0)) s"

# started N: when Pacemaker last recorded data-fs's start on node N, in
# seconds since the epoch: its log line "Result of start operation", whose
# time is the alert's timestamp to the millisecond (no alert agent of the
# test's own runs beside patmon-alert and slows it).
started() {
  local line
  line=$(grep "Result of start operation for data-fs on node$1: ok" \
    "$CL/node$1/log-pacemaker/pacemaker.log" | tail -1)
  [ -n "$line" ] && date -d "${line:0:19}" +%s.%N
}

# One move: crm_resource --move to node TO; prints the latency in ms from
# data-fs's start on TO (Pacemaker's time) to its entry in TO's entries
# file.
move() {
  local to=$1 watch seen
  wait_for 30 bash -c "! grep -q '\"instance\": \"data-fs\"' '$CL/node$to/entries.json'" ||
    fail "node$to still lists data-fs before the move"
  "$CL_BUILD/t/cluster-watch" "$CL/node$to/entries.json" "\"instance\": \"data-fs\"" 60 > "$T/seen" &
  watch=$!
  local since=$EPOCHREALTIME
  crm crm_resource --move -r data -N "node$to" --lifetime PT1H > /dev/null 2>&1 || fail "move to node$to"
  wait "$watch" || fail "node$to did not list data-fs within 60 s: $(cat "$CL/node$to/entries.json")"
  seen=$(cat "$T/seen")
  # (not "start": wait_for has a local of that name, which eval would set)
  local started_at
  wait_for 30 eval 'started_at=$(started $to) && [ "${started_at%.*}" -ge "${since%.*}" ]' ||
    fail "no start of data-fs on node$to in its log"
  awk -v a="$started_at" -v b="$seen" 'BEGIN { printf "%.0f\n", (b - a) * 1000 }'
}

: > "$T/latency"
for i in 1 2 3 4 5 6 7 8 9 10; do
  to=$((i % 2 == 1 ? 2 : 1))
  from=$((3 - to))
  move "$to" >> "$T/latency"
  wait_for 30 running_on data-load "node$to" || fail "data-load did not follow to node$to"
  note "move $i node$from -> node$to: start alert -> entry $(tail -1 "$T/latency") ms"
  if [ $i = 1 ] || [ $i = 10 ]; then
    # The target dispatches the volume; the node it left stopped.
    ! entry "$from" || fail "node$from still lists data-fs"
    wait_for 30 growing "$to" || fail "node$to dispatches no df/disk values for data-fs"
    still "$from" || fail "node$from still writes data-fs's df/disk values"
    wait_for 30 grep -q '"instance": "data-load"' "$CL/node$to/entries.json" ||
      fail "node$to does not list data-load"
    [ -s "$CL/rrd/node$to/processes-data-load/ps_cputime.rrd" ] || fail "no CPU of data-load from node$to"
  fi
done
crm crm_resource --clear -r data > /dev/null 2>&1

[ "$(grep -c '^[0-9-]' "$T/latency")" = 10 ] || fail "10 moves, but $(grep -c . "$T/latency") latencies: $(cat "$T/latency")"
stats() { # column: median and worst of the moves
  sort -n -k"$1" "$T/latency" | awk -v c="$1" '{ v[NR] = $c } END { printf "median %d ms, worst %d ms", (v[5] + v[6]) / 2, v[NR] }'
}
note "10 moves, start alert -> entry on the target: $(stats 1) (load $(cut -d' ' -f1-3 /proc/loadavg))"
{
  echo "# ms from data-fs's start alert to its entry, one line per move ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
  cat "$T/latency"
} > "$top_builddir/t/live-migration.time"
note "live-migration: $((SECONDS - t0)) s in all"
echo PASS
