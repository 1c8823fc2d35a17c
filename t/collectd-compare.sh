#!/bin/bash
# t/collectd-compare.sh: the pattern plugin beside collectd 5.12's own disk,
# interface, df and processes plugins, for the same objects, in two real
# collectds (Interval 1, csv). The stock one is configured by
# `patmon-expand -f collectd` from the same pattern file. Both must write the
# same identifiers (host, plugin, plugin instance, type, type instance), and
# the same values:
#   - counters: the same value at the end (within 0.5%). All activity
#     happens between two quiet spells that both collectds read at least
#     twice, so both read the same counters after it whatever their read
#     times (the kernel's, or, for the process group, counted from 0 while
#     its members were idle); disk_time, a sum over reads that depends on
#     when each reads, rises by the same within 50%;
#   - gauges: the same median over the run (within 0.5%);
#   - process counters start at 0 in both (their first value);
#   - every kind of object was busy, on both sides.
# Objects, all made here, in a private mount and network namespace: a zram
# disk and a loop device written 10 times a second (the loop device's backing
# filesystem is frozen for 4 s, so it has an operation in flight that both
# must see), a veth pair and lo carrying UDP traffic, a tmpfs and an ext4
# mount, and two worker processes (one group) that use CPU and read and write.
# The only names allowed on one side are those README.md lists ("Side by side
# with collectd's own plugins"); each is checked for its reason.

