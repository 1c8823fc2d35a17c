# t/forecast-collectd.sh: the forecast plugin inside a real collectd.
#
# Feeds two real NAB series through unixsock PUTVAL (collectdctl putval): a
# CPU percentage (GAUGE, with two undefined samples) and network bytes summed
# into if_octets counters (two DERIVE data sources, rx with a counter reset).
# The first K samples go in at once; after a pause (the plugin's read
# callback refits what fell due) two more follow. The forecasts read back
# with collectdctl getval must equal forecast-offline's for the same samples,
# to the 7 digits collectdctl prints (counters: to 0.2 byte/s, the rounding
# of the published counters over 10 s). collectd is stopped by its pid.
. "$top_srcdir/t/lib.sh"
need_integration
need_cmd collectd collectdctl awk
so_dir="$top_builddir/.libs"
[ -f "$so_dir/forecast.so" ] || skip "forecast.so not built"
offline="$top_builddir/t/forecast-offline"
data="$top_srcdir/t/data/forecast"

window=60 horizon=4 every=5
k=200 # a due point: the first is at 35 samples (model auto), then every 5
host=patmon-test
t0=$(($(date +%s) - 10 * (k + 2) - 100))

cat >"$T/collectd.conf" <<EOF
Hostname "$host"
Interval 1
# One write thread: a burst of PUTVALs for one series then reaches the plugin
# in order, so the comparison below is exact. (With several, collectd may
# deliver a burst out of order; late gauges fill their gaps, late counters
# are dropped: see fc_series_observe.)
WriteThreads 1
BaseDir "$T"
PIDFile "$T/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$T/collectd.log"
</Plugin>
PluginDir "$so_dir"
LoadPlugin forecast
PluginDir "/usr/lib/collectd"
LoadPlugin unixsock
LoadPlugin csv
<Plugin unixsock>
  SocketFile "$T/sock"
  SocketGroup "root"
</Plugin>
<Plugin csv>
  DataDir "$T/csv"
</Plugin>
<Plugin forecast>
  <Series>
    Plugin "nab"
  </Series>
  Window $window
  Horizon $horizon
  RefitEvery $every
  Model "auto"
  Coverage 0.8
</Plugin>
EOF

# Samples as "time value..." lines (U: undefined), K + 2 of each.
tail -n +2 "$data/ec2-cpu.csv" | head -n $((k + 2)) |
  awk -F, -v t0=$t0 '{ v = $2; if (NR == 151 || NR == 152) v = "U";
    print t0 + 10 * (NR - 1), v }' >"$T/cpu.txt"
tail -n +2 "$data/ec2-net.csv" |
  awk -F, -v t0=$t0 -v n=$((k + 2)) '{ v[NR] = int($2) }
    END { for (i = 1; i <= n; i++) {
      rx += v[i]; tx += v[i + 10]
      if (i == 121) base = rx # the rx counter restarts from 0 here
      printf "%d %.0f %.0f\n", t0 + 10 * (i - 1), rx - base, tx } }' >"$T/net.txt"
[ "$(wc -l <"$T/cpu.txt")" -eq $((k + 2)) ] && [ "$(wc -l <"$T/net.txt")" -eq $((k + 2)) ] ||
  fail "could not build the samples"

collectd -f -C "$T/collectd.conf" >"$T/stdout" 2>&1 &
pid=$!
at_exit "kill $pid; wait $pid"
wait_for "$WAIT" test -S "$T/sock" || fail "collectd did not open its socket: $(cat "$T/stdout" "$T/collectd.log")"

