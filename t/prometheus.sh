#!/bin/bash
# t/prometheus.sh: a real Prometheus (Debian's package, on loopback, its own
# data directory, stopped by pid) scrapes collectd's write_prometheus plugin
# while the pattern plugin reads a process group, lo and the root filesystem
# and the forecast plugin forecasts the group's CPU. Prometheus must see the
# pattern plugin's values and the forecasts under the names README.md
# promises ("Prometheus"), and README's PromQL for "forecast above
# threshold" and for a forecast band must answer: above a threshold the
# worker reaches, nothing above one it cannot.
. "$top_srcdir/t/lib.sh"
need_integration
need_cmd collectd prometheus promtool ss
wp=/usr/lib/collectd/write_prometheus.so
[ -f "$wp" ] || skip "collectd's write_prometheus plugin is missing"
! ldd "$wp" | grep -q 'not found' ||
  skip "write_prometheus cannot load (apt-get install libprotobuf-c1 libmicrohttpd12): $(ldd "$wp" | grep 'not found' | tr -s '\t\n' ' ')"
host=patmon-prom
cd_port=$(free_port)
prom_port=$(free_port)
[ "$cd_port" != "$prom_port" ] || prom_port=$((cd_port + 1))

# A busy worker (a good part of a core), in one group of the pattern file.
(exec -a pmprom-worker bash -c 'exec 3<> <(:); while :; do
  for ((k = 0; k < 20000; k++)); do :; done; read -t 0.02 -u 3 _; done') &
worker=$!
at_exit "kill $worker"
cat > "$T/patterns.conf" <<EOF
pattern "worker" { class = process  match = { "CMDLINE==pmprom-worker *" }  name = "pmprom" }
pattern "lo" { class = nic  match = { "NAME==lo" } }
pattern "root" { class = mount  match = { "MOUNT==/" }  metrics = { space } }
EOF

collectd_conf "$T/collectd.conf" "$host" nocsv
cat >> "$T/collectd.conf" <<EOF
LoadPlugin write_prometheus
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "$cd_port"
</Plugin>
PluginDir "$top_builddir/.libs"
LoadPlugin pattern
LoadPlugin forecast
<Plugin pattern>
  PatternFile "$T/patterns.conf"
  EntriesFile "$T/entries.json"
</Plugin>
<Plugin forecast>
  <Series>
    Plugin "processes"
    Type "ps_cputime"
  </Series>
  Window 24
  Model "ar"
  Horizon 2
</Plugin>
EOF
# write_prometheus is a write plugin: the nocsv chain would stop values
# before it; this collectd writes to write_prometheus alone.
sed -i '/^PostCacheChain "nowrite"/,/^<\/Chain>/d' "$T/collectd.conf"
collectd -f -C "$T/collectd.conf" > "$T/collectd.out" 2>&1 &
cd_pid=$!
at_exit "kill $cd_pid"

cat > "$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: collectd
    honor_labels: true   # instance: collectd's host name, not the target
    static_configs:
      - targets: ['127.0.0.1:$cd_port']
EOF
promtool check config "$T/prometheus.yml" > "$T/promtool.out" 2>&1 || fail "promtool: $(cat "$T/promtool.out")"
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prometheus-data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn > "$T/prometheus.out" 2>&1 &
prom_pid=$!
at_exit "kill $prom_pid; wait $prom_pid"

# query EXPR: Prometheus's answer, one "labels => value @time" line a series.
query() { promtool query instant "http://127.0.0.1:$prom_port" "$1" 2> "$T/query.err"; }
has() { [ -n "$(query "$1")" ]; }
value() { query "$1" | sed -n 's/.* => \([^ ]*\) @.*/\1/p'; } # the first series'

# Names README.md promises for the pattern plugin's values.
for q in \
  "collectd_processes_ps_cputime_user_total{processes=\"pmprom\",instance=\"$host\"}" \
  "collectd_processes_ps_cputime_syst_total{processes=\"pmprom\"}" \
  "collectd_processes_ps_count_processes{processes=\"pmprom\"}" \
  "collectd_processes_ps_rss{processes=\"pmprom\"}" \
  "collectd_interface_if_octets_rx_total{interface=\"lo\"}" \
  "collectd_interface_if_packets_tx_total{interface=\"lo\"}" \
  "collectd_df_df_complex{df=\"root\",type=\"used\"}" \
  "collectd_pattern_count{pattern=\"entries\"}"; do
  wait_for $WAIT has "$q" || fail "Prometheus has no $q: $(cat "$T/query.err" "$T/prometheus.out" | tail -5)"
done
[ "$(value "collectd_processes_ps_count_processes{processes=\"pmprom\"}")" = 1 ] ||
  fail "ps_count: $(query "collectd_processes_ps_count_processes{processes=\"pmprom\"}")"

# The forecasts (24 samples at 1 s, then one more), each bound.
fc='collectd_forecast_ps_cputime_user_total{forecast="processes-pmprom"'
for b in h2 h2-lower h2-upper h1; do
  wait_for $((2 * WAIT)) has "$fc,type=\"$b\"}" || fail "no forecast $b in Prometheus: $(query '{__name__=~"collectd_forecast.*"}' | head -5)"
done
# README's PromQL: forecast (as % of a core) above a threshold, and the band.
above() { query "rate($fc,type=\"h2-upper\"}[10s]) / 1e4 > $1"; }
wait_for $WAIT eval '[ -n "$(above 1)" ]' || fail "the worker's forecast is not above 1% of a core: $(query "rate($fc,type=\"h2\"}[10s]) / 1e4")"
[ -z "$(above 1000)" ] || fail "a forecast above 1000% of a core: $(above 1000)"
band=$(value "rate($fc,type=\"h2-upper\"}[10s]) / 1e4 - ignoring(type) rate($fc,type=\"h2-lower\"}[10s]) / 1e4")
[ -n "$band" ] || fail "no band: $(cat "$T/query.err")"
awk -v b="$band" 'BEGIN { exit !(b + 0 >= 0) }' || fail "band narrower than nothing: $band"
note "forecast h2 $(value "rate($fc,type=\"h2\"}[10s]) / 1e4")% of a core, band $band points wide"
kill "$cd_pid"
wait "$cd_pid" || fail "collectd exited with status $?"
echo "PASS: Prometheus scrapes the pattern plugin's values and the forecasts under the README's names"
