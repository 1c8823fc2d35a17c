#!/bin/sh
# Regenerates the expected expansions from a build tree (default ../../../build).
# Review every diff by hand before committing: these files are the reference.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../../build}/patmon-expand
cd "$here"
for f in list json collectd gmond; do
  "$bin" -p storage.conf -s snap-storage.json -f "$f" > "storage.$f"
done
tmp=$(mktemp)
"$bin" -p storage.conf -s snap-storage.json --explain -o "$tmp" > storage.explain || true
rm -f "$tmp"
"$bin" -p ../../../contrib/patterns/example.conf -s snap-vm.json -f json > vm-example.json
