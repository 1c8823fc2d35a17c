#!/bin/bash
# How t/data/pattern/proc/ was captured (run once as root; not run by tests):
# stat, cmdline, status and the exe link of a few real processes, so the
# process provider is tested on real /proc contents.
set -eu
out=${1:-proc}
rm -rf "$out"
mkdir -p "$out"
bash -c 'exec -a nginx-worker sleep 300' &
s1=$!
runuser -u nobody -- sleep 301 &
sleep 0.3
s2=$(pgrep -u nobody -n sleep)
for pid in 1 2 "$s1" "$s2"; do
  mkdir "$out/$pid"
  cp "/proc/$pid/stat" "/proc/$pid/cmdline" "/proc/$pid/status" "$out/$pid/"
  # Kept as text: release tarballs dereference symlinks. The test rebuilds
  # the link in a copy of the tree.
  if target=$(readlink "/proc/$pid/exe"); then echo "$target" > "$out/$pid/exe.target"; fi
done
mkdir "$out/self-not-a-pid" # non-numeric entries are ignored
touch "$out/self-not-a-pid/.keep"
kill "$s1" "$s2"
