# t/gmond-lib.sh: a private gmond on loopback with patmon's module, for the
# gmond test and benchmark (sourced after t/lib.sh).

# gmond_conf FILE SNIPPET PARAMS...: globals for a foreground gmond that
# cleans up every second, udp channels on 127.0.0.1:$gmond_udp, the XML on
# 127.0.0.1:$gmond_tcp, gmond's heartbeat, then SNIPPET (`patmon-expand
# --format gmond`) with the module's absolute path and each PARAM
# ("name value") added. Sets gmond_udp and gmond_tcp.
gmond_conf() {
  local file=$1 snippet=$2 params="" kv
  shift 2
  gmond_udp=$(free_port)
  gmond_tcp=$(free_port)
  [ "$gmond_udp" != "$gmond_tcp" ] || gmond_tcp=$((gmond_udp + 1))
  for kv in "$@"; do
    params+="\\
    param ${kv%% *} { value = \"${kv#* }\" }"
  done
  cat > "$file" <<EOF
globals {
  daemonize = no
  setuid = no
  debug_level = 0
  mute = no
  deaf = no
  host_dmax = 0
  cleanup_threshold = 1
  gexec = no
  send_metadata_interval = 10
}
cluster { name = "patmon-test" }
udp_send_channel { host = 127.0.0.1  port = $gmond_udp  ttl = 1 }
udp_recv_channel { bind = 127.0.0.1  port = $gmond_udp }
tcp_accept_channel { bind = 127.0.0.1  port = $gmond_tcp }
modules {
  module { name = "core_metrics" }
}
collection_group {
  collect_once = yes
  time_threshold = 5
  metric { name = "heartbeat" }
}
EOF
  sed -e "s|path = \"modpatmon.so\"|path = \"$top_builddir/.libs/modpatmon.so\"$params|" \
    -e 's|collect_every = 10|collect_every = 1|' "$snippet" >> "$file"
}

# start_gmond CONF OUT: gmond in the foreground (by absolute path, as its
# SIGHUP reload needs), stopped at exit; sets gmond_pid.
start_gmond() {
  /usr/sbin/gmond -c "$1" -f > "$2" 2>&1 &
  gmond_pid=$!
  at_exit "kill $gmond_pid"
}

# gmond's XML, read from its TCP port.
gmond_xml() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$gmond_tcp && cat <&3" 2> /dev/null
}
# xml_now: gmond's whole XML into $T/xml.now (three tries), or the test
# fails: a metric missing from a failed read is not a metric gone.
xml_now() {
  local i
  for i in 1 2 3; do
    gmond_xml > "$T/xml.now" && grep -q '</GANGLIA_XML>' "$T/xml.now" && return 0
    sleep 0.1
  done
  fail "cannot read gmond's XML on port $gmond_tcp"
}
# gmond_up: wait (10 s at most) until gmond serves its XML.
gmond_up() { wait_for "$WAIT" eval 'gmond_xml | grep -q "</GANGLIA_XML>"'; }
has_metric() { xml_now && grep -q "<METRIC NAME=\"$1\"" "$T/xml.now"; }

# Milliseconds since the epoch.
ms() { echo $(($(date +%s%N) / 1000000)); }
