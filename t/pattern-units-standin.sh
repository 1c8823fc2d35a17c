#!/bin/bash
# Unit patterns through sd-bus against a STAND-IN for systemd: systemd cannot
# run as PID 1 on the test machines, so t/standin-systemd owns
# org.freedesktop.systemd1 on a private dbus-daemon and answers ListUnits and
# ControlGroup. patmon's real sd-bus client is what is tested. Then, with the
# stand-in gone, unit patterns expand to nothing and say why.
. "$top_srcdir/t/lib.sh"
need_integration
cat > "$T/units" <<'EOF'
nfs-server.service active exited /system.slice/nfs-server.service
nfs-mountd.service active running /system.slice/nfs-mountd.service
nfs-idmapd.service inactive dead
postgresql@15-main.service active running /system.slice/system-postgresql.slice/postgresql@15-main.service
ssh.service active running /system.slice/ssh.service
EOF
standin_systemd "$T/units"

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
