#!/usr/bin/env bash
# Real events through the hotplug library, each reported by t/hp-watch within
# the debounce window plus slack: veth pairs (in hp-watch's private network
# namespace), a zram disk, a tmpfs mount (in its private mount namespace),
# and the Pacemaker alert agent run as hacluster with the environment
# Pacemaker gives it (resource and node alerts), for a recipient taken from
# contrib/pacemaker/alerts.xml loaded into a CIB_file.
. "$top_srcdir/t/lib.sh"
need_integration
need_root "veth pairs, zram and mounts"
need_cmd ip unshare nsenter setpriv cibadmin crm_attribute crm_verify
getent passwd hacluster >/dev/null || skip "needs the hacluster user (pacemaker)"

agent=$top_builddir/contrib/pacemaker/patmon-alert
. "$top_srcdir/t/hotplug-lib.sh"
need_zram
chmod 755 "$T" # hacluster must reach the socket

# The example alert, loaded as Pacemaker would see it; its recipient is moved
# into the test's directory.
export CIB_file=$T/cib.xml
cibadmin --empty >"$CIB_file"
crm_attribute -n stonith-enabled -v false
crm_attribute -n no-quorum-policy -v ignore
cibadmin --create -o configuration --xml-file "$top_srcdir/contrib/pacemaker/alerts.xml" ||
  fail "alerts.xml does not load into a CIB"
crm_verify -x "$CIB_file" || fail "the CIB with alerts.xml does not verify"
recipient=$(cibadmin -Q --xpath '//alert[@id="patmon"]/recipient' | sed -n 's/.*value="\([^"]*\)".*/\1/p')
[ "$recipient" = /run/patmon/events.sock ] || fail "unexpected recipient '$recipient'"
sock=$T${recipient}
mkdir -p "${sock%/*/*}" # the library makes the last directory itself

start_watch 'shift; exec "$@"' -u -m -s "$sock" -g haclient
note "$(head -1 "$out"), socket $(stat -c '%A %U:%G' "$sock")"

veth_cycle
zram_cycle

# A tmpfs mount in the private mount namespace.
mkdir "$T/mnt"
step
in_ns mount -t tmpfs -o size=1m hp-test "$T/mnt"
# A batch's kinds are "(mount)", or "(device, mount)" when another test's
# zram disk came in the same window (tests run in parallel).
expect "mount" "[(, ]mount[,)]"
step
in_ns umount "$T/mnt"
expect "umount" "[(, ]mount[,)]"

# The alert agent, as Pacemaker runs it: hacluster, a clean environment.
node=$(uname -n)
alert() { # TASK RC NODE RSC [VAR=VALUE...]
  local task=$1 rc=$2 n=$3 rsc=$4
  shift 4
  env -i PATH=/usr/bin:/bin CRM_alert_version=2.1.5 CRM_alert_recipient="$sock" \
    CRM_alert_node_sequence=$RANDOM CRM_alert_timestamp="$(date +%H:%M:%S.%6N)" \
    CRM_alert_kind=resource CRM_alert_node="$n" CRM_alert_rsc="$rsc" CRM_alert_task="$task" \
    CRM_alert_interval=0 CRM_alert_rc="$rc" CRM_alert_target_rc=0 CRM_alert_status=0 \
    CRM_alert_desc=ok "$@" \
    setpriv --reuid hacluster --regid haclient --init-groups "$agent"
}
for task in start:start migrate_from:migrate migrate_to:migrate stop:stop; do
  step
  alert "${task%:*}" 0 "$node" fs_srv || fail "alert ${task%:*} exited $?"
  expect "alert ${task%:*}" "resource ${task#*:} fs_srv"
done

# Node alerts, for any node (Pacemaker runs them on every member).
for state in lost member; do
  step
  alert - 0 other-node - CRM_alert_kind=node CRM_alert_desc=$state CRM_alert_nodeid=2 ||
    fail "node alert $state exited $?"
  expect "node alert $state" "node $state other-node"
done
# A fencing alert: its target fenced (rc 0); a failed fencing is ignored.
step
alert - 1 other-node - CRM_alert_kind=fencing CRM_alert_desc=failed || fail "failed fencing alert exited $?"
alert - 0 other-node - CRM_alert_kind=fencing CRM_alert_desc=ok || fail "fencing alert exited $?"
expect "fencing alert" "node fenced other-node"

# Ignored: failures, other operations, other nodes, other kinds, no
# recipient. A marker sent after them arrives without them (the socket keeps
# the order of what was sent).
step
alert start 1 "$node" failed_rsc
alert monitor 0 "$node" monitored_rsc
alert start 0 "not-$node" remote_rsc
alert start 0 "$node" cancelled_rsc CRM_alert_status=1
alert start 0 "$node" kind_rsc CRM_alert_kind=node
alert start 0 "$node" norecip_rsc CRM_alert_recipient=
t0=$(date +%s%3N) # the latency is the last alert's (each is a process run as hacluster)
alert start 0 "other-node" override_rsc patmon_node=other-node
expect "alert filters" "resource start override_rsc"
! new_batches | grep -Eq "(failed|monitored|remote|cancelled|kind|norecip)_rsc" ||
  fail "an ignored alert was sent: $(new_batches)"

# Not sent and said: a name patmon would drop, a socket hacluster cannot use.
if alert start 0 "$node" "bad name" 2>"$T/err"; then fail "a bad resource name was accepted"; fi
assert_grep "not one patmon accepts" "$T/err"
chmod 0600 "$sock"
if alert start 0 "$node" fs_srv 2>"$T/err"; then fail "sent without permission"; fi
assert_grep "Permission denied" "$T/err"
chmod 0660 "$sock"
# No socket (patmon not running): nothing to do, success, and quick.
start=$(date +%s%3N)
alert start 0 "$node" fs_srv CRM_alert_recipient="$T/absent.sock" 2>"$T/err" ||
  fail "an absent socket is an error: $(cat "$T/err")"
[ $(($(date +%s%3N) - start)) -lt 1000 ] || fail "the agent took a second without a socket"
[ ! -s "$T/err" ] || fail "the agent complained without a socket: $(cat "$T/err")"
# A node alert no one hears waits in patmon_spool, dated by Pacemaker; a
# resource alert does not.
mkdir -m 0777 "$T/spool.d"
alert - 0 other-node - CRM_alert_kind=node CRM_alert_desc=lost CRM_alert_recipient="$T/absent.sock" \
  CRM_alert_timestamp_epoch=1700000100 CRM_alert_timestamp_usec=250999 patmon_spool="$T/spool.d/spool" ||
  fail "spooling a node alert failed"
alert start 0 "$node" fs_srv CRM_alert_recipient="$T/absent.sock" patmon_spool="$T/spool.d/spool" ||
  fail "a resource alert with patmon_spool failed"
[ "$(cat "$T/spool.d/spool")" = "1700000100250 node lost other-node" ] || fail "spool: $(cat "$T/spool.d/spool")"

# Nothing else was reported, and hp-watch stops cleanly on SIGTERM.
kill "$pid"
wait "$pid" || fail "hp-watch exited $? on SIGTERM"
[ ! -e "$sock" ] || fail "the socket was left behind"
assert_no_grep "dropped" "$out"
exit 0
