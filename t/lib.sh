# t/lib.sh: helpers for integration tests (sourced by bash scripts).
# Exit codes follow automake: 0 pass, 77 skip, 99 hard error, other fail.

set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?run through make check}"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*"; }

need_integration() {
  [ "${PATMON_INTEGRATION:-1}" = 0 ] && skip "integration tests disabled (PATMON_INTEGRATION=0)"
  return 0
}
need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root: $*"; }
need_cmd() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done
}

# A private work dir removed at exit, and pids and commands to clean up.
T=$(mktemp -d "${TMPDIR:-/tmp}/patmon-test.XXXXXX")
_cleanups=()
at_exit() { _cleanups+=("$*"); }
_run_cleanups() {
  local i
  for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[i]}" >/dev/null 2>&1 || true; done
  rm -rf "$T"
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS CMD...: polls CMD every 20 ms until it succeeds.
wait_for() {
  local limit=$1 start=$SECONDS
  shift
  while ! "$@"; do
    [ $((SECONDS - start)) -ge "$limit" ] && return 1
    sleep 0.02
  done
}

# assert_grep PATTERN FILE [MESSAGE]
assert_grep() { grep -q -- "$1" "$2" || fail "${3:-expected /$1/ in $2}"; }
assert_no_grep() { ! grep -q -- "$1" "$2" || fail "${3:-unexpected /$1/ in $2}"; }

# collectd_conf FILE HOST: a private collectd configuration under $T
# (foreground-friendly, Interval 1, log to $T/collectd.log, csv under $T/csv,
# unixsock at $T/collectd.sock). Append plugin blocks to FILE after it.
collectd_conf() {
  mkdir -p "$T/csv"
  cat > "$1" <<EOC
Hostname "$2"
FQDNLookup false
BaseDir "$T"
PIDFile "$T/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  File "$T/collectd.log"
  LogLevel info
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "$T/csv"
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "$T/collectd.sock"
  SocketGroup "root"
</Plugin>
EOC
}
