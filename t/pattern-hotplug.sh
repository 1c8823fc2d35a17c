#!/bin/bash
# Expansion of the live machine while the test hot-adds and removes real
# devices: a veth pair, a zram disk, a loop device with a partition, a tmpfs
# mount and a process. Each must appear in the expansion, then vanish.
. "$top_srcdir/t/lib.sh"
need_integration
need_root "creates network devices, block devices and mounts"
need_cmd ip losetup mount
kernel_objects

expand=$top_builddir/patmon-expand
tag=pm$$
cat > "$T/p.conf" <<EOF
pattern "test-nics" { class = nic  match = { "NAME==${tag}*" } }
pattern "test-zram" { class = disk  match = { "KERNEL==zram*" }  name = "z-%k" }
pattern "test-loop" { class = disk  match = { "KERNEL==loop*", "ATTR{size}!=0" } }
pattern "test-parts" { class = partition  match = { "KERNEL==loop*p*" } }
pattern "test-mounts" { class = mount  match = { "MOUNT==$T/*" } }
pattern "test-procs" { class = process  match = { "CMDLINE==${tag}-worker*" }  name = "${tag}" }
EOF
list() { "$expand" -p "$T/p.conf" > "$T/list" || fail "expand failed"; }
has() { list; grep -q -- "$1" "$T/list"; }
lacks() { list; ! grep -q -- "$1" "$T/list"; }

# NICs: a veth pair.
ip link add "${tag}a" type veth peer name "${tag}b" || fail "cannot add veth"
at_exit "ip link del ${tag}a"
has "test-nics	nic	${tag}a	${tag}a" || fail "veth ${tag}a missing: $(cat "$T/list")"
has "test-nics	nic	${tag}b	${tag}b" || fail "veth ${tag}b missing"
ip link del "${tag}a"
lacks "${tag}a" || fail "veth still listed after removal"
lacks "${tag}b" || fail "veth peer still listed after removal"

# Disks: a zram device, hot-added and hot-removed.
if [ -w /sys/class/zram-control/hot_add ]; then
  zram_add || fail "zram hot_add"
  n=$zram_n
  has "test-zram	disk	z-zram$n	/dev/zram$n" || fail "zram$n missing: $(cat "$T/list")"
  zram_remove "$n" || fail "cannot remove zram$n"
  lacks "zram$n	" || fail "zram$n still listed after hot_remove"
else
  note "no zram-control here: zram part not run"
fi

# Disks and partitions: a loop device over a file with one real partition.
truncate -s 8M "$T/disk.img"
# A DOS partition table with one Linux partition from sector 2048 to the end.
printf '\x00\x20\x21\x00\x83\x0f\x3f\x01\x00\x08\x00\x00\x00\x38\x00\x00' |
  dd of="$T/disk.img" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$T/disk.img" bs=1 seek=510 conv=notrunc status=none
dev=$(losetup -f --show -P "$T/disk.img") || fail "losetup failed"
at_exit "losetup -d $dev"
k=$(basename "$dev")
# Kernels without the DOS partition parser need the partition added by hand.
[ -e "/sys/class/block/${k}p1" ] || partx -a "$dev" 2> /dev/null
wait_for "$WAIT" test -e "/sys/class/block/${k}p1" || fail "no partition ${k}p1 appeared"
has "test-loop	disk	$k	$dev" || fail "$k missing: $(cat "$T/list")"
has "test-parts	partition	${k}p1	${dev}p1" || fail "${k}p1 missing: $(cat "$T/list")"
losetup -d "$dev"
wait_for "$WAIT" test ! -e "/sys/class/block/${k}p1" || fail "${k}p1 did not go"
lacks "	$k	" || fail "$k still listed after detach"
lacks "${k}p1" || fail "${k}p1 still listed after detach"

# Mounts: a tmpfs under the test directory.
mkdir -p "$T/data"
mount -t tmpfs -o size=1m patmon-test "$T/data" || fail "cannot mount tmpfs"
at_exit "umount $T/data"
inst=$(echo "${T#/}/data" | tr / -)
has "test-mounts	mount	$inst	$T/data" || fail "mount missing: $(cat "$T/list")"
umount "$T/data"
lacks "$T/data" || fail "mount still listed after umount"

# Processes: two workers grouped under one entry, then gone.
bash -c "exec -a ${tag}-worker-1 sleep 60" &
p1=$!
bash -c "exec -a ${tag}-worker-2 sleep 60" &
p2=$!
at_exit "kill $p1 $p2"
wait_for "$WAIT" grep -q "${tag}-worker" "/proc/$p2/cmdline" || fail "workers did not start"
wait_for "$WAIT" grep -q "${tag}-worker" "/proc/$p1/cmdline" || fail "workers did not start"
pids=$(printf '%s\n' "$p1" "$p2" | sort -n | tr '\n' ' ' | sed 's/ $//')
has "test-procs	process	${tag}	$pids" || fail "workers missing: $(cat "$T/list")"
kill "$p1" "$p2"
wait "$p1" "$p2" 2> /dev/null
lacks "test-procs" || fail "workers still listed after exit"
echo "PASS: live expansion follows veth, zram, loop partitions, mounts, processes"
