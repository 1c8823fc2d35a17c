#!/bin/bash
# udev itself as the judge of the pattern language. Generates conditions
# over this machine's block and net devices (their KERNEL, SUBSYSTEM,
# DEVTYPE, DRIVER, uevent properties, attributes and their parents'
# attributes: ==, !=, globs with classes, alternatives, escapes, trailing
# white space, missing attributes, ATTRS pairs on one or two parents), then
# asks `udevadm test` (a rules file with one rule per condition) and
# `patmon-expand --explain` (one pattern per condition and class) which
# devices each condition selects, and compares.
#
# Both run in a private mount and network namespace: tmpfs on /run, /dev
# and the rules directories, so udevadm writes nothing to the host and sees
# no udev database (patmon then sees the kernel's properties, as udev does);
# a private lo and a veth pair whose aliases end in blanks.
#
# The one deliberate difference (README, patmon-patterns(5)): NAME, which
# for udev is the name its rules assign and for patmon the interface's
# name. Such disagreements are listed and counted apart; any other fails.
# PATMON_KEEP=DIR keeps the conditions, rules, pattern file and results of a
# failing run in DIR.
. "$top_srcdir/t/lib.sh"
need_integration
need_root "private mount and network namespaces, udevadm test"
need_cmd unshare udevadm ip mount mknod
kernel_objects

if [ "${1:-}" != --inside ]; then
  unshare --mount --net --propagation private bash "$0" --inside
  exit $?
fi

# ---- the private namespaces ----
mount -t sysfs sysfs /sys || fail "cannot mount sysfs"  # this netns's NICs
mount -t tmpfs tmpfs /run || fail "cannot mount /run"
mount -t tmpfs tmpfs /dev || fail "cannot mount /dev"
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 444 /dev/urandom c 1 9
for d in /etc/udev/rules.d /usr/lib/udev/rules.d /lib/udev/rules.d; do
  [ -d "$d" ] && { mount -t tmpfs tmpfs "$d" || fail "cannot mount $d"; }
done
ip link set lo up
ip link set lo alias "loopback  " || true
ip link add pcA type veth peer name pcB || fail "cannot add a veth pair"
ip link set pcA alias "ATA     "
ip link set pcB alias $'tab\t'

SEP=$'\x1f' # between the parts of one condition (a rule's keys)
conds=$T/conds

