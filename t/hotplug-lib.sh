# t/hotplug-lib.sh: helpers for the hotplug integration scripts, sourced
# after t/lib.sh. hp-watch runs in private network and mount namespaces: its
# veths and mounts are invisible to everyone else, and it sees them as any
# process would.

watch=$top_builddir/t/hp-watch
debounce=100
slack=4900 # generous: the command itself, two cores shared with other builds (the time is noted)
out=$T/watch.out

# start_watch SETUP ARGS...: runs the bash code SETUP inside the namespaces
# (with $1 = $T, then the hp-watch command line to exec) and waits for
# hp-watch to be ready. Sets pid, the namespaces' holder.
start_watch() {
  local setup=$1
  shift
  unshare -n -m --propagation private bash -c "$setup" setup "$T" \
    "$watch" -d "$debounce" "$@" >"$out" 2>&1 &
  pid=$!
  at_exit "kill $pid; wait $pid"
  wait_for "$WAIT" grep -qs '^ready' "$out" || fail "hp-watch did not start: $(cat "$out")"
}
in_ns() { nsenter -t "$pid" -n -m "$@"; }

# step: remembers where the output is and when the action starts.
step() {
  seen=$(grep -c '^batch' "$out" || true)
  t0=$(date +%s%3N)
}
new_batches() { grep '^batch' "$out" | tail -n +$((seen + 1)); }

# expect WHAT PATTERN...: a batch since the step matches every PATTERN, the
# first one within the debounce plus slack of the step's start.
expect() {
  local what=$1 p line wall latency
  shift
  for p in "$@"; do
    wait_for "$WAIT" eval 'new_batches | grep -q -- "$p"' ||
      fail "$what: no batch with '$p' in: $(new_batches)"
  done
  line=$(new_batches | grep -- "$1" | head -1)
  wall=${line#batch wall_ms=}
  wall=${wall%% *}
  latency=$((wall - t0))
  note "$what: ${latency} ms: ${line#* age_ms=* }"
  [ "$latency" -le $((debounce + slack)) ] || fail "$what: ${latency} ms > $((debounce + slack)) ms"
}

# A veth pair added and deleted in hp-watch's network namespace.
veth_cycle() {
  step
  in_ns ip link add hpvA type veth peer name hpvB
  expect "veth add" "net add hpvA" "net add hpvB"
  step
  in_ns ip link del hpvA
  expect "veth del" "net remove hpvA"
}

# A zram disk added and removed: exactly the index hot_add gave us, and only
# while it is ours (indexes are reused at once by others' hot_add).
zram_cycle() {
  step
  zram_live=$(cat /sys/class/zram-control/hot_add)
  expect "zram add" "device add zram$zram_live"
  step
  wait_for "$WAIT" sh -c "echo $zram_live 2>'$T/zram.err' >/sys/class/zram-control/hot_remove" ||
    fail "zram$zram_live could not be removed: $(cat "$T/zram.err")"
  local zram=$zram_live
  zram_live=
  expect "zram remove" "device remove zram$zram"
}

need_zram() {
  [ -e /sys/class/zram-control/hot_add ] || skip "needs zram (/sys/class/zram-control)"
  kernel_objects
  zram_live=
  at_exit '[ -z "$zram_live" ] || echo "$zram_live" >/sys/class/zram-control/hot_remove'
}
