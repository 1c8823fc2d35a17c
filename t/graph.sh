#!/bin/bash
# t/graph.sh: patmon-graph on RRD files made here with rrdtool, laid out as
# collectd's rrdtool plugin and the forecast plugin lay them out. A process'
# CPU (ps_cputime, microseconds per second in user and syst) is drawn as
# percent of a core; the prediction interval is drawn only where the
# forecast has one (not before the first forecast, not where the interval
# has no width); a threshold, marks and a warning are accepted; bad options
# and missing files are refused with a clear message. With -A, the
# availability figures per node and resource, from RRD files with known
# values: lowest and last printed exactly.
. "$top_srcdir/t/lib.sh"
need_cmd rrdtool
graph=$top_srcdir/contrib/graphs/patmon-graph
d=$T/rrd/node1
mkdir -p "$d/processes-web" "$d/forecast-processes-web"

# 90 steps of 10 s. Measured: user 300,000 + syst 100,000 us/s = 40% of a
# core, with a peak of 900,000 + 100,000 = 100% at step 40. Forecast (h1):
# none for the first 30 steps, an interval +-50,000 us/s per data source for
# the next 30, then a flat series with an interval of no width.
step=10 n=90
t0=$(($(date +%s) / step * step - n * step))
mk() { # FILE: an RRD with user and syst, one value per step
  rrdtool create "$1" --step $step --start $((t0 - step)) \
    DS:user:GAUGE:$((2 * step)):U:U DS:syst:GAUGE:$((2 * step)):U:U RRA:AVERAGE:0.5:1:$n ||
    fail "rrdtool create $1"
}
for f in processes-web/ps_cputime forecast-processes-web/ps_cputime-h1 \
  forecast-processes-web/ps_cputime-h1-lower forecast-processes-web/ps_cputime-h1-upper; do
  mk "$d/$f.rrd"