# A value usable in a generated condition: short, no quote, no bar, no
# control character other than a tab, no glob character (the templates
# below add their own).
usable() {
  local no_tabs=${1//$'\t'/}
  [ ${#1} -le 60 ] && [[ "$1" != *[\"\|\*\?\[\\]* ]] && ! [[ "$no_tabs" =~ [[:cntrl:]] ]]
}

# emit KEY VALUE: the conditions generated for one key with one value.
emit() {
  local k=$1 v=$2 t
  printf '%s==%s\n%s!=%s\n%s==?*\n%s==\n%s!=\n' "$k" "$v" "$k" "$v" "$k" "$k" "$k"
  printf '%s==none|%s\n%s==[[:alpha:]]*\n%s==*[[:digit:]]\n%s==[![:digit:]]*\n' \
    "$k" "$v" "$k" "$k" "$k"
  [ -n "$v" ] || return 0
  printf '%s==%s*\n%s==*%s\n%s==%s?*\n' "$k" "${v:0:2}" "$k" "${v: -1}" "$k" "${v:0:1}"
  printf '%s==\\%s\n%s==\\%s*\n%s!=\\%s*\n' "$k" "$v" "$k" "${v:0:1}" "$k" "${v:0:1}"
  t=${v%"${v##*[![:space:]]}"} # without trailing white space
  if [ "$t" != "$v" ]; then
    printf '%s==%s\n%s!=%s\n%s==%s \n%s==%s*\n' "$k" "$t" "$k" "$t" "$k" "$t" "$k" "$t"
  fi
}

# The attributes (regular files) of one sysfs device directory, a few.
attrs_of() {
  local f n=0
  for f in "$1"/*; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    echo "${f##*/}"
    n=$((n + 1))
    [ $n -ge "${2:-14}" ] && break
  done
}

# An attribute's value as udev reads it (a NUL ends it; trailing newlines go).
read_attr() { { tr -d '\000' < "$1"; } 2>/dev/null; }

devices=()
for s in /sys/class/block/* /sys/class/net/*; do
  [ -e "$s" ] && devices+=("$(readlink -f "$s")")
done
[ ${#devices[@]} -gt 0 ] || skip "no block or net devices"

for s in "${devices[@]}"; do
  k=${s##*/}
  emit KERNEL "$k"
  emit SUBSYSTEM "$(basename "$(readlink "$s/subsystem")")"
  drv=""
  [ -L "$s/driver" ] && drv=$(basename "$(readlink "$s/driver")")
  emit DRIVER "$drv"
  while IFS='=' read -r key val; do
    [ -n "$key" ] || continue
    [ "$key" = DEVTYPE ] && emit DEVTYPE "$val"
    usable "$val" && emit "ENV{$key}" "$val"
  done < "$s/uevent"
  [ "$(basename "$(readlink "$s/subsystem")")" = net ] && emit NAME "$k"
  for a in $(attrs_of "$s"); do
    if v=$(read_attr "$s/$a") && usable "$v"; then
      emit "ATTR{$a}" "$v"
      emit "ATTRS{$a}" "$v"
    else
      printf 'ATTR{%s}!=x\nATTR{%s}==*\nATTRS{%s}!=x\n' "$a" "$a" "$a"
    fi
  done
  # Parents: each one's attributes, and pairs on one parent or across two.
  prev_a="" prev_v=""
  p=${s%/*}
  while [ "$p" != /sys ] && [ "$p" != /sys/devices ] && [ -n "$p" ]; do
    if [ -f "$p/uevent" ]; then
      first_a="" first_v=""
      for a in $(attrs_of "$p" 8); do
        v=$(read_attr "$p/$a") && usable "$v" || continue
        emit "ATTRS{$a}" "$v"
        if [ -n "$first_a" ]; then
          echo "ATTRS{$first_a}==$first_v${SEP}ATTRS{$a}==$v"
          echo "ATTRS{$first_a}!=$first_v${SEP}ATTRS{$a}==$v"
          echo "ATTRS{$first_a}==$first_v${SEP}ATTRS{$a}!=$v"
        else
          first_a=$a first_v=$v
        fi
      done
      if [ -n "$prev_a" ] && [ -n "$first_a" ]; then
        echo "ATTRS{$prev_a}==$prev_v${SEP}ATTRS{$first_a}==$first_v"
        echo "ATTRS{$prev_a}!=$prev_v${SEP}ATTRS{$first_a}==$first_v"
      fi
      [ -n "$first_a" ] && prev_a=$first_a prev_v=$first_v
    fi
    p=${p%/*}
  done
done > "$conds.all"
{
  cat "$conds.all"
  printf 'ATTR{patmon_none}==\nATTR{patmon_none}!=x\nATTRS{patmon_none}!=x\n'
  printf 'ATTRS{patmon_none}==*\nENV{PATMON_NONE}==\nENV{PATMON_NONE}!=x\n'
  printf 'KERNEL==[[:alpha:]][[:alpha:]]*|none\nKERNEL==[[:upper:]]*\n'
} | awk '!seen[$0]++' > "$conds"
n=$(wc -l < "$conds")

# One rule per condition for udev; one pattern per condition and class for
# patmon (a NAME condition only where patmon has it: NICs). patmon's
# DEVTYPE is udev's ENV{DEVTYPE} (udev rules have no DEVTYPE key).
rules=/etc/udev/rules.d/90-patmon-conformance.rules
awk -v sep="$SEP" '{
    n = split($0, part, sep); line = ""
    for (j = 1; j <= n; j++) {
      match(part[j], /[=!]=/)
      key = substr(part[j], 1, RSTART - 1)
      if (key == "DEVTYPE") key = "ENV{DEVTYPE}"
      line = line key substr(part[j], RSTART, 2) "\"" substr(part[j], RSTART + 2) "\", "
    }
    printf "%sENV{PATMON_T_%d}=\"1\"\n", line, NR
  }' "$conds" > "$rules"
awk -v sep="$SEP" '{
    n = split($0, part, sep); list = ""
    for (j = 1; j <= n; j++) {
      match(part[j], /[=!]=/)
      c = substr(part[j], 1, RSTART + 1) "\"" substr(part[j], RSTART + 2) "\""
      gsub(/\\/, "\\\\", c); gsub(/"/, "\\\"", c)
      list = list (j > 1 ? ", " : "") "\"" c "\""
    }
    split("disk partition nic", cls, " ")
    for (c = 1; c <= 3; c++) {
      if (cls[c] != "nic" && $0 ~ /^NAME/) continue
      printf "pattern \"c%d_%s\" {\n  class = %s\n  match = { %s }\n}\n", NR, cls[c], cls[c], list
    }
  }' "$conds" > "$T/patterns.conf"

"$top_builddir/patmon-expand" -p "$T/patterns.conf" --explain -o /dev/null > "$T/explain" 2> "$T/expand.err" ||
  [ $? -eq 1 ] || fail "patmon-expand failed: $(head -5 "$T/expand.err")"

# udev: which conditions held for each device (class and kernel name).
: > "$T/udev"
for s in "${devices[@]}"; do
  k=${s##*/}
  if [ "$(basename "$(readlink "$s/subsystem")")" = net ]; then
    cls=nic
  elif grep -q '^DEVTYPE=partition' "$s/uevent"; then
    cls=partition
  else
    cls=disk
  fi
  # The properties come on stdout; its log on stderr would interleave.
  udevadm test --action=add "$s" > "$T/udevadm.out" 2> "$T/udevadm.err" || continue
  grep -o '^PATMON_T_[0-9]*=1' "$T/udevadm.out" | sed "s/^PATMON_T_\([0-9]*\)=1/$cls $k \1/" >> "$T/udev"
  echo "$cls $k seen" >> "$T/udev"
done

# patmon: the same from --explain.
awk '/^[0-9]+ entr(y|ies) from/ { exit }
     /^(disk|partition|nic) [^ ]+ \(/ { cls = $1; obj = $2; print cls, obj, "seen"; next }
     /^  c[0-9]+_(disk|partition|nic): / {
       name = $1; sub(/:$/, "", name); split(name, a, "_"); sub(/^c/, "", a[1])
       rest = substr($0, length(name) + 5)
       if (rest ~ /^matched/ || rest ~ /^matches too/) print cls, obj, a[1]
     }' "$T/explain" > "$T/patmon"

# Compare over the devices both listed.
awk -v conds="$conds" -v sep="$SEP" '
  BEGIN { while ((getline line < conds) > 0) { n++; text[n] = line; gsub(sep, ", ", text[n]) } }
  FNR == 1 { side++ }
  $3 == "seen" { seen[side, $1 " " $2] = 1; dev[$1 " " $2] = 1; next }
  { hit[side, $1 " " $2, $3] = 1 }
  END {
    for (d in dev) {
      if (!seen[1, d] || !seen[2, d]) {
        printf "# %s: only %s listed it (it came or went meanwhile)\n", d, seen[1, d] ? "udev" : "patmon"
        continue
      }
      devs++
      split(d, dd, " ")
      for (i = 1; i <= n; i++) {
        if (dd[1] != "nic" && text[i] ~ /^NAME/) continue
        checks++
        u = hit[1, d, i] ? 1 : 0; p = hit[2, d, i] ? 1 : 0
        if (u == p) continue
        what = sprintf("%s: %s: udev %s, patmon %s", d, text[i], u ? "holds" : "does not hold",
                       p ? "holds" : "does not hold")
        if (text[i] ~ /^NAME/) { expected++; if (expected <= 3) print "expected (NAME): " what }
        else { bad++; if (bad <= 30) print "DISAGREE " what }
      }
    }
    printf "%d conditions over %d devices: %d checks, %d disagreements, %d expected (NAME)\n",
      n, devs, checks, bad + 0, expected + 0
    exit bad > 0 || devs == 0
  }' "$T/udev" "$T/patmon" || { [ -n "${PATMON_KEEP:-}" ] && cp -r "$T" "$PATMON_KEEP" && cp "$rules" "$PATMON_KEEP/"; false; } || fail "patmon and udev disagree (rules: $rules)"