# A private mount and network namespace: nothing made here is seen outside.
if [ "${PATMON_COMPARE_SANDBOX:-}" != 1 ]; then
  [ "${PATMON_INTEGRATION:-1}" = 0 ] && { echo "SKIP: integration tests disabled (PATMON_INTEGRATION=0)"; exit 77; }
  [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root: namespaces, devices, mounts"; exit 77; }
  command -v unshare >/dev/null || { echo "SKIP: needs unshare"; exit 77; }
  PATMON_COMPARE_SANDBOX=1 exec unshare --mount --net --propagation private -- bash "$0" "$@"
fi
. "$top_srcdir/t/lib.sh"
need_cmd collectd collectdctl losetup mkfs.ext4 fsfreeze fallocate ip nsenter dd mkfifo
[ -w /sys/class/zram-control/hot_add ] || skip "needs zram (/sys/class/zram-control)"
kernel_objects
expand=$top_builddir/patmon-expand
host=cmp

# ---- the objects ----
# sysfs shows the network devices of the namespace that mounted it.
mount -t sysfs sysfs /sys || fail "mount sysfs"
ip link set lo up
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 # no router solicitations
ip link add pmcmpa type veth peer name pmcmpb || fail "veth"
unshare --net sleep 3600 &
peer=$!
at_exit "kill $peer"
own_ns=$(readlink /proc/self/ns/net)
wait_for $WAIT eval '[ "$(readlink "/proc/$peer/ns/net")" != "$own_ns" ]' || fail "peer namespace"
ip link set pmcmpb netns "/proc/$peer/ns/net" || fail "move pmcmpb"
ip addr add 10.213.77.1/30 dev pmcmpa && ip link set pmcmpa up || fail "pmcmpa"
nsenter -t "$peer" -n sh -c 'sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 &&
  ip addr add 10.213.77.2/30 dev pmcmpb && ip link set pmcmpb up && ip link set lo up' ||
  fail "pmcmpb"

zram_add || fail "zram hot_add"
zram=$zram_n
echo 8M > "/sys/block/zram$zram/disksize" || fail "zram disksize"

mkdir -p "$T/mnt/lower" "$T/mnt/tmp" "$T/fifo"
truncate -s 64M "$T/lower.img"
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$T/lower.img" || fail "mkfs.ext4"
lower=$(losetup -f --show "$T/lower.img") || fail "losetup lower"
at_exit "losetup -d $lower"
mount "$lower" "$T/mnt/lower" || fail "mount lower"
at_exit "umount $T/mnt/lower"
fallocate -l 16M "$T/mnt/lower/upper.img" || fail "fallocate"
loop=$(losetup -f --show "$T/mnt/lower/upper.img") || fail "losetup upper"
at_exit "losetup -d $loop"
loop=${loop#/dev/}
mount -t tmpfs -o size=16M tmpfs "$T/mnt/tmp" || fail "mount tmpfs"
at_exit "umount $T/mnt/tmp"
head -c 1M /dev/urandom > "$T/mnt/tmp/data"
# Every disk has done I/O before the collectds start (collectd sends nothing
# for a disk that never did).
for d in "zram$zram" "$loop"; do
  dd if=/dev/zero of="/dev/$d" bs=4k count=16 oflag=direct conv=nocreat status=none || fail "write $d"
done
sync

# The workers: idle (blocked on their fifo) until told "go", then busy until
# told "stop". Started before expansion: collectd's ProcessMatch is built from
# their command lines.
cat > "$T/worker.sh" <<'EOF'
exec 3<> "$1/fifo/w$2"
f=$1/work$2
while read -r cmd <&3; do
  while [ "$cmd" = go ]; do
    for ((k = 0; k < 2000; k++)); do :; done
    echo "$k $RANDOM" >> "$f"
    read -r line < "$f"
    read -t 0.05 -r cmd <&3 || cmd=go
  done
done
EOF
workers=()
for w in 1 2; do
  mkfifo "$T/fifo/w$w"
  (exec -a pmcmp-worker bash "$T/worker.sh" "$T" "$w") &
  workers+=($!)
  at_exit "kill ${workers[-1]}"
done
tell_workers() { local w; for w in 1 2; do echo "$1" > "$T/fifo/w$w"; done; }

cat > "$T/patterns.conf" <<EOF
pattern "disks" { class = disk  match = { "KERNEL==zram$zram|$loop" } }
pattern "nics" { class = nic  match = { "NAME==pmcmpa|lo" } }
pattern "mounts" { class = mount  match = { "MOUNT==$T/mnt/*" } }
pattern "workers" { class = process  match = { "CMDLINE==pmcmp-worker *" }  name = "pmcmp" }
EOF
"$expand" -p "$T/patterns.conf" > "$T/entries.list" || fail "patmon-expand"
[ "$(wc -l < "$T/entries.list")" -eq 7 ] || fail "expected 7 entries: $(cat "$T/entries.list")"

# ---- two collectds ----
for side in stock pattern; do
  mkdir -p "$T/$side"
  (T=$T/$side && collectd_conf "$T/collectd.conf" "$host")
done
"$expand" -p "$T/patterns.conf" -f collectd >> "$T/stock/collectd.conf" || fail "patmon-expand -f collectd"
cat >> "$T/pattern/collectd.conf" <<EOF
PluginDir "$top_builddir/.libs"
LoadPlugin pattern
<Plugin pattern>
  PatternFile "$T/patterns.conf"
  EntriesFile "$T/pattern/entries.json"
</Plugin>
EOF
pids=()
for side in stock pattern; do
  collectd -f -C "$T/$side/collectd.conf" > "$T/$side/out" 2>&1 &
  pids+=($!)
  at_exit "kill $!"
done
rows() { cat "$T/$1/csv/$host/$2"-* 2> /dev/null | grep -c '^[0-9]'; }
ready() { [ "$(rows stock "$1")" -ge "$2" ] && [ "$(rows pattern "$1")" -ge "$2" ]; }
for id in processes-pmcmp/ps_count "disk-$loop/disk_ops" interface-pmcmpa/if_octets; do
  wait_for $WAIT ready "$id" 2 || fail "no values for $id on both sides: $(ls -R "$T/stock/csv" "$T/pattern/csv")"
done
# A quiet spell both read at least twice.
n0=$(rows pattern processes-pmcmp/ps_count)
wait_for $WAIT ready processes-pmcmp/ps_count $((n0 + 2)) || fail "collectd stopped reading"

# ---- activity ----
mkfifo "$T/fifo/traffic" "$T/fifo/writer-zram$zram" "$T/fifo/writer-$loop"
t_go=$EPOCHREALTIME
tell_workers go
( exec 5<> "$T/fifo/traffic"
  while :; do
    printf '%0200d' 0 > /dev/udp/10.213.77.2/9
    printf '%0100d' 0 > /dev/udp/127.0.0.1/9
    read -t 0.02 -r _ <&5
  done 2> /dev/null ) &
traffic=$!
at_exit "kill $traffic"
writer() { # DEVICE: a 4 KiB direct write every 0.1 s
  exec 5<> "$T/fifo/writer-$1"
  while :; do
    dd if=/dev/urandom of="/dev/$1" bs=4k count=1 seek=$((RANDOM % 1024)) oflag=direct conv=nocreat status=none
    read -t 0.1 -r _ <&5
  done
}
writers=()
for d in "zram$zram" "$loop"; do
  writer "$d" &
  writers+=($!)
  at_exit "kill ${writers[-1]}; wait ${writers[-1]}" # before its device goes
done
sleep 5
# The loop device's backing filesystem frozen: its next write stays in flight.
fsfreeze -f "$T/mnt/lower" || fail "fsfreeze"
at_exit "fsfreeze -u $T/mnt/lower"
sleep 4
fsfreeze -u "$T/mnt/lower" || fail "fsfreeze -u"
sleep 5
kill "${writers[@]}" "$traffic"
wait "${writers[@]}" "$traffic" 2> /dev/null
tell_workers stop
active=$(awk -v a="$t_go" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
# The quiet spell after it, read at least twice by both.
sleep 0.5
n0=$(rows stock processes-pmcmp/ps_count)
n1=$(rows pattern processes-pmcmp/ps_count)
wait_for $WAIT ready processes-pmcmp/ps_count $(((n0 > n1 ? n0 : n1) + 2)) || fail "collectd stopped reading"
for p in "${pids[@]}"; do kill "$p"; done
for p in "${pids[@]}"; do wait "$p" || fail "a collectd exited with status $?"; done

# ---- compare ----
# Each side: "identifier file..." for every csv file (one per day).
ids() { (cd "$T/$1/csv/$host" && ls -d */* | sed 's/-[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]$//' | sort -u); }
ids stock > "$T/stock.ids"
ids pattern > "$T/pattern.ids"
comm -23 "$T/stock.ids" "$T/pattern.ids" > "$T/only.stock"
comm -13 "$T/stock.ids" "$T/pattern.ids" > "$T/only.pattern"
comm -12 "$T/stock.ids" "$T/pattern.ids" > "$T/both"

# Names on one side only, each with the reason README.md gives:
# processes/ps_state-*, processes/fork_rate: node-wide, not of an object
#   (collectd's processes plugin sends them with or without Process lines);
# pattern/*: the pattern plugin's own activity;
# disk-*/pending_operations: sent once a read saw an operation in flight;
#   two collectds read at different instants, so one may see a short one the
#   other missed. Accepted only where that side saw one (a value > 0), and
#   never for the loop device, whose operation was held in flight.
# disk-*/disk_time: sent once the average time per operation since the
#   previous read, times the interval and rounded, is not 0: on the zram
#   disk, whose operations take a fraction of a millisecond, one side may
#   round up where the other never does. Accepted only while that side's
#   total is at most one per read, and never for the loop device.
values() { cat "$T/$1/csv/$host/$2"-* | grep '^[0-9]'; }
only() { # SIDE WHO ALLOWED: the names only SIDE sent are ALLOWED (an extglob)
  local side=$1 who=$2 allowed=$3 id
  while read -r id; do
    case $id in
    $allowed) ;;
    disk-"$loop"/pending_operations | disk-"$loop"/disk_time) fail "$id only from $who" ;;
    disk-*/pending_operations)
      values "$side" "$id" | awk -F, '$2 > 0 { found = 1 } END { exit !found }' ||
        fail "$id only from $who, which never saw an operation in flight"
      note "$id: only $who caught an operation in flight (sampling)" ;;
    disk-*/disk_time)
      values "$side" "$id" | awk -F, '{ n++; last = $2 + $3 } END { exit !(last <= n) }' ||
        fail "$id only from $who, and more than rounding: $(values "$side" "$id" | tail -1)"
      note "$id: only $who rounded an average up to 1 ms (sampling): $(values "$side" "$id" | tail -1)" ;;
    *) fail "$id from $who only" ;;
    esac
  done < "$T/only.$side"
}
shopt -s extglob
only stock "collectd's own plugins" '@(processes/ps_state-*|processes/fork_rate)'
only pattern "the pattern plugin" 'pattern/*'

