#!/bin/bash
# t/man-pages.sh: the man pages against the code. Every installed program
# answers --help (on standard output, status 0) and --version (its name and
# configure's version); the options its --help lists and those its man page
# describes are the same; the options each plugin and the gmond module take
# (their option tables in the source) are those their man page describes;
# every man page's FILES that make install puts in place are there.
. "$top_srcdir/t/lib.sh"
root=$T/root
make -s -C "$top_builddir" install DESTDIR="$root" > "$T/install.log" 2>&1 ||
  fail "make install failed: $(tail -20 "$T/install.log")"
version=$(sed -n 's/^VERSION = //p' "$top_builddir/Makefile")
# A make variable of the build, expanded (sysconfdir is ${prefix}/etc).
var() { printf 'print-%%:\n\t@echo $($*)\n' | make -s --no-print-directory -C "$top_builddir" -f Makefile -f - "print-$1"; }
installed() { find "$root" -name "$1" \( -type f -o -type l \) | head -1; }
man=$top_builddir/man

# The text of a man page's section (roff escapes of - and fonts removed).
section() { # PAGE SECTION
  sed -n "/^\.SH \"\{0,1\}$2/,/^\.SH /p" "$man/$1" | sed '$d' | sed 's/\\-/-/g; s/\\f[BIRP]//g'
}
sorted() { sort -u | sed '/^$/d'; }
same() { # WHAT A-FILE B-FILE A-NAME B-NAME [empty-ok]: the same lists
  [ "${6:-}" = empty-ok ] || { [ -s "$2" ] && [ -s "$3" ]; } || fail "$1: nothing found in $4 or $5"
  comm -23 "$2" "$3" | awk -v w="$4 has, $5 has not: " '{ print w $0 }' > "$T/diff"
  comm -13 "$2" "$3" | awk -v w="$5 has, $4 has not: " '{ print w $0 }' >> "$T/diff"
  [ -s "$T/diff" ] && fail "$1: $(cat "$T/diff")"
  return 0
}

n=0
for p in "patmon-expand man1" "patmon-graph man1" "patmon-balance man8" "patmon-alert man8"; do
  name=${p% *} sec=${p#* }
  page=$name.${sec#man}
  bin=$(installed "$name")
  [ -x "$bin" ] || fail "$name is not installed"
  [ -f "$root$(var mandir)/$sec/$page" ] || fail "man page $page is not installed"
  "$bin" --help > "$T/help" 2> "$T/help.err" || fail "$name --help: status $?: $(cat "$T/help.err")"
  [ -s "$T/help" ] || fail "$name --help printed nothing on standard output"
  [ "$("$bin" --version | head -1)" = "$name $version" ] ||
    fail "$name --version: '$("$bin" --version | head -1)', want '$name $version'"
  grep -o -- '--[a-z][a-z-]*' "$T/help" | sorted > "$T/help.long"
  grep -o '^ *-[a-zA-Z]\b' "$T/help" | tr -d ' ' | sorted > "$T/help.short"
  section "$page" OPTIONS > "$T/opts"
  grep -o -- '--[a-z][a-z-]*' "$T/opts" | sorted > "$T/man.long"
  grep '^\.B' "$T/opts" | grep -o -- '\(^\|[^a-zA-Z-]\)-[a-zA-Z]\b' | grep -o -- '-[a-zA-Z]' | sorted > "$T/man.short"
  same "$name: long options" "$T/help.long" "$T/man.long" "--help" "$page"
  same "$name: short options" "$T/help.short" "$T/man.short" "--help" "$page" empty-ok
  n=$((n + 1))
done
note "$n programs: --help, --version and their man pages' options agree"

# Options in the source tables: {"Name", OPT_...} rows.
table() { grep -o '{"[A-Za-z_]*", OPT_' "$top_srcdir/$1" | sed 's/{"\([A-Za-z_]*\)".*/\1/' | sorted; }
# The options a man page section describes: the tags of its .TP/.TQ items
# (".BI Window \" n\"", ".BR event_debounce \", \" event_max_delay").
tags() { # PAGE SECTION
  section "$1" "$2" | awk '/^\.T[PQ]/ { getline; print }' | grep '^\.B' |
    sed 's/^\.B[IR]* //; s/ *", *" */\n/g' | awk '{ print $1 }' | tr -d '"<>' | sorted
}
# The follower's options (follow/follow.c), shared by the plugin and the
# module: {"CollectdName", "gmond_name", is_string, ...} rows; column 1 or 2.
follow_table() {
  grep -o '{"[A-Za-z]*", "[a-z_]*", \(true\|false\)' "$top_srcdir/follow/follow.c" |
    cut -d'"' -f$((2 * $1)) | sorted
}
{ table plugins/pattern.c; follow_table 1; } | sorted > "$T/code"
tags collectd-patmon.5 OPTIONS > "$T/doc"
same "pattern plugin options" "$T/code" "$T/doc" "plugins/pattern.c and follow/follow.c" "collectd-patmon(5)"
table plugins/forecast.c > "$T/code"
tags collectd-patmon.5 "THE FORECAST PLUGIN" > "$T/doc"
same "forecast plugin options" "$T/code" "$T/doc" "plugins/forecast.c" "collectd-patmon(5)"
# <Series> parts: part_names[] against the words its paragraph sets in bold.
sed -n '/part_names\[N_PARTS\] = {/,/};/p' "$top_srcdir/plugins/forecast.c" | grep -o '"[A-Za-z]*"' |
  tr -d '"' | sorted > "$T/code"
section collectd-patmon.5 "THE FORECAST PLUGIN" | sed -n '/^\.B <Series>/,/^\.TP/p' |
  sed -n '1,/^a value list/p' | grep -o '^\.BR* [A-Z][A-Za-z]*' | awk '{ print $2 }' | sorted > "$T/doc"
same "<Series> parts" "$T/code" "$T/doc" "plugins/forecast.c" "collectd-patmon(5)"
{ table plugins/gmond_patmon.c; follow_table 2; } | sorted > "$T/code"
tags gmond-patmon.5 PARAMETERS > "$T/doc"
same "gmond module params" "$T/code" "$T/doc" "plugins/gmond_patmon.c and follow/follow.c" "gmond-patmon(5)"
note "plugin and module options match their man pages"

# FILES: what lies under an install directory must be installed.
dirs=("$(var prefix)" "$(var sysconfdir)" "$(var collectdplugindir)" "$(var gmondmoduledir)")
checked=0
for page in "$man"/*.[158]; do
  for f in $(section "$(basename "$page")" FILES | grep '^\.I' | grep -o '/[^ ,"]*'); do
    for d in "${dirs[@]}"; do
      case $f in
      "$d"/*)
        [ -e "$root$f" ] || fail "$(basename "$page") FILES: $f is not installed"
        checked=$((checked + 1))
        break
        ;;
      esac
    done
  done
done
[ "$checked" -ge 10 ] || fail "only $checked FILES paths checked"
note "$checked installed paths named under FILES exist"
echo "PASS: man pages agree with the programs, plugins and module"
