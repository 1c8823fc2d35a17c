#!/bin/bash
# t/package.sh: the Debian packages, as a maintainer and an operator meet
# them (./quickstart test, stage "package"; needs root, installs packages on
# this machine and purges them). From a copy of this tree:
#   1. dpkg-buildpackage -us -uc -b builds the five packages (unit tests run
#      in the build);
#   2. lintian reports no error (its other tags are printed);
#   3. dpkg -i installs them: files in Debian's places, /etc/patmon as
#      conffiles, the balancer's unit installed but not enabled, every
#      program answers --version, man pages for every program and plugin;
#   4. collectd runs with the installed configuration (/etc/patmon/
#      collectd.conf, the default pattern file) until the plugin expanded
#      it, and gmond loads the installed module configuration;
#   5. dpkg --purge removes them, leaving nothing behind: the file listing of
#      the machine (outside the test's own directories) is what it was
#      before the install.
# Usage (from make check's environment, or by hand):
#   top_srcdir=. top_builddir=build t/package.sh
. "$top_srcdir/t/lib.sh"
need_integration
need_root "installs and purges Debian packages"
need_cmd dpkg-buildpackage dh lintian dpkg collectd gmond
packages=(patmon collectd-patmon ganglia-modules-patmon patmon-balance patmon-alert)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'installed' &&
    fail "$p is installed already: purge it first (dpkg --purge ${packages[*]})"
done
version=$(sed -n 's/^VERSION = //p' "$top_builddir/Makefile")
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# 1. Build from a copy of the tree (tracked and new files), as a clean
# checkout would.
src=$T/src/patmon-$version
mkdir -p "$src"
if git -C "$top_srcdir" rev-parse --git-dir > /dev/null 2>&1; then
  (cd "$top_srcdir" && git ls-files --cached --others --exclude-standard -z | tar -cf - --null -T -)
else # an unpacked release: everything but build trees
  (cd "$top_srcdir" && tar -cf - --exclude='./build*' --exclude='./debian/build' .)
fi | tar -xf - -C "$src" || fail "cannot copy the tree"
[ "$(cd "$src" && dpkg-parsechangelog -S Version)" = "$version" ] ||
  fail "debian/changelog's version $(cd "$src" && dpkg-parsechangelog -S Version) is not configure's $version"
t0=$SECONDS
(cd "$src" && dpkg-buildpackage -us -uc -b) > "$T/build.log" 2>&1 ||
  fail "dpkg-buildpackage failed: $(tail -40 "$T/build.log")"
note "dpkg-buildpackage -us -uc -b: $((SECONDS - t0)) s"
# Every unit test ran and passed (not a count written here: it grows).
total=$(awk '$1 == "#" && $2 == "TOTAL:" { print $3 }' "$T/build.log")
passed=$(awk '$1 == "#" && $2 == "PASS:" { print $3 }' "$T/build.log")
[ "${total:-0}" -gt 0 ] && [ "$passed" = "$total" ] ||
  fail "the unit tests did not all run and pass in the build: $(grep '^# ' "$T/build.log")"
debs=()
for p in "${packages[@]}"; do
  debs+=("$T/src/${p}_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb")
  [ -f "${debs[-1]}" ] || fail "not built: ${debs[-1]}"
done

# 2. lintian
lintian --fail-on error --display-info "$T/src/patmon_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).changes" \
  > "$T/lintian.out" 2>&1 || fail "lintian: $(grep -v '^N:' "$T/lintian.out")"
note "lintian: $(grep -c '^[EW]:' "$T/lintian.out") errors and warnings; $(grep '^[IWX]:' "$T/lintian.out" | tr '\n' ';')"

# 5 (before). The machine's files, outside what tests and logs touch.
listing() {
  find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /var/tmp \
    -o -path /work -o -path /root -o -path /var/log -o -path /var/cache -o -path /var/lib/dpkg \
    -o -path /var/lib/apt -o -path /var/lib/ucf -o -path "$T" \) -prune -o -print 2> /dev/null | sort
  find /run -xdev 2> /dev/null | grep -v '^/run/user' | sort
}
listing > "$T/before"

