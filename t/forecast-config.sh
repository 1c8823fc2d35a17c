# t/forecast-config.sh: bad <Plugin forecast> blocks stop a real collectd at
# start, with an error naming the option and its value; a good one starts.
# (collectd -t does not run plugin config callbacks in 5.12, so each config
# is started in the foreground: a bad one exits at once.)
. "$top_srcdir/t/lib.sh"
need_integration
need_cmd collectd timeout
so_dir="$top_builddir/.libs"
[ -f "$so_dir/forecast.so" ] || skip "forecast.so not built"

# Each case: the plugin block's body | the error expected ("" : must start).
cases=(
  'Windw 40|unknown option "Windw": use Series, Window, Horizon, RefitEvery, Model or Coverage'
  'Window 12|Window 12 is invalid: too small: model "auto" (p <= 4, q <= 2) needs at least 35 samples'
  'Window 20\nModel "ar"|Window 20 is invalid: too small: model "ar" (p <= 4, q <= 0) needs at least 24 samples'
  'Window 60.5|Window 60.5 is not a whole number of samples'
  'Window "big"|Window needs one number'
  'Horizon 0|Horizon 0 is invalid: must be between 1 and 64'
  'RefitEvery 0|RefitEvery 0 is invalid: must be at least 1'
  'Model "garch"|Model "garch" is unknown: use "auto", "ar", "ma" or "arma"'
  'Coverage 1.5|Coverage 1.5 is invalid: must be strictly between 0 and 1'
  'NOSERIES|no <Series> block: nothing to forecast'
  '<Series>\nHots "x"\n</Series>|unknown option "Hots" in <Series>: use Host, Plugin, PluginInstance, Type or TypeInstance'
  'Window 35\nModel "ARMA"|'
)

n=0
for c in "${cases[@]}"; do
  body=${c%%|*} want=${c#*|}
  series='<Series>
    Plugin "cpu"
  </Series>'
  [ "$body" = NOSERIES ] && body= series=
  n=$((n + 1))
  d="$T/case$n"
  mkdir -p "$d"
  cat >"$d/collectd.conf" <<EOF
Interval 1
BaseDir "$d"
PIDFile "$d/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
PluginDir "$so_dir"
LoadPlugin forecast
<Plugin forecast>
  $series
  $(printf '%b' "$body")
</Plugin>
EOF
  status=0
  # A bad config exits at once; a good one runs until timeout stops it.
  timeout 2 collectd -f -C "$d/collectd.conf" >"$d/out" 2>&1 || status=$?
  if [ -n "$want" ]; then
    [ $status -ne 0 ] && [ $status -ne 124 ] ||
      fail "case $n ($body): collectd did not refuse the config (status $status)"
    grep -qF "forecast plugin: $want" "$d/out" ||
      fail "case $n ($body): want \"$want\", got: $(cat "$d/out")"
    assert_no_grep "forecasting\|pattern(s), window" "$d/out" "case $n: half-configured"
  else
    [ $status -eq 124 ] || fail "case $n ($body): collectd exited ($status): $(cat "$d/out")"
    assert_grep "forecast plugin: 1 series pattern(s), window 35, horizon 6, refit every 10, model arma, coverage 0.8" "$d/out"
  fi
done
note "$n configurations checked"
exit 0
