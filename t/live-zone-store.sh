#!/usr/bin/env bash
# live-zone-store: the zone record store (balancer/pcmk-zone.c, through
# t/zone-store: the daemon's own code) on a live 4-node cluster
# (t/cluster-lib.sh). The zones' instances decide things once for all by
# creating a record only if it is absent (a grant, an adoption): 20
# creators of one key, 5 on each node, started at once, must give exactly
# one winner, and every node must then read the winner's value. Records
# overwritten from any node keep their place (creation order), every node
# reads the same list, deletes are idempotent, the CIB stays valid and
# Pacemaker says nothing about the records but an error line per refused
# create. Times of each operation are
# noted (a busy machine: not asserted).
. "$top_srcdir/t/lib.sh"
. "$top_srcdir/t/cluster-lib.sh"
cluster_test "$@"

t0=$SECONDS
ZS=$CL_BUILD/t/zone-store
[ -x "$ZS" ] || fail "$ZS is not built"
cluster_start 4
ROUNDS=${ZONE_STORE_ROUNDS:-5}

for ((round = 1; round <= ROUNDS; round++)); do
  rm -f "$T/go" "$T"/rc.*
  pids=()
  for c in $(seq 1 20); do
    n=$(((c - 1) % 4 + 1))
    (
      while [ ! -e "$T/go" ]; do sleep 0.005; done
      on "$n" "$ZS" create "race.$round" "c$c-node$n" > "$T/out.$c" 2>&1
      echo $? > "$T/rc.$c"
    ) &
    pids+=($!)
  done
  t_go=$EPOCHREALTIME
  touch "$T/go"
  wait "${pids[@]}"
  took=$(awk -v a="$t_go" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  winners=() others=""
  for c in $(seq 1 20); do
    case $(cat "$T/rc.$c") in
      0) winners+=("c$c-node$(((c - 1) % 4 + 1))") ;;
      3) ;;
      *) others+=" c$c: $(cat "$T/rc.$c") $(cat "$T/out.$c")" ;;
    esac
  done
  [ -z "$others" ] || fail "round $round: creators failed otherwise than 'exists':$others"
  [ ${#winners[@]} -eq 1 ] || fail "round $round: ${#winners[@]} creators won: ${winners[*]}"
  reader=$((round % 4 + 1))
  got=$(on "$reader" "$ZS" read | awk -v k="race.$round" '$1 == k { print $2 }')
  [ "$got" = "${winners[0]}" ] || fail "round $round: node$reader reads '$got', the winner was ${winners[0]}"
  note "round $round: 20 creators on 4 nodes, one winner (${winners[0]}), 19 told it exists, in $took s; node$reader reads it"
done

# Overwrites keep the order of creation; every node reads the same.
on 2 "$ZS" set post.a "pass=1 spare=1/-/-" || fail "set post.a"
on 3 "$ZS" set post.b "pass=1 spare=2/-/-" || fail "set post.b"
on 4 "$ZS" create req.a.1 "to=b units=x@0.5/-/-" || fail "create req.a.1"
on 1 "$ZS" set post.a "pass=2 spare=0.5/-/-" || fail "set post.a again"
for n in 1 2 3 4; do on "$n" "$ZS" read > "$T/read.$n" || fail "read on node$n"; done
for n in 2 3 4; do
  cmp -s "$T/read.1" "$T/read.$n" || fail "node$n reads otherwise than node1: $(diff "$T/read.1" "$T/read.$n")"
done
[ "$(grep -v '^race\.' "$T/read.1")" = "post.a pass=2 spare=0.5/-/-
post.b pass=1 spare=2/-/-
req.a.1 to=b units=x@0.5/-/-" ] || fail "records out of order or not updated: $(cat "$T/read.1")"
on 3 "$ZS" delete req.a.1 || fail "delete"
on 1 "$ZS" delete req.a.1 || fail "delete of an absent record"
on 2 "$ZS" read | grep -q '^req\.a\.1 ' && fail "req.a.1 still there"

# Pacemaker: the CIB is valid, and the records draw no warning or error
# from it but one: the CIB manager (pacemaker-based) logs each refused create
# ("error: CIB Update failures" and the element, a line each), which is
# what a lost race costs (counted, and documented in patmon-balance(8)).
crm crm_verify --live-check > "$T/verify" 2>&1 || fail "crm_verify: $(cat "$T/verify")"
grep -h -i -E '(warning|error):' "$CL"/node*/log-pacemaker/pacemaker.log > "$T/said"
refused=$(grep -c 'cib_process_create.*error: CIB Update failures .*<failed_update id="patmon-zone-race\.' "$T/said")
if grep -v 'cib_process_create.*error: CIB Update failures ' "$T/said" | grep -i 'patmon-zone' > "$T/other"; then
  fail "Pacemaker warns about the records: $(head -5 "$T/other")"
fi
note "pacemaker-based logged $refused refused creates as CIB Update failures ($((ROUNDS * 19)) lost races, on each of the 4 nodes); nothing else names a record"

# What each operation costs live, from node2 (10 of each; a busy machine).
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f\n", (b - a) * 1000 }'; }
for op in create set read delete; do
  : > "$T/t.$op"
  for i in $(seq 1 10); do
    t=$EPOCHREALTIME
    case $op in
      create) on 2 "$ZS" create "t.$i" "v$i" ;;
      set) on 2 "$ZS" set "t.$i" "w$i" ;;
      read) on 2 "$ZS" read > /dev/null ;;
      delete) on 2 "$ZS" delete "t.$i" ;;
    esac || fail "$op t.$i"
    ms "$t" "$EPOCHREALTIME" >> "$T/t.$op"
  done
  note "$op from node2: $(sort -n "$T/t.$op" | awk '{ v[NR] = $1 } END { printf "median %d ms, min %d, max %d", v[int((NR + 1) / 2)], v[1], v[NR] }')"
done
note "load: $(uptime | sed 's/.*load/load/')"
note "live-zone-store: $((SECONDS - t0)) s in all"
echo PASS
