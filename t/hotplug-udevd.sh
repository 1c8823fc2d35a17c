#!/usr/bin/env bash
# With udevd running, the library listens to the "udev" monitor (events after
# rule processing) instead of the kernel's. udevd is started by hand inside
# hp-watch's private namespaces, with private /dev, /run and empty rules
# directories: it touches nothing on the machine, and stops by pid.
. "$top_srcdir/t/lib.sh"
need_integration
need_root "udevd, veth pairs and zram"
need_cmd ip unshare nsenter mount umount
udevd=/lib/systemd/systemd-udevd
[ -x "$udevd" ] || skip "needs $udevd (udev)"
. "$top_srcdir/t/hotplug-lib.sh"
need_zram

at_exit 'kill $(cat "$T/udevd.pid"); wait_for "$WAIT" sh -c "! kill -0 $(cat "$T/udevd.pid")"'
# Inside the namespaces: /dev with only the nodes udevd needs (it would add
# /dev/block links), a tmpfs /run (its control socket and database), no rules
# (nothing runs for anyone's devices), then udevd, then hp-watch.
setup='set -e
T=$1
shift
mkdir "$T/hostdev"
mount --rbind /dev "$T/hostdev"
mount -t tmpfs -o mode=755 hp-dev /dev
for n in null zero full random urandom; do
  touch "/dev/$n"
  mount --bind "$T/hostdev/$n" "/dev/$n"
done
umount -l "$T/hostdev"
mount -t tmpfs -o mode=755 hp-run /run
for d in /etc/udev/rules.d /lib/udev/rules.d /run/udev/rules.d; do
  [ -d "$d" ] && mount -t tmpfs -o mode=755 hp-rules "$d"
done
'"$udevd"' >"$T/udevd.log" 2>&1 &
echo $! >"$T/udevd.pid"
for i in $(seq 200); do [ -S /run/udev/control ] && break; sleep 0.05; done
exec "$@"'
start_watch "$setup" -u
assert_grep '^ready udev=udev' "$out" "hp-watch did not pick the udev monitor: $(head -1 "$out")"
note "$(head -1 "$out"), udevd pid $(cat "$T/udevd.pid")"

veth_cycle
zram_cycle
exit 0