# putval FROM TO: lines FROM..TO of both series, one collectdctl call each.
putval() {
  collectdctl -s "$T/sock" putval "$host/nab-ec2/percent-cpu" interval=10 \
    $(sed -n "$1,$2p" "$T/cpu.txt" | awk '{ print $1 ":" $2 }') >/dev/null &&
    collectdctl -s "$T/sock" putval "$host/nab-net/if_octets" interval=10 \
      $(sed -n "$1,$2p" "$T/net.txt" | awk '{ print $1 ":" $2 ":" $3 }') >/dev/null ||
    fail "putval $1..$2 failed"
}
putval 1 $k
sleep 3 # the read callback runs every second: the refit due at K is installed
putval $((k + 1)) $((k + 2))

# Wait until the last forecasts (stamped with the last sample) are written.
last=$(awk 'END { print $1 }' "$T/cpu.txt")
published() {
  grep -qs "^$last[.,]" "$T/csv/$host/forecast-nab-ec2/percent-cpu-h$horizon-upper"-* &&
    grep -qs "^$last[.,]" "$T/csv/$host/forecast-nab-net/if_octets-h$horizon-upper"-*
}
wait_for "$WAIT" published || fail "no forecasts for the last sample: $(ls -R "$T/csv")"

# Expected: "name ds value", clamped as the types' bounds clamp them
# (percent 0..100.1, if_octets >= 0).
offline_args="--window $window --horizon $horizon --refit-every $every --model auto --coverage 0.8 --refit-after $k"
sed 's/ U$/ nan/' "$T/cpu.txt" | "$offline" $offline_args --kind gauge >"$T/cpu.off" ||
  fail "forecast-offline failed on the CPU series"
"$offline" $offline_args --kind derive <"$T/net.txt" >"$T/net.off" ||
  fail "forecast-offline failed on the network series"
expected() { # FILE NAME-PREFIX LOW HIGH DS-NAMES...
  local file=$1 prefix=$2 lo=$3 hi=$4
  shift 4
  awk -v p="$prefix" -v lo="$lo" -v hi="$hi" -v names="$*" '
    function clamp(x) { return x < lo ? lo : (hi != "" && x > hi ? hi : x) }
    BEGIN { split(names, ds, " ") }
    { d = ds[$1 + 1]; print p "-h" $2, d, clamp($3)
      print p "-h" $2 "-lower", d, clamp($4); print p "-h" $2 "-upper", d, clamp($5) }' "$file"
}
{
  expected "$T/cpu.off" "$host/forecast-nab-ec2/percent-cpu" 0 100.1 value
  expected "$T/net.off" "$host/forecast-nab-net/if_octets" 0 "" rx tx
} >"$T/expected"

: >"$T/got"
for name in $(awk '{ print $1 }' "$T/expected" | sort -u); do
  collectdctl -s "$T/sock" getval "$name" | sed "s|^|$name |; s|=| |" >>"$T/got" ||
    fail "getval $name failed"
done
sort "$T/expected" >"$T/expected.sorted"
sort "$T/got" >"$T/got.sorted"
join -j1 <(awk '{ print $1 "/" $2, $3 }' "$T/expected.sorted" | sort) \
  <(awk '{ print $1 "/" $2, $3 }' "$T/got.sorted" | sort) >"$T/joined"
compared=$(wc -l <"$T/joined")
[ "$compared" -eq $((horizon * 3 * 3)) ] ||
  fail "compared $compared values, want $((horizon * 3 * 3)): $(cat "$T/got")"
awk '{ want = $2; got = $3; d = got - want; if (d < 0) d = -d
       a = want < 0 ? -want : want
       tol = ($1 ~ /if_octets/) ? 0.2 + 1e-6 * a : 1e-6 * (a > 1 ? a : 1)
       if (d > tol) { print "mismatch:", $0; bad = 1 } }
     END { exit bad }' "$T/joined" || fail "collectd's forecasts differ from forecast-offline's"
note "$compared published forecasts match the library's offline output"

kill "$pid"
wait "$pid" 2>/dev/null
assert_grep "Exiting normally" "$T/collectd.log" "collectd did not stop cleanly"
assert_no_grep "forecast plugin:.*\(failed\|error\)" "$T/collectd.log"
exit 0