done
upd() { # FILE AWK-EXPRESSION-FOR-USER: the updates, syst always 100,000
  awk -v t0=$t0 -v s=$step -v n=$n "BEGIN { for (i = 1; i <= n; i++) {
    u = $2; if (u != \"\") printf \"%d:%s:%s\n\", t0 + i * s, u, (u == \"U\" ? \"U\" : 100000) } }" > "$T/upd"
  xargs -a "$T/upd" rrdtool update "$1" || fail "rrdtool update $1"
}
upd "$d/processes-web/ps_cputime.rrd" '(i == 40 ? 900000 : 300000)'
upd "$d/forecast-processes-web/ps_cputime-h1.rrd" '(i <= 30 ? "U" : 300000)'
upd "$d/forecast-processes-web/ps_cputime-h1-lower.rrd" '(i <= 30 ? "U" : i <= 60 ? 250000 : 300000)'
upd "$d/forecast-processes-web/ps_cputime-h1-upper.rrd" '(i <= 30 ? "U" : i <= 60 ? 350000 : 300000)'

run() { "$graph" -d "$T/rrd" -H node1 -h 1 -s $((t0 + step)) -e $((t0 + n * step)) "$@"; }
run -T 80 -m "$((t0 + 40 * step)):web moved to node2" -W "the machine was too busy" \
  -o "$T/web.png" processes-web/ps_cputime > "$T/out" 2> "$T/err" ||
  fail "patmon-graph: status $?: $(cat "$T/err")"
cat "$T/out"
[ "$(head -1 "$T/out")" = "$T/web.png" ] || fail "the PNG's name is not printed first: $(cat "$T/out")"
[ "$(head -c 8 "$T/web.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$T/web.png is not a PNG"
line=$(sed -n 2p "$T/out")
# Percent of a core: user + syst, times 1e-4.
[[ $line == *"largest 100.0, last 40.0 % of a core"* ]] || fail "not in percent of a core: $line"
# The band: 30 of 90 steps have an interval of some width; the graph starts
# one step in, and the forecast is shifted one step later.
share=$(sed -n 's/.*interval drawn on \([0-9]*\)% of the graph/\1/p' <<< "$line")
[ -n "$share" ] || fail "no share of the band printed: $line"
[ "$share" -ge 30 ] && [ "$share" -le 37 ] || fail "the interval is drawn on $share% of the graph, not about a third"

# One data source, a factor and a label of one's own.
run -D syst -S 0.001 -l "ms/s" -o "$T/syst.png" processes-web/ps_cputime > "$T/out" ||
  fail "patmon-graph -D syst: status $?"
grep -q "largest 100.0, last 100.0 ms/s" "$T/out" || fail "-D syst -S 0.001: $(cat "$T/out")"

# Bad command lines: status 2 and what is wrong; a missing file: status 1
# and its name.
bad() { # STATUS MESSAGE ARGS...
  local want=$1 msg=$2 st=0
  shift 2
  run "$@" > /dev/null 2> "$T/err" || st=$?
  [ $st = "$want" ] || fail "patmon-graph $*: status $st, not $want"
  grep -qF -- "$msg" "$T/err" || fail "patmon-graph $*: no '$msg' in: $(cat "$T/err")"
}
bad 2 "-T 8O%: not a number" -T 8O% -o "$T/x.png" processes-web/ps_cputime
bad 2 "-S x: not a number" -S x -o "$T/x.png" processes-web/ps_cputime
bad 2 "-m 12h:x: not TIME:TEXT" -m 12h:x -o "$T/x.png" processes-web/ps_cputime
bad 2 "-h 0: not a horizon" -h 0 -o "$T/x.png" processes-web/ps_cputime
bad 1 "has no data source idle" -D user+idle -o "$T/x.png" processes-web/ps_cputime
bad 1 "no $d/processes-db/ps_cputime.rrd" -o "$T/x.png" processes-db/ps_cputime
[ ! -e "$T/x.png" ] || fail "a PNG was written for a bad command line"
# -A: availability over time, as patmon-balance publishes it through
# collectd (type percent, data source value). 90 steps: node n1 at 100%
# for 50 steps, then 95%; resource db at 100%, then 98.79% from step 61;
# resource web unknown (U) for its first 30 steps, then 99.5%. The 7d
# window has only n1's file.
a=$T/rrd/hub
mkpct() { # FILE AWK-EXPRESSION: collectd's percent type, one value per step
  mkdir -p "$(dirname "$1")"
  rrdtool create "$1" --step $step --start $((t0 - step)) \
    DS:value:GAUGE:$((2 * step)):0:100 RRA:AVERAGE:0.5:1:$n || fail "rrdtool create $1"
  awk -v t0=$t0 -v s=$step -v n=$n "BEGIN { for (i = 1; i <= n; i++) printf \"%d:%s\n\", t0 + i * s, $2 }" > "$T/upd"
  xargs -a "$T/upd" rrdtool update "$1" || fail "rrdtool update $1"
}
mkpct "$a/availability-node_n1/percent-24h.rrd" '(i <= 50 ? 100 : 95)'
mkpct "$a/availability-resource_db/percent-24h.rrd" '(i <= 60 ? 100 : 98.79)'
mkpct "$a/availability-resource_web/percent-24h.rrd" '(i <= 30 ? "U" : 99.5)'
mkpct "$a/availability-node_n1/percent-7d.rrd" '(i <= 50 ? 100 : 99)'
arun() { "$graph" -A -d "$T/rrd" -H hub -s $((t0 + step)) -e $((t0 + n * step)) "$@"; }
arun -o "$T/avail.png" > "$T/out" 2> "$T/err" || fail "patmon-graph -A: status $?: $(cat "$T/err")"
cat "$T/out"
[ "$(head -c 8 "$T/avail.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$T/avail.png is not a PNG"
# Every availability-* of the host, in name order, with exact figures.
printf '%s\n' "$T/avail.png" \
  "  node_n1: lowest 95.000, last 95.000 % over 24h" \
  "  resource_db: lowest 98.790, last 98.790 % over 24h" \
  "  resource_web: lowest 99.500, last 99.500 % over 24h" > "$T/want"
diff "$T/want" "$T/out" || fail "patmon-graph -A printed otherwise"
# Chosen names and another window.
arun -w 7d -t "n1, 7 days" -o "$T/avail7.png" node_n1 > "$T/out" || fail "patmon-graph -A -w 7d: status $?"
grep -qx "  node_n1: lowest 99.000, last 99.000 % over 7d" "$T/out" || fail "-w 7d: $(cat "$T/out")"
# A graph that ends before n1's drop (step 45): lowest 100.
"$graph" -A -d "$T/rrd" -H hub -s $((t0 + step)) -e $((t0 + 45 * step)) -o "$T/a45.png" node_n1 > "$T/out" ||
  fail "patmon-graph -A before the drop: status $?"
grep -qx "  node_n1: lowest 100.000, last 100.000 % over 24h" "$T/out" || fail "before the drop: $(cat "$T/out")"
# (bad runs with run's options; -A and the later -H take over)
bad 2 "-w 1y: not 24h, 7d or 30d" -A -H hub -w 1y -o "$T/y.png"
bad 2 "db: not node_NAME or resource_NAME" -A -H hub -o "$T/y.png" db
bad 1 "no $a/availability-resource_db/percent-30d.rrd" -A -H hub -w 30d -o "$T/y.png" resource_db
bad 1 "no $T/rrd/nohost/availability-*/percent-24h.rrd" -A -H nohost -o "$T/y.png"
[ ! -e "$T/y.png" ] || fail "a PNG was written for a bad -A command line"
exit 0
