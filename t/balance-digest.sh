#!/usr/bin/env bash
# balance-digest: configuration consistency on a CIB_file cluster. Three
# nodes publish their pattern set digests as the transient node attribute
# patmon-pattern-digest (as the collectd plugin does with attrd_updater;
# here crm_attribute --lifetime reboot writes the same status section). The
# digests are those of real pattern files (patmon-expand --digest).
# patmon-balance reports a node that differs from the majority once: in its
# log and through a config hook; a second pass says nothing (--explain
# still shows it); a change says it again; agreement again is said once.
. "$top_srcdir/t/lib.sh"
need_integration
. "$top_srcdir/t/balance-lib.sh"
need_pacemaker

echo 'pattern "lo" { class = nic  match = { "NAME==lo" } }' > "$T/a.conf"
printf '# the same, written otherwise\npattern lo {\n  class = "nic"\n  match = { "NAME == lo" }\n}\n' > "$T/a2.conf"
echo 'pattern "lo" { class = nic  match = { "NAME==lo" }  interval = 5 }' > "$T/b.conf"
echo 'pattern "eth" { class = nic  match = { "NAME==eth*" } }' > "$T/c.conf"
for f in a a2 b c; do
  eval "d_$f=\$(\"$top_builddir/patmon-expand\" -p \"$T/$f.conf\" --digest)" || fail "digest of $f.conf"
done
[ "$d_a" = "$d_a2" ] || fail "a.conf and a2.conf differ: $d_a $d_a2"
[ "$d_a" != "$d_b" ] && [ "$d_b" != "$d_c" ] || fail "digests should differ: $d_a $d_b $d_c"

cib_init default
for i in 1 2 3; do cib_node "$i" "n$i" 4; done
cib_primitive db
start_on n1 n2 n3 -- db:n1
node_rrd n1 20
node_rrd n2 20
node_rrd n3 20
svc_rrd n1 db 0.4
digest_of() { crm_attribute --node "$1" --name patmon-pattern-digest --update "$2" --lifetime reboot || fail "attribute on $1"; }
digest_of n1 "$d_a"
digest_of n2 "$d_a2"
digest_of n3 "$d_a"
printf '#!/bin/sh\nprintf "%%s\\n" "$1" >> "%s/told"\n' "$T" > "$T/hook.sh"
chmod +x "$T/hook.sh"
write_config "estimate = \"latest\"
z = 0
hook \"told\" {
  command = {\"$T/hook.sh\", \"%e %n: %m\"}
  on = {\"config\"}
}"
told() { grep -cF "$1" "$T/told" 2> /dev/null || true; }
short() { echo "${1:0:12}"; }

# 1. All alike (a.conf and a2.conf are the same set): nothing reported.
balance --once --explain || fail "pass 1 failed"
assert_grep "^patterns: the 3 nodes publishing a digest agree ($(short "$d_a"))" "$T/out"
assert_no_grep "pattern sets" "$T/err"
[ -e "$T/told" ] && fail "a hook ran while all agree: $(cat "$T/told")"

# 2. n3 takes b.conf: reported once, in the log and to the hook.
digest_of n3 "$d_b"
line="pattern sets differ: n3 has $(short "$d_b"); the majority (2 of 3: n1, n2) has $(short "$d_a")"
balance --once --explain || fail "pass 2 failed"
assert_grep "warning: $line" "$T/err"
assert_grep "^patterns: $line" "$T/out"
[ "$(told "config n3: $line")" = 1 ] || fail "hook not told once: $(cat "$T/told")"
balance --once --explain || fail "pass 3 failed"
assert_no_grep "pattern sets" "$T/err" "said again with nothing changed"
assert_grep "^patterns: $line" "$T/out"
[ "$(wc -l < "$T/told")" = 1 ] || fail "hook told again: $(cat "$T/told")"
# A dry run neither reports nor forgets.
balance --once --dry-run --explain || fail "dry run failed"
assert_no_grep "pattern sets" "$T/err"

# 3. n3 changes to c.conf: a change, said again.
digest_of n3 "$d_c"
line="pattern sets differ: n3 has $(short "$d_c"); the majority (2 of 3: n1, n2) has $(short "$d_a")"
balance --once || fail "pass 4 failed"
assert_grep "warning: $line" "$T/err"
[ "$(told "config n3: $line")" = 1 ] || fail "change not told: $(cat "$T/told")"
balance --once || fail "pass 5 failed"
assert_no_grep "pattern sets" "$T/err" "said again with nothing changed"

# 4. n2 stops publishing (its collectd is gone): n1 against n3, no
# majority, and --explain names n2.
crm_attribute --node n2 --name patmon-pattern-digest --delete --lifetime reboot || fail "delete"
balance --once --explain || fail "pass 6 failed"
assert_grep "pattern sets differ and none has a majority" "$T/err"
assert_grep "^patterns: no digest from n2" "$T/out"

# 5. All alike again: said once.
digest_of n2 "$d_a"
digest_of n3 "$d_a2"
balance --once --explain || fail "pass 7 failed"
assert_grep "pattern sets agree again: the 3 nodes publishing a digest agree" "$T/err"
assert_grep "^patterns: the 3 nodes publishing a digest agree" "$T/out"
balance --once || fail "pass 8 failed"
assert_no_grep "pattern sets" "$T/err"
[ "$(told "config -: pattern sets agree again")" = 1 ] || fail "agreement not told once: $(cat "$T/told")"
[ "$(wc -l < "$T/told")" = 4 ] || fail "hook told $(wc -l < "$T/told") times, want 4: $(cat "$T/told")"
echo "PASS: nodes whose pattern sets differ from the majority are reported once per change"
