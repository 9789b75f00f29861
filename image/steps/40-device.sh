#!/bin/bash -e
# What makes one card one device: no machine id, SSH host keys or passwords in the image
# (each kiosk makes its own on first boot), the host name, the file systems by label, and the
# sample keryu.env on the boot partition.
set -o pipefail

echo "$HOSTNAME" >"$ROOTFS/etc/hostname"
cat >"$ROOTFS/etc/hosts" <<HOSTS
127.0.0.1	localhost
127.0.1.1	$HOSTNAME
::1		localhost ip6-localhost ip6-loopback
HOSTS

# noatime and a 5 s commit: fewer writes on the card; SQLite's own fsyncs keep alarms safe.
# The FAT partition may hold tokens until first boot imports them: readable by root only.
cat >"$ROOTFS/etc/fstab" <<FSTAB
LABEL=$ROOT_LABEL	/	ext4	rw,noatime,errors=remount-ro,commit=5	0	1
LABEL=$BOOT_LABEL	/boot/firmware	vfat	rw,noatime,umask=0077,flush	0	2
FSTAB

# systemd makes a new machine id on the first boot ("uninitialized" marks the first boot).
echo uninitialized >"$ROOTFS/etc/machine-id"
rm -f "$ROOTFS/var/lib/dbus/machine-id" "$ROOTFS"/etc/ssh/ssh_host_*
# No password for anyone: root is locked; SSH (off by default) takes keys only.
chroot "$ROOTFS" passwd --lock root >/dev/null

# The boot partition's files move out of the root file system (where /boot/firmware stays as
# the empty mount point) into out/bootfs, from which step 50 fills the FAT partition.
rm -rf "$OUT/bootfs"
mv "$ROOTFS/boot/firmware" "$OUT/bootfs"
install -d -m 0755 "$ROOTFS/boot/firmware"
# The sample configuration, every variable commented, on the partition any computer can open.
install -m 0644 "$IMAGE_DIR/files/boot/keryu.env.sample" "$OUT/bootfs/keryu.env.sample"

# Leave no build leftovers: package lists and caches are downloaded again by `apt update`.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
    "$ROOTFS"/var/log/*.log "$ROOTFS"/tmp/* "$ROOTFS"/root/.cache
