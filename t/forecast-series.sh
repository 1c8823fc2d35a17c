# t/forecast-series.sh: which series the forecast plugin takes. A <Series>
# part written "/.../" is a regular expression (collectd's convention), any
# other a glob; the log says which each part was taken as, a glob that looks
# like a regex is warned about, and only the value lists that match are
# forecast (their forecasts are read back with collectdctl).
. "$top_srcdir/t/lib.sh"
need_integration
need_cmd collectd collectdctl awk
so_dir="$top_builddir/.libs"
[ -f "$so_dir/forecast.so" ] || skip "forecast.so not built"
host=patmon-test
n=30 # samples per series first: the first fit of Model "ar" is due at 24

collectd_conf "$T/collectd.conf" "$host"
cat >>"$T/collectd.conf" <<EOF
WriteThreads 1
PluginDir "$so_dir"
LoadPlugin forecast
<Plugin forecast>
  <Series>
    Plugin "/^nab(cpu|load)$/"
    TypeInstance "/^act/"
  </Series>
  <Series>
    Plugin "glob*"
    Type "gauge"
  </Series>
  <Series>
    Plugin "cpu|load"
  </Series>
  Window 24
  Model "ar"
  Horizon 2
</Plugin>
EOF
collectd -f -C "$T/collectd.conf" >"$T/stdout" 2>&1 &
pid=$!
at_exit "kill $pid; wait $pid"
wait_for $WAIT test -S "$T/collectd.sock" || fail "collectd did not start: $(cat "$T/stdout" "$T/collectd.log")"

log=$T/collectd.log
assert_grep 'forecast plugin: <Series> 1: Plugin regex /^nab(cpu|load)$/, TypeInstance regex /^act/' "$log"
assert_grep 'forecast plugin: <Series> 2: Plugin glob "glob\*", Type glob "gauge"' "$log"
assert_grep 'forecast plugin: <Series> Plugin "cpu|load" is taken as a glob (\* ? \[...\]); for a regular expression write "/cpu|load/"' "$log"

# Each identifier: forecast (1) or not (0).
ids=(
  "nabcpu/percent-active 1"   # both regexes match
  "nabload/percent-actual 1"  # the alternative, and ^act
  "nabcpu/percent-idle 0"     # TypeInstance does not match
  "nabcpux/percent-active 0"  # $ anchors the plugin
  "mynabcpu/percent-active 0" # and ^
  "globber/gauge 1"           # the glob
  "globber/percent-active 0"  # Type is not gauge
  "xglobber/gauge 0"          # globs match whole parts
)
# n samples, then (after the read callback fitted the models) two more:
# forecasts are published with each sample after the first fit.
t0=$(($(date +%s) - 10 * n - 100))
samples() { # FROM TO
  awk -v t0=$t0 -v a="$1" -v b="$2" 'BEGIN { for (i = a; i < b; i++)
    printf " %d:%.1f", t0 + 10 * i, 40 + 20 * sin(i / 3) + (i % 4) }'
}
putval() { # FROM TO
  local line
  for line in "${ids[@]}"; do
    collectdctl -s "$T/collectd.sock" putval "$host/${line% *}" interval=10 $(samples "$1" "$2") >/dev/null ||
      fail "putval ${line% *}"
  done
}
putval 0 $n
sleep 3 # the read callback runs every second
putval $n $((n + 2))

listed() { collectdctl -s "$T/collectd.sock" listval | grep -qx "$1"; }
for line in "${ids[@]}"; do
  id=${line% *} want=${line#* }
  plugin=${id%%/*} type=${id#*/}
  fc="$host/forecast-$plugin/$type-h2-upper"
  if [ "$want" = 1 ]; then
    wait_for $WAIT listed "$fc" || fail "$id not forecast: $(collectdctl -s "$T/collectd.sock" listval | grep forecast)"
    assert_grep "forecast plugin: forecasting $host/$id\$" "$log"
  else
    assert_no_grep "forecasting $host/$id\$" "$log" "$id forecast although no <Series> matches it"
  fi
done
# The forecasts of the last matching one are out: every sample went through.
sleep 1
for line in "${ids[@]}"; do
  [ "${line#* }" = 0 ] || continue
  id=${line% *}
  listed "$host/forecast-${id%%/*}/${id#*/}-h1" && fail "$id forecast although no <Series> matches it"
done

# A bad regular expression stops collectd at start, naming it.
sed -i 's|Plugin "glob\*"|Plugin "/glob(/"|' "$T/collectd.conf"
kill "$pid"
wait "$pid" 2>/dev/null
status=0
timeout "$WAIT" collectd -f -C "$T/collectd.conf" >"$T/bad.out" 2>&1 || status=$?
[ $status -ne 0 ] && [ $status -ne 124 ] || fail "collectd took a bad regex (status $status)"
grep -q 'forecast plugin: <Series> Plugin "/glob(/": bad regular expression: ' "$T/collectd.log" "$T/bad.out" ||
  fail "no error for the bad regex: $(tail -5 "$T/collectd.log")"
echo "PASS: <Series> takes /regex/ and globs, says which, forecasts only what matches"
