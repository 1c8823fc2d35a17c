#!/usr/bin/env bash
# balance-rrdcached: reading collectd's files through rrdcached. A real
# rrdcached in the test's directory holds the latest samples of h1 (95%) and
# h2 (50%) that their files do not have yet (10% and 20%): the balancer sees
# them only because it asks the daemon to flush each file before reading it,
# with the option rrdcached or, when it is not set, RRDCACHED_ADDRESS. A
# daemon that is not there: each file's error names the address, nothing is
# read from it, and the pass goes on.
. "$top_srcdir/t/lib.sh"
need_integration
need_cmd rrdcached rrdtool
. "$top_srcdir/t/balance-lib.sh"
unset RRDCACHED_ADDRESS
mk() { "$MKRRD" "$@" >/dev/null || fail "balance-mkrrd $*"; }
mk --ago 60 "$RRD/h1/cpu/percent-active.rrd" 10 600 GAUGE value=10
mk --ago 60 "$RRD/h2/cpu/percent-active.rrd" 10 600 GAUGE value=20

sock=$T/rrdcached.sock
rrdcached -g -l "unix:$sock" -p "$T/rrdcached.pid" -b "$RRD" -w 3600 \
  -f 7200 >"$T/rrdcached.log" 2>&1 &
pid=$!
at_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
wait_for 30 test -S "$sock" || fail "rrdcached did not start: $(cat "$T/rrdcached.log")"

# Samples up to now through the daemon, as collectd's rrdcached plugin
# sends them; the daemon writes them only when asked (-w 3600).
cached() { # HOST VALUE
  local f=$RRD/$1/cpu/percent-active.rrd t last
  last=$(rrdtool last "$f") || fail "rrdtool last $f"
  for ((t = last + 10; t <= $(date +%s); t += 10)); do
    rrdtool update --daemon "unix:$sock" "$f" "$t:$2" || fail "update $f"
  done
  [ "$(rrdtool last "$f")" = "$last" ] || fail "rrdcached wrote $f already"
}
cached h1 95
cached h2 50

nodes() { # NODE...: the static inventory
  local n
  for n in "$@"; do printf 'node "%s" {\n  cpu = "4"\n}\n' "$n"; done
}
pass() { # NAME: a dry run with --explain into $T/NAME, its log in NAME.err
  "$BAL" -c "$T/balance.conf" --once --dry-run --explain >"$T/$1" \
    2>"$T/$1.err" || fail "$1: $(cat "$T/$1.err")"
  sed 's/^/#   /' "$T/$1"
}

# rrdcached = "" reads the files as they are, whatever the environment.
base_config "estimate = \"latest\"
source = \"static\"
rrdcached = \"\"
$(nodes h1 h2)"
RRDCACHED_ADDRESS=unix:$sock pass direct
assert_grep '^h1 .* 0.40/4.00 *10%' "$T/direct"
assert_grep '^h2 .* 0.80/4.00 *20%' "$T/direct"

# A daemon that is not there: h1 and h2 each say so, with the address.
base_config "estimate = \"latest\"
source = \"static\"
rrdcached = \"unix:$T/none.sock\"
$(nodes h1 h2)"
pass down
for n in h1 h2; do
  assert_grep "node $n cpu: $RRD/$n/cpu/percent-active.rrd: rrdcached unix:$T/none.sock: flush failed: cannot connect: No such file or directory" "$T/down.err"
  assert_grep "node $n cpu: .*rrdcached unix:$T/none.sock" "$T/down"
done

# The option: h1 is flushed first, and read at 95%.
base_config "estimate = \"latest\"
source = \"static\"
rrdcached = \"unix:$sock\"
$(nodes h1)"
pass option
assert_grep '^h1 .* 3.80/4.00 *95%' "$T/option"
[ "$(rrdtool last "$RRD/h2/cpu/percent-active.rrd")" -lt "$(rrdtool last "$RRD/h1/cpu/percent-active.rrd")" ] ||
  fail "h2 flushed by a pass that does not read it"

# Unset: RRDCACHED_ADDRESS, as rrdtool's commands take it.
base_config "estimate = \"latest\"
source = \"static\"
$(nodes h2)"
RRDCACHED_ADDRESS=unix:$sock pass env
assert_grep '^h2 .* 2.00/4.00 *50%' "$T/env"

# Ten nodes in one pass: the flushes run several at a time ahead of the
# reads, and each file is read after its own flush's answer (h1 and h2
# have nothing left to flush). A file matched to another's answer would be
# read at its 5%.
for k in 3 4 5 6 7 8 9 10; do
  mk --ago 60 "$RRD/h$k/cpu/percent-active.rrd" 10 600 GAUGE value=5
  cached "h$k" $((5 * k + 20))
done
base_config "estimate = \"latest\"
source = \"static\"
rrdcached = \"unix:$sock\"
$(nodes h1 h2 h3 h4 h5 h6 h7 h8 h9 h10)"
pass many
assert_grep '^h1 .* 3.80/4.00 *95%' "$T/many"
assert_grep '^h2 .* 2.00/4.00 *50%' "$T/many"
for k in 3 4 5 6 7 8 9 10; do
  assert_grep "^h$k .* $(awk -v v=$((5 * k + 20)) 'BEGIN { printf "%.2f/4.00 *%d%%", v / 25, v }')" "$T/many"
done
echo "PASS"