# Every identifier both sent: counters at the last common time (values
# interpolated: both read the quiet spell after the activity), medians of
# gauges over the common time.
types_db=/usr/share/collectd/types.db
: > "$T/report"
while read -r id; do
  type=${id#*/}
  type=${type%%-*}
  kinds=$(awk -v t="$type" '$1 == t { for (i = 2; i <= NF; i++) { split($i, f, ":"); printf "%s ", f[2] } }' "$types_db")
  [ -n "$kinds" ] || fail "$type not in $types_db"
  values stock "$id" > "$T/a"
  values pattern "$id" > "$T/b"
  awk -F, -v id="$id" -v kinds="$kinds" '
    function at(side, t, col,   i, lo, hi) { # interpolated value at time t
      for (i = 1; i < n[side]; i++)
        if (tm[side, i + 1] >= t) break
      lo = tm[side, i]; hi = tm[side, i + 1]
      if (hi == lo || t <= lo) return v[side, i, col]
      return v[side, i, col] + (v[side, i + 1, col] - v[side, i, col]) * (t - lo) / (hi - lo)
    }
    function maxv(side, col,   i, x) {
      x = v[side, 1, col]
      for (i = 2; i <= n[side]; i++) if (v[side, i, col] > x) x = v[side, i, col]
      return x
    }
    function median(side, col, t1, t2,   i, m, x, j, k, tmp) {
      m = 0
      for (i = 1; i <= n[side]; i++) if (tm[side, i] >= t1 && tm[side, i] <= t2) x[++m] = v[side, i, col]
      for (j = 2; j <= m; j++) for (k = j; k > 1 && x[k - 1] > x[k]; k--) { tmp = x[k]; x[k] = x[k - 1]; x[k - 1] = tmp }
      return m ? (m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2) : "none"
    }
    FNR == 1 { side++ }
    { n[side]++; tm[side, n[side]] = $1; for (c = 2; c <= NF; c++) v[side, n[side], c] = $c }
    END {
      nds = split(kinds, kind, " ")
      t1 = tm[1, 1] > tm[2, 1] ? tm[1, 1] : tm[2, 1]
      t2 = tm[1, n[1]] < tm[2, n[2]] ? tm[1, n[1]] : tm[2, n[2]]
      for (c = 2; c <= nds + 1; c++) {
        # How much each rose over the common time (or, for a gauge, its
        # largest value): that the objects were busy, on both sides.
        ra = at(1, t2, c) - at(1, t1, c); rb = at(2, t2, c) - at(2, t1, c)
        if (kind[c - 1] == "GAUGE") {
          a = median(1, c, t1, t2); b = median(2, c, t1, t2); what = "median"
          ra = maxv(1, c); rb = maxv(2, c)
        } else if (id ~ /\/disk_time$/) {
          # disk_time sums, per read, interval x the average time of the
          # operations since the previous read: it depends on when each
          # collectd reads, and from when.
          a = ra; b = rb; what = "increase"
        } else {
          # Both start from the same counters (the kernel counters, or 0 for
          # process groups, whose members are idle then) and read the last
          # quiet spell: the same value.
          a = at(1, t2, c); b = at(2, t2, c); what = "last"
        }
        d = a - b; if (d < 0) d = -d
        m = a < 0 ? -a : a; if ((b < 0 ? -b : b) > m) m = b < 0 ? -b : b
        tol = id ~ /\/disk_time$/ ? 0.5 * m + 2 : 0.005 * m + 1
        printf "%s %s %s stock %.6g pattern %.6g rise %.6g %.6g %s\n", id, c - 1, what, a, b, ra, rb,
          (d <= tol ? "ok" : "DIFFERENT")
      }
    }' "$T/a" "$T/b" >> "$T/report"
done < "$T/both"
cat "$T/report"
grep -q DIFFERENT "$T/report" && fail "values differ: $(grep DIFFERENT "$T/report")"

# Not vacuous: every kind of object was busy, on both sides.
busy() { # IDENTIFIER DS: increased (or, for a gauge, a maximum > 0) on both
  grep -q "^$1 $2 .* rise [1-9][0-9.e+]* [1-9][0-9.e+]* ok$" "$T/report" ||
    fail "$1 ($2) shows no activity: $(grep "^$1 " "$T/report")"
}
busy "disk-zram$zram/disk_ops" 2
busy "disk-$loop/disk_ops" 2
busy "disk-$loop/disk_octets" 2
busy interface-pmcmpa/if_octets 1
busy interface-pmcmpa/if_octets 2
busy interface-lo/if_packets 1
busy processes-pmcmp/ps_cputime 1
busy processes-pmcmp/io_octets 2
for side in stock pattern; do
  values "$side" "disk-$loop/pending_operations" | awk -F, '$2 >= 1 { f = 1 } END { exit !f }' ||
    fail "$side: no operation in flight seen on $loop while its backing filesystem was frozen"
  values "$side" processes-pmcmp/ps_count | awk -F, '$2 != 2 || $3 != 2 { bad = 1 } END { exit bad }' ||
    fail "$side: ps_count is not 2 processes, 2 threads: $(values "$side" processes-pmcmp/ps_count | sort -u -t, -k2)"
  for id in processes-pmcmp/ps_cputime processes-pmcmp/ps_pagefaults; do
    first=$(values "$side" "$id" | head -1)
    [ "${first#*,}" = "0,0" ] || fail "$side: $id starts at ${first#*,}, not 0,0"
  done
done
grep -q "processes-pmcmp/ps_stacksize" "$T/both" || fail "no ps_stacksize on both sides"
note "$(wc -l < "$T/both") identifiers on both sides ($(wc -l < "$T/report") values compared), $(wc -l < "$T/only.stock") from collectd only, $(wc -l < "$T/only.pattern") from the pattern plugin only; activity ${active} s"
echo "PASS: the pattern plugin sends what collectd's disk, interface, df and processes plugins send"
