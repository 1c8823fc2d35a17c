#!/bin/bash
# patmon-expand as operators use it: help, bad input (clear error, output
# untouched), -o exit codes, snapshots that agree with the live scan, and a
# collectd snippet that the real collectd runs for exactly the expanded
# objects.
. "$top_srcdir/t/lib.sh"
need_integration

expand=$top_builddir/patmon-expand
data=$top_srcdir/t/data/pattern

"$expand" --help > "$T/help" || fail "--help failed"
assert_grep "Usage: patmon-expand" "$T/help"
"$expand" --format xml 2> "$T/err" && fail "unknown format accepted"
assert_grep "unknown format 'xml'" "$T/err"

# Every example pattern file shipped in contrib/ is valid.
for f in "$top_srcdir"/contrib/patterns/*.conf; do
  "$expand" -p "$f" -s "$data/snap-storage.json" > /dev/null 2> "$T/err" ||
    fail "$(basename "$f") does not expand: $(cat "$T/err")"
done

# A bad pattern file: exit 2, file:line and the text, the output untouched.
printf 'pattern "p" {\n  class = nic\n  match = { "NAME=~(lo" }\n}\n' > "$T/bad.conf"
echo "previous content" > "$T/out"
before=$(stat -c %i "$T/out")
"$expand" -p "$T/bad.conf" -o "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 2 ] || fail "bad file: exit $rc, want 2"
assert_grep "bad.conf:3: pattern \"p\": bad regex at offset 3" "$T/err"
assert_grep "'NAME=~(lo'" "$T/err"
[ "$(cat "$T/out")" = "previous content" ] || fail "output changed on error"
[ "$(stat -c %i "$T/out")" = "$before" ] || fail "output replaced on error"
"$expand" -p /nonexistent.conf 2> "$T/err" && fail "missing file accepted"
assert_grep "/nonexistent.conf: cannot read pattern file" "$T/err"

# -o: 0 written, 1 unchanged, 0 again after a change.
printf 'pattern "lo" {\n  class = nic\n  match = { "NAME==lo" }\n}\n' > "$T/p.conf"
"$expand" -p "$T/p.conf" -o "$T/out"
[ $? -eq 0 ] || fail "first write: want exit 0"
assert_grep "lo	nic	lo	lo" "$T/out"
"$expand" -p "$T/p.conf" -o "$T/out"
[ $? -eq 1 ] || fail "unchanged: want exit 1"
"$expand" -p "$T/p.conf" -o "$T/out" -f json
[ $? -eq 0 ] || fail "changed format: want exit 0"
assert_grep '"instance": "lo"' "$T/out"

# A pattern on the command name only still gets collectd a ProcessMatch on
# the full command line, which is what collectd matches against.
ln -s "$(command -v sleep)" "$T/pmcli$$"
"$T/pmcli$$" 60 &
at_exit "kill $!"
wait_for "$WAIT" grep -q "pmcli" "/proc/$!/cmdline" || fail "pmcli did not start"
printf 'pattern "c" { class = process  match = { "COMM==pmcli%s" } }\n' "$$" > "$T/comm.conf"
"$expand" -p "$T/comm.conf" -f collectd > "$T/comm.snippet" || fail "collectd format"
grep -F "ProcessMatch \"pmcli$$\" \"^(" "$T/comm.snippet" | grep -qF "/pmcli$$ 60)\$\"" ||
  fail "no ProcessMatch on the command line: $(cat "$T/comm.snippet")"

# A snapshot of this machine expands like the machine itself. (Devices
# other tests create and remove while this one runs are left out.)
cat > "$T/live.conf" <<'EOF'
pattern "nics" { class = nic  match = { "NAME!=pm[0-9]*|veth*|hp*" } }
pattern "mounts" { class = mount  match = { "FSTYPE!=proc|sysfs|cgroup*", "MOUNT!=/tmp/*" } }
pattern "disks" { class = disk  match = { "KERNEL!=loop*|zram*" }  name = "$attr{size}-%k" }
EOF
"$expand" --save-snapshot "$T/snap.json" || fail "save-snapshot failed"
assert_grep '"patmon_snapshot": 1' "$T/snap.json"
"$expand" -p "$T/live.conf" -f json > "$T/live.json" || fail "live expand"
"$expand" -p "$T/live.conf" -s "$T/snap.json" -f json > "$T/snap-exp.json" || fail "snapshot expand"
diff -u "$T/live.json" "$T/snap-exp.json" || fail "snapshot and live differ"
grep -q '"class": "nic"' "$T/live.json" || fail "no NIC in the live expansion"

# The collectd snippet, run by the real collectd for one cycle, reports
# exactly the expanded objects.
need_cmd collectd
bash -c 'exec -a patmon-cli-test sleep 60' &
sleeper=$!
at_exit "kill $sleeper"
cat > "$T/c.conf" <<'EOF'
pattern "lo" { class = nic  match = { "NAME==lo" } }
pattern "root" { class = mount  match = { "MOUNT==/" } }
pattern "sleeper" { class = process  match = { "CMDLINE==patmon-cli-test*" } name = "cli-sleeper" }
EOF
wait_for "$WAIT" grep -q patmon-cli-test "/proc/$sleeper/cmdline" || fail "sleeper did not start"
"$expand" -p "$T/c.conf" -f collectd -o "$T/snippet.conf" || fail "collectd format"
assert_grep 'Interface "lo"' "$T/snippet.conf"
assert_grep 'MountPoint "/"' "$T/snippet.conf"
assert_grep 'ProcessMatch "cli-sleeper" "^(patmon-cli-test 60)$"' "$T/snippet.conf"
collectd_conf "$T/collectd.conf" patmon-test
cat >> "$T/collectd.conf" <<EOF
Include "$T/snippet.conf"
EOF
collectd -f -C "$T/collectd.conf" > "$T/collectd.out" 2>&1 &
cd_pid=$!
at_exit "kill $cd_pid"
host=$T/csv/patmon-test
have_values() {
  ls "$host"/interface-lo/if_octets-* "$host"/df-root/df_complex-free-* \
    "$host"/processes-cli-sleeper/ps_count-* > /dev/null 2>&1
}
wait_for 20 have_values || {
  cat "$T/collectd.out" "$T/collectd.log"
  ls -R "$T/csv"
  fail "collectd did not report the expanded objects"
}
kill "$cd_pid"
wait "$cd_pid"
ls "$host" > "$T/dirs"
grep -E '^[0-9.]+,1(\.0+)?,' "$host"/processes-cli-sleeper/ps_count-* > /dev/null ||
  fail "collectd did not count exactly one matching process"
# Nothing beyond the expanded objects: one interface, one df instance.
[ "$(grep -c '^interface-' "$T/dirs")" -eq 1 ] || fail "extra interfaces: $(cat "$T/dirs")"
[ "$(grep -c '^df-' "$T/dirs")" -eq 1 ] || fail "extra mounts: $(cat "$T/dirs")"
# Parsing is linear in the number of patterns: a 4 MiB file of 37,000
# patterns (main took 353 s on one; the issue measured over 5 minutes).
awk 'BEGIN { for (i = 0; i < 37000; i++)
  printf "pattern \"p%d\" {\n  class = nic\n  match = { \"KERNEL==veth%d*\", \"ENV{ID_BUS}!=usb\" }\n  name = \"n%d-%%k\"\n}\n", i, i, i }' > "$T/big.conf"
echo '{"patmon_snapshot": 1, "classes": ["nic"], "objects": [{"class": "nic", "name": "eth0", "props": {"KERNEL": "eth0"}}]}' > "$T/one.json"
start=${EPOCHREALTIME//[.,]/}
timeout 120 "$expand" -p "$T/big.conf" -s "$T/one.json" > /dev/null ||
  fail "a $(($(stat -c %s "$T/big.conf") / 1024)) KiB pattern file: not expanded within 120 s"
note "$(($(stat -c %s "$T/big.conf") / 1024)) KiB, 37,000 patterns: parsed and expanded in $(((${EPOCHREALTIME//[.,]/} - start) / 1000)) ms"
echo "PASS: patmon-expand CLI"