# 3. Install.
at_exit "dpkg --purge ${packages[*]} > /dev/null 2>&1"
dpkg -i "${debs[@]}" > "$T/install.log" 2>&1 || fail "dpkg -i failed: $(cat "$T/install.log")"
in_pkg() { # PACKAGE PATH: PATH belongs to PACKAGE
  dpkg -L "$1" | grep -qx "$2" || fail "$1 does not install $2"
}
in_pkg patmon /etc/patmon/patterns.conf
in_pkg patmon /usr/bin/patmon-expand
in_pkg patmon /usr/bin/patmon-graph
in_pkg patmon /usr/share/doc/patmon/examples/patterns/example.conf
in_pkg collectd-patmon /usr/lib/collectd/pattern.so
in_pkg collectd-patmon /usr/lib/collectd/forecast.so
in_pkg collectd-patmon /etc/patmon/collectd.conf
in_pkg ganglia-modules-patmon "/usr/lib/$multiarch/ganglia/modpatmon.so"
in_pkg ganglia-modules-patmon /etc/patmon/gmond.conf
in_pkg patmon-balance /usr/sbin/patmon-balance
in_pkg patmon-balance /etc/patmon/balance.conf
in_pkg patmon-balance /lib/systemd/system/patmon-balance.service
in_pkg patmon-alert /usr/libexec/patmon/patmon-alert
for p in "${packages[@]}"; do
  dpkg -L "$p" | grep -q '^/usr/share/man/man[158]/.*\.gz$' || fail "$p has no man page"
  [ -e "/usr/share/doc/$p/copyright" ] || fail "$p: no /usr/share/doc/$p/copyright"
done
for c in patterns balance collectd gmond; do
  dpkg-query -W -f='${Conffiles}\n' "${packages[@]}" | grep -q "^ /etc/patmon/$c.conf " ||
    fail "/etc/patmon/$c.conf is not a conffile"
done
ls /etc/systemd/system/*.wants/patmon-balance.service > /dev/null 2>&1 &&
  fail "patmon-balance.service was enabled"
for b in /usr/bin/patmon-expand /usr/bin/patmon-graph /usr/sbin/patmon-balance /usr/libexec/patmon/patmon-alert; do
  [ "$("$b" --version | head -1)" = "$(basename "$b") $version" ] || fail "$b --version: $("$b" --version)"
done
assert_grep "^default pattern file: /etc/patmon/patterns.conf\$" <(/usr/bin/patmon-expand --version) \
  "patmon-expand does not default to /etc/patmon/patterns.conf"
/usr/bin/patmon-expand > "$T/expand.out" 2>&1 || fail "patmon-expand with the installed patterns: $(cat "$T/expand.out")"
/usr/sbin/patmon-balance --check > "$T/check.out" 2>&1 || fail "patmon-balance --check: $(cat "$T/check.out")"

# 4. collectd with the installed configuration: the plugins from
# /usr/lib/collectd, the default pattern file, the default entries file.
collectd_conf "$T/collectd.conf" package-test
echo 'Include "/etc/patmon/collectd.conf"' >> "$T/collectd.conf"
collectd -f -C "$T/collectd.conf" > "$T/collectd.out" 2>&1 &
cd_pid=$!
at_exit "kill $cd_pid"
wait_for $WAIT grep -qs "pattern plugin: [0-9]* entries from /etc/patmon/patterns.conf" "$T/collectd.log" ||
  fail "the installed plugin did not expand the installed patterns: $(cat "$T/collectd.out" "$T/collectd.log")"
wait_for $WAIT test -s /var/lib/collectd/patmon/entries.json || fail "no /var/lib/collectd/patmon/entries.json"
assert_grep "forecast plugin: 2 series pattern(s)" "$T/collectd.log"
wait_for $WAIT eval 'ls "$T/csv/package-test/pattern/" 2> /dev/null | grep -q count-entries' ||
  fail "no values from the installed plugin: $(ls -R "$T/csv")"
kill "$cd_pid"
wait "$cd_pid" || fail "collectd exited with status $?"
note "collectd: $(grep -o 'pattern plugin: [0-9]* entries from /etc/patmon/patterns.conf' "$T/collectd.log")"
# gmond parses the installed module configuration, runs the module's init
# and lists its metrics.
cat > "$T/gmond.conf" <<EOF
globals {
  daemonize = no
  setuid = no
  debug_level = 0
}
cluster { name = "package-test" }
include ('/etc/patmon/gmond.conf')
EOF
timeout 30 gmond -c "$T/gmond.conf" -m > "$T/gmond.out" 2>&1 || fail "gmond -m: $(cat "$T/gmond.out")"
assert_grep "^patmon_entries" "$T/gmond.out" "gmond does not list the module's metrics: $(cat "$T/gmond.out")"

# 5. Purge: nothing left behind.
dpkg --purge "${packages[@]}" > "$T/purge.log" 2>&1 || fail "dpkg --purge failed: $(cat "$T/purge.log")"
listing > "$T/after"
if ! diff "$T/before" "$T/after" > "$T/left"; then
  fail "the purge left the machine changed: $(cat "$T/left")"
fi
echo "PASS: built, lintian-clean of errors, installed, ran collectd and gmond, purged without a trace"
