#!/bin/bash
# Unit patterns through sd-bus against a STAND-IN for systemd: systemd cannot
# run as PID 1 on the test machines, so t/standin-systemd owns
# org.freedesktop.systemd1 on a private dbus-daemon and answers ListUnits and
# ControlGroup. patmon's real sd-bus client is what is tested. Then, with the
# stand-in gone, unit patterns expand to nothing and say why.
. "$top_srcdir/t/lib.sh"
need_integration
need_cmd dbus-daemon

cat > "$T/bus.conf" <<EOF
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
EOF
dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile > "$T/dbus.log" 2>&1 &
bus_pid=$!
at_exit "kill $bus_pid"
wait_for 10 test -S "$T/bus" || fail "dbus-daemon did not start: $(cat "$T/dbus.log")"
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus"

cat > "$T/units" <<'EOF'
nfs-server.service active exited /system.slice/nfs-server.service
nfs-mountd.service active running /system.slice/nfs-mountd.service
nfs-idmapd.service inactive dead
postgresql@15-main.service active running /system.slice/system-postgresql.slice/postgresql@15-main.service
ssh.service active running /system.slice/ssh.service
EOF
"$top_builddir/t/standin-systemd" "$T/units" > "$T/standin.out" 2>&1 &
standin=$!
at_exit "kill $standin"
wait_for 10 grep -q ready "$T/standin.out" || fail "stand-in did not start: $(cat "$T/standin.out")"

cat > "$T/p.conf" <<'EOF'
pattern "nfs" { class = unit  match = { "UNIT==nfs-*.service", "STATE==active" } }
pattern "db" { class = unit  match = { "UNIT=~postgresql@(.+)\\.service" }  name = "pg-%1" }
EOF
expand=$top_builddir/patmon-expand
"$expand" -p "$T/p.conf" > "$T/list" || fail "expand failed"
cat > "$T/want" <<'EOF'
nfs	unit	nfs-mountd.service	nfs-mountd.service
nfs	unit	nfs-server.service	nfs-server.service
db	unit	pg-15-main	postgresql@15-main.service
EOF
diff -u "$T/want" "$T/list" || fail "unit expansion differs"
"$expand" -p "$T/p.conf" -f json > "$T/json" || fail "json failed"
assert_grep '"cgroup": "/system.slice/system-postgresql.slice/postgresql@15-main.service"' "$T/json"
"$expand" -p "$T/p.conf" -f collectd > "$T/snippet" || fail "collectd format failed"
assert_grep 'CGroup "system.slice/nfs-server.service"' "$T/snippet"

# No systemd on the bus: nothing, and the explanation says why.
kill "$standin"
wait "$standin" 2> /dev/null
"$expand" -p "$T/p.conf" --explain > "$T/explain" || fail "expand without systemd failed"
assert_grep "unit: 0 objects; systemd is not running (no org.freedesktop.systemd1 on the system bus)" "$T/explain"
assert_grep "0 entries from 2 patterns" "$T/explain"
echo "PASS: units through sd-bus (stand-in systemd)"
